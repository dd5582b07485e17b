"""Edits that could not be written (read-only or full disk) and were rescued to a file when
the window closed (desktop/ui/undo.py EditWriter.rescue). They are applied to the project
the next time it opens, in order, each in its own transaction, and the file is renamed
`*.applied` so it is never applied twice.

File: data_dir()/unsaved-edits-<project stem>-<unix time>.json =
{"project": path, "error": why they were not written, "edits": [Edit as a dict, ...]}.
"""
from __future__ import annotations

import json
from pathlib import Path

from .edits import Edit
from .paths import data_dir


def recovery_files(project_path: str | Path) -> list[Path]:
    """Unapplied recovery files for this project, oldest first."""
    project = str(Path(project_path).resolve())
    out = []
    for f in sorted(data_dir().glob(f"unsaved-edits-{Path(project_path).stem}-*.json")):
        try:
            if str(Path(json.loads(f.read_text())["project"]).resolve()) == project:
                out.append(f)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or unreadable: leave it for a human
    return out


def edit_from_dict(d: dict) -> Edit:
    return Edit(
        kind=d["kind"],
        image_id=d.get("image_id"),
        labels=tuple((b, a) for b, a in d.get("labels", ())),
        classes=tuple((b, a) for b, a in d.get("classes", ())),
        statuses=tuple((int(i), b, a) for i, b, a in d.get("statuses", ())),
        issues=tuple((int(i), b, a) for i, b, a in d.get("issues", ())),
        merge_key=d.get("merge_key", ""),
    )


def load_edits(path: str | Path) -> list[Edit]:
    return [edit_from_dict(e) for e in json.loads(Path(path).read_text())["edits"]]


def apply_recovery(store, path: str | Path) -> int:
    """Apply a recovery file's edits to `store`; returns how many. An edit whose issue no
    longer exists still applies its label changes (issue updates on missing rows are no-ops)."""
    path = Path(path)
    edits = load_edits(path)
    for edit in edits:
        store.apply_edit(edit)
    path.rename(path.with_suffix(".json.applied"))
    return len(edits)
