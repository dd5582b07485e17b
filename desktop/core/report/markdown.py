"""The correction report in a few lines of Markdown, short enough for a pull request or a
data card: the headline shares, the biggest classes, issues, coverage and time."""
from __future__ import annotations

from . import fmt
from .diff import CHANGE_KINDS, Report

MAX_CLASS_ROWS = 8  # the classes with the most changes; the HTML report has them all


def render_markdown(report: Report) -> str:
    iss, rv = report.issues, report.review
    lines = [
        f"### Label corrections: {report.project}",
        "",
        f"**{fmt.pct(report.share_changed)} of images changed** ({report.images_changed} of {report.images}); "
        f"{report.labels_original} boxes imported, {report.labels_current} now.",
        "",
        "| change | images | share | boxes |",
        "|---|---:|---:|---:|",
    ]
    for kind in CHANGE_KINDS:
        lines.append(f"| {fmt.KIND_TITLES[kind]} | {report.images_with[kind]} | {fmt.pct(report.shares[kind])} "
                     f"| {report.boxes[kind]} |")
    changed = [c for c in report.per_class
               if c.added or c.deleted or c.moved or c.relabelled_from or c.relabelled_to]
    changed.sort(key=lambda c: -(c.added + c.deleted + c.moved + c.relabelled_from + c.relabelled_to))
    if changed:
        lines += ["", "| class | imported | now | added | deleted | moved | relabelled away | relabelled to |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for c in changed[:MAX_CLASS_ROWS]:
            lines.append(f"| {_cell(c.name)} | {c.original} | {c.current} | {c.added} | {c.deleted} | {c.moved} "
                         f"| {c.relabelled_from} | {c.relabelled_to} |")
        if len(changed) > MAX_CLASS_ROWS:
            lines.append(f"| ({len(changed) - MAX_CLASS_ROWS} more classes) | | | | | | | |")
    lines += [
        "",
        f"- Issues: {iss['found']} found, {iss['fixed']} fixed, {iss['dismissed']} dismissed, {iss['open']} open.",
        f"- Review coverage: {fmt.pct(report.review_coverage)} ({rv.get('reviewed', 0)} of {report.images} images "
        f"reviewed, {rv.get('skipped', 0)} skipped).",
        f"- Time spent: {fmt.duration(report.active_seconds)} over {report.edits} edits "
        f"(gaps capped at {fmt.duration(report.idle_cap_seconds)}).",
        "",
        "_Made with BoxFix; figures compare current labels with the labels as imported._",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
