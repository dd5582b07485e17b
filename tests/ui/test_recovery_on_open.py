"""The window applies rescued edits (written to a file when the disk refused them) on open."""
from __future__ import annotations

import dataclasses
import json
import time

from desktop.core import edits
from desktop.core.model import Box
from desktop.core.paths import data_dir


def test_window_applies_rescued_edits_on_open(project, open_window, qtbot):
    with project.read() as ro:
        row = ro.label_rows([ro.labels(project.image_ids[0])[0].id])[0]
    moved = edits.set_geometry(row, Box(row["x0"] + 7, row["y0"], row["x1"] + 7, row["y1"]))
    f = data_dir() / f"unsaved-edits-{project.path.stem}-{int(time.time())}.json"
    f.write_text(json.dumps({"project": str(project.path), "error": "the disk is full",
                             "edits": [dataclasses.asdict(moved)]}))
    win = open_window(project)  # quiet dialogs: applies without asking, once the window is up
    qtbot.waitUntil(lambda: not f.exists(), timeout=10_000)
    with project.read() as ro:
        assert ro.label_rows([row["id"]])[0]["x0"] == row["x0"] + 7
    assert not f.exists() and f.with_suffix(".json.applied").exists()
    win.close()
