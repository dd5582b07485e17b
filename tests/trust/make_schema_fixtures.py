"""Write the fixture project files in tests/data/schema/, one per schema version BoxFix has
released (plus version 0, the development format the first migration handles).

Run once per NEW schema version, BEFORE changing the tables, with the code that writes that
version; never regenerate an existing fixture with newer code (it would stop being a file
the old BoxFix wrote):

    .venv/bin/python tests/trust/make_schema_fixtures.py 1      # writes schema-v1.boxfix
    .venv/bin/python tests/trust/make_schema_fixtures.py 0      # schema-v0.boxfix from v1's content

Every fixture holds the same CONTENT (below), which tests/trust/test_schema_fixtures.py
checks after opening it with the current code.
"""
from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "data" / "schema"
sys.path.insert(0, str(HERE.parents[1]))

# What every fixture contains (the test checks exactly this).
CLASSES = [(0, "cat", "#e6194b"), (1, "dog", "#3cb44b"), (2, "bird", "#4363d8")]
IMAGES = [("images/train/a.jpg", 640, 480, "train"), ("images/train/b.jpg", 800, 600, "train"),
          ("images/val/c.jpg", 320, 240, "val")]
LABELS = {  # image index -> [(cls, x0, y0, x1, y1)] as imported
    0: [(0, 10.0, 20.0, 110.0, 220.0), (1, 300.5, 40.25, 400.0, 140.0)],
    1: [(2, 0.0, 0.0, 50.0, 50.0)],
    2: [],
}


def write_v1(path: Path) -> None:
    from desktop.core import edits
    from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, IssueStatus, LabelRecord, ReviewStatus, Split
    from desktop.core.store import Store

    store = Store.create(path, "/datasets/pets", name="pets")
    recs = [ImageRecord(p, w, h, Split(s), tuple(LabelRecord(Box(*b), c) for c, *b in LABELS[i]), None, 100 + i, True)
            for i, (p, w, h, s) in enumerate(IMAGES)]
    recs[2] = ImageRecord(*IMAGES[2][:3], Split.VAL, (), None, 102, False)  # an unlabelled image
    store.import_dataset(DatasetRead("/datasets/pets", "yolo", [ClassInfo(i, n, c) for i, n, c in CLASSES],
                                     iter(recs)))
    # Edits: move label 1, re-class label 2, add a box on image 3, mark image 1 reviewed.
    row1 = store.label_rows([1])[0]
    store.apply_edit(edits.set_geometry(row1, Box(12.0, 20.0, 112.0, 220.0)))
    store.apply_edit(edits.set_class(store.label_rows([2]), 0))
    store.apply_edit(edits.add_box(store.next_label_id(), 3, Box(5.0, 6.0, 50.0, 60.0), 2))
    store.apply_edit(edits.set_status(1, ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED))
    run = store.create_run("tiny", model_path="/models/tiny.pt", model_hash="abc123", params={"conf": 0.05},
                           model_classes=["cat", "dog", "bird"], class_map={0: 0, 1: 1, 2: 2})
    store.add_predictions(run, [(1, [[11.0, 21.0, 111.0, 221.0]], [0], [0.9], [0], None),
                                (2, [[1.0, 1.0, 49.0, 49.0], [200.0, 200.0, 260.0, 280.0]], [2, 1], [0.8, 0.3], [2, 1],
                                 None),
                                (3, [], [], [], [], "cannot read image")])
    store.finish_run(run)
    store.replace_issues(None, run, [
        {"image_id": 2, "kind": "missing", "score": 0.3, "key": "k-missing", "pred_id": 3, "suggested_cls": 1},
        {"image_id": 1, "kind": "localization", "score": 0.7, "key": "k-loc", "label_id": 1, "pred_id": 1},
    ])
    dismissed = store.issues(kinds=["missing"])[0]
    store.apply_edit(edits.set_issue_status(dismissed.id, 2, IssueStatus.OPEN, IssueStatus.DISMISSED))
    store.close()


def v1_to_v0(path: Path) -> None:
    """The development format: no images.labelled, no runs.source, schema_version 0."""
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE images DROP COLUMN labelled")
    con.execute("ALTER TABLE runs DROP COLUMN source")
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    con.commit()
    con.close()


def _compact(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("VACUUM")  # small; stays in WAL mode, as every project file BoxFix writes
    con.close()
    Path(str(path) + ".lock").unlink(missing_ok=True)


def main(version: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "f.boxfix"
        write_v1(work)
        if version == 0:
            v1_to_v0(work)
        elif version != 1:
            raise SystemExit(f"no recipe for schema version {version}")
        _compact(work)
        target = OUT / f"schema-v{version}.boxfix"
        target.write_bytes(work.read_bytes())
    print(target)
    return target


if __name__ == "__main__":
    for v in sys.argv[1:] or ["0", "1"]:
        main(int(v))
