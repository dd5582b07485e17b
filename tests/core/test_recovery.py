"""Rescued edits (written to a file when the disk refused them) are applied on the next open."""
from __future__ import annotations

import dataclasses
import json
import time

from desktop.core import edits
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord, ReviewStatus
from desktop.core.paths import data_dir
from desktop.core.recovery import apply_recovery, recovery_files
from desktop.core.store import Store


def test_rescued_edits_apply_once_in_order(tmp_path):
    store = Store.create(tmp_path / "rescue.boxfix", tmp_path)
    store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a"), ClassInfo(1, "b")], iter([
        ImageRecord("a.jpg", 100, 100, labels=(LabelRecord(Box(10, 10, 20, 20), 0),))])))
    row = store.label_rows([1])[0]
    e1 = edits.set_geometry(row, Box(11, 10, 21, 20))
    e2 = edits.set_class([e1.labels[0][1]], 1)
    e3 = edits.set_status(1, ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED)
    # What EditWriter.rescue writes when the store kept refusing:
    f = data_dir() / f"unsaved-edits-rescue-{int(time.time())}.json"
    f.write_text(json.dumps({"project": str(store.path), "error": "the disk is full",
                             "edits": [dataclasses.asdict(e) for e in (e1, e2, e3)]}))
    assert recovery_files(store.path) == [f]
    assert apply_recovery(store, f) == 3
    lab = store.labels(1)[0]
    assert (lab.box, lab.cls) == (Box(11, 10, 21, 20), 1)
    assert store.image(1).status == ReviewStatus.REVIEWED
    assert recovery_files(store.path) == []  # renamed *.applied: never applied twice
    assert [h["kind"] for h in store.history()] == ["set-geometry", "set-class", "set-status"]
    store.close()
