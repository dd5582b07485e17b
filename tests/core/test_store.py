"""The project file: edits and history, lock, migration, refusal of newer files."""
from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from desktop.core import edits
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord, ReviewStatus
from desktop.core.store import ProjectError, ProjectLockedError, Store


def _project(tmp_path):
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    recs = [ImageRecord(f"im{i}.jpg", 100, 80, labels=(LabelRecord(Box(10, 10, 50, 40), 0),
                                                      LabelRecord(Box(1, 1, 5, 5), 1)))
            for i in range(3)]
    store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "cat"), ClassInfo(1, "dog")], iter(recs)))
    return store


def test_pragmas_wal_and_foreign_keys(tmp_path):
    store = _project(tmp_path)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_edit_undo_restores_exact_rows_and_originals_never_change(tmp_path):
    store = _project(tmp_path)
    before = store.label_rows([1])[0]
    e = edits.set_geometry(before, Box(12, 11, 52, 41))
    store.apply_edit(e)
    assert store.labels(1)[0].box == Box(12, 11, 52, 41)
    assert store.labels(1)[0].origin.value == "edited"
    store.apply_edit(e.inverse())
    assert store.label_rows([1])[0] == before
    assert store.original_labels(1)[0].box == Box(10, 10, 50, 40)
    kinds = [h["kind"] for h in store.history()]
    assert kinds == ["set-geometry", "undo:set-geometry"]
    store.close()


def test_unknown_class_is_kept_not_dropped(tmp_path):
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    rec = ImageRecord("a.jpg", 10, 10, labels=(LabelRecord(Box(0, 0, 5, 5), 7),))
    summary = store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a")], iter([rec])))
    assert summary.labels == 1
    assert any(c.idx == 7 and "unknown class 7" in c.name for c in store.classes())
    store.close()


def _try_open(path, queue):
    try:
        Store.open(path)
        queue.put("opened")
    except ProjectLockedError as exc:
        queue.put(str(exc))


def test_second_process_is_refused_with_pid(tmp_path):
    store = _project(tmp_path)
    q = mp.get_context("spawn").Queue()
    p = mp.get_context("spawn").Process(target=_try_open, args=(tmp_path / "p.boxfix", q))
    p.start()
    p.join(60)
    msg = q.get(timeout=5)
    import os

    assert f"pid {os.getpid()}" in msg
    store.close()
    ro = Store.open(tmp_path / "p.boxfix", readonly=True)
    assert ro.image_count() == 3
    ro.close()


def test_newer_schema_is_refused(tmp_path):
    _project(tmp_path).close()
    con = sqlite3.connect(tmp_path / "p.boxfix")
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match="newer BoxFix"):
        Store.open(tmp_path / "p.boxfix")


def test_old_schema_is_migrated_after_backup(tmp_path):
    _project(tmp_path).close()
    con = sqlite3.connect(tmp_path / "p.boxfix")
    con.execute("ALTER TABLE images DROP COLUMN labelled")
    con.execute("UPDATE meta SET value='0' WHERE key='schema_version'")
    con.commit()
    con.close()
    store = Store.open(tmp_path / "p.boxfix")
    assert store.get_meta("schema_version") == "1"
    assert store.image_labelled_flags() == {1: True, 2: True, 3: True}
    assert (tmp_path / "p.boxfix.v0.bak").exists()
    store.close()


def test_half_made_import_is_refused(tmp_path):
    store = _project(tmp_path)
    store.set_meta("import_state", "in_progress")
    store.close()
    with pytest.raises(ProjectError, match="half-made import"):
        Store.open(tmp_path / "p.boxfix")


def test_dismissed_issue_survives_rescore(tmp_path):
    store = _project(tmp_path)
    store.replace_issues([1], None, [dict(image_id=1, kind="missing", score=0.9, key="missing:k1")])
    issue = store.issues()[0]
    store.apply_edit(edits.set_issue_status(issue.id, 1, "open", "dismissed"))
    store.replace_issues([1], None, [dict(image_id=1, kind="missing", score=0.95, key="missing:k1"),
                                     dict(image_id=1, kind="spurious", score=0.5, key="spurious:k2")])
    open_keys = [i.key for i in store.issues()]
    assert open_keys == ["spurious:k2"]
    assert [i.key for i in store.issues(status="dismissed")] == ["missing:k1"]
    store.close()


def test_status_edit_and_reopen(tmp_path):
    store = _project(tmp_path)
    store.apply_edit(edits.set_status(2, ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED))
    store.close()
    store = Store.open(tmp_path / "p.boxfix")
    assert store.image(2).status == ReviewStatus.REVIEWED
    assert store.status_counts() == {"reviewed": 1, "unreviewed": 2}
    store.close()
