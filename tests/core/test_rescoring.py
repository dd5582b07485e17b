"""rescore(): finder + real SQLite project. Dismissals survive re-scoring with a new run;
an incremental re-score touches only the images it is given."""
import numpy as np

from desktop.core import edits
from desktop.core.model import IssueStatus, Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord
from desktop.core.rescoring import rescore
from desktop.core.store import Store


def _dismiss(store, issue):
    store.apply_edit(edits.set_issue_status(issue.id, issue.image_id, IssueStatus.OPEN, IssueStatus.DISMISSED))


def _project(tmp_path, n=12):
    """n images, each with two labelled objects; image 1 lacks the label of a third object."""
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    recs = []
    for i in range(n):
        labs = [LabelRecord(Box(10, 10, 60, 60), 0), LabelRecord(Box(100, 100, 160, 150), 1)]
        recs.append(ImageRecord(f"im{i}.jpg", 320, 240, labels=tuple(labs)))
    store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a"), ClassInfo(1, "b")], iter(recs)))
    return store


def _add_run(store, jitter=0.0, name="run"):
    run = store.create_run(name, class_map={0: 0, 1: 1}, model_classes=["a", "b"])
    results = []
    for img in store.images():
        boxes = [(10 + jitter, 10, 60 + jitter, 60), (100, 100, 160, 150)]
        cls = [0, 1]
        conf = [0.9, 0.85]
        if img.path == "im1.jpg":
            boxes.append((200 + jitter, 20, 260 + jitter, 80))  # the unlabelled object
            cls.append(0)
            conf.append(0.92)
        results.append((img.id, np.array(boxes, float), cls, conf, cls, None))
    store.add_predictions(run, results)
    store.finish_run(run)
    return run


def test_rescore_finds_the_missing_label_and_dismissal_survives_a_new_run(tmp_path):
    store = _project(tmp_path)
    run1 = _add_run(store)
    summary = rescore(store, run1)
    assert summary["by_kind"].get("missing", 0) >= 1
    top = store.issues(status="open", kinds=["missing"])[0]
    im1 = store.image_by_path("im1.jpg").id
    assert top.image_id == im1 and top.suggested_box is not None
    _dismiss(store, top)
    # a new prediction run: new prediction ids, geometry moved by a fraction of a pixel
    run2 = _add_run(store, jitter=0.3, name="run2")
    rescore(store, run2)
    open_missing = [i for i in store.issues(status="open", kinds=["missing"]) if i.image_id == im1]
    assert open_missing == []
    assert [i.key for i in store.issues(status="dismissed")] == [top.key]
    store.close()


def test_incremental_rescore_touches_only_given_images(tmp_path):
    store = _project(tmp_path)
    run = _add_run(store)
    rescore(store, run)
    before = {i.id: i for i in store.issues(status="open")}
    im1 = store.image_by_path("im1.jpg").id
    im2 = store.image_by_path("im2.jpg").id
    # im2 gains a duplicate label (an edit); only im2 is re-scored
    row = store.label_rows([lab.id for lab in store.labels(im2)])[0]
    store.apply_edit(edits.add_box(store.next_label_id(), im2, Box(row["x0"] + 1, row["y0"], row["x1"], row["y1"]),
                                   row["cls"]))
    summary = rescore(store, run, image_ids=[im2])
    assert summary["images"] == 1
    after = {i.id: i for i in store.issues(status="open")}
    untouched_before = {k: v for k, v in before.items() if v.image_id != im2}
    untouched_after = {k: v for k, v in after.items() if v.image_id != im2}
    assert untouched_before == untouched_after  # same rows, same ids: not rewritten
    assert any(i.image_id == im1 and i.kind.value == "missing" for i in after.values())
    assert any(i.image_id == im2 and i.kind.value == "duplicate" for i in after.values())
    # incremental scores match a full re-score's: the calibration learnt on the whole project
    # is reused (a full re-score relearns it, with the one new label: tiny differences only)
    inc = sorted((i.key, i.score) for i in after.values() if i.image_id == im2)
    rescore(store, run)
    full = sorted((i.key, i.score) for i in store.issues(status="open") if i.image_id == im2)
    assert [k for k, _ in inc] == [k for k, _ in full]
    assert np.allclose([s for _, s in inc], [s for _, s in full], atol=0.01)
    store.close()


def test_rescore_without_a_run_finds_model_free_issues(tmp_path):
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    rec = ImageRecord("a.jpg", 100, 100, labels=(LabelRecord(Box(5, 5, 5, 30), 0),))
    store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a")], iter([rec])))
    summary = rescore(store)
    assert summary["run_id"] is None and summary["by_kind"] == {"degenerate": 1}
    store.close()
