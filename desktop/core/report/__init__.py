"""The correction report: how dirty the data was, from the current labels against the
labels as imported. `build_report(store)` computes the figures (diff.py); html.py, markdown.py,
jsonout.py and csv.py turn them into files. `write_report` picks the format from the suffix.

    from desktop.core.report import build_report, write_report
    report = build_report(store)
    write_report(store, "report.html", report)   # .html | .htm | .md | .json
    write_edits_csv(store, "edits.csv")
"""
from __future__ import annotations

import os
from pathlib import Path

from .diff import IDLE_CAP_S, MOVE_TOLERANCE_PX, ClassFigures, ImageChange, Report, active_seconds, build_report

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".json": "json"}

__all__ = ["FORMATS", "IDLE_CAP_S", "MOVE_TOLERANCE_PX", "ClassFigures", "ImageChange", "Report", "active_seconds",
           "build_report", "format_for", "render", "write_edits_csv", "write_report"]


def format_for(path: str | os.PathLike) -> str | None:
    """'html', 'markdown' or 'json' from a file name's suffix; None when unknown."""
    return FORMATS.get(Path(path).suffix.lower())


def render(store, fmt: str, report: Report | None = None) -> str:
    report = report or build_report(store)
    if fmt == "html":
        from .html import render_html

        return render_html(report, store)
    if fmt == "markdown":
        from .markdown import render_markdown

        return render_markdown(report)
    if fmt == "json":
        from .jsonout import render_json

        return render_json(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {sorted(set(FORMATS.values()))}")


def write_report(store, path: str | os.PathLike, report: Report | None = None) -> Report:
    """Write the report in the format the suffix names. Written to a temporary file first and
    renamed, so a failed write never leaves half a report under the final name."""
    path = Path(path)
    fmt = format_for(path)
    if fmt is None:
        raise ValueError(f"{path}: unknown report format; use .html, .md or .json")
    report = report or build_report(store)
    _atomic_write(path, render(store, fmt, report))
    return report


def write_edits_csv(store, path: str | os.PathLike) -> int:
    """Every edit as one CSV row. Returns the number of rows (edits)."""
    from .csv import write_csv

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        n = write_csv(store, fh)
    os.replace(tmp, path)
    return n


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)
