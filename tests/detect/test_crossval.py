"""k-fold out-of-sample predictions with real (tiny) ultralytics training."""
from __future__ import annotations

import pytest

from desktop.detect.crossval import CrossvalCancelled, TrainSettings, assign_folds, crossval, train_final
from desktop.detect.detector import UltralyticsDetector, load_image_bgr
from tests.detect.tiny_model import tiny_project

pytestmark = pytest.mark.slow

TINY = dict(folds=2, epochs=1, imgsz=64, batch=4, device="cpu")


def test_folds_are_stratified_seeded_and_complete(tmp_path):
    store = tiny_project(tmp_path, n=12)
    try:
        a = assign_folds(store, 3, seed=1)
        assert assign_folds(store, 3, seed=1) == a
        assert sorted(a) == [im.id for im in store.images()]
        labels = store.label_arrays()
        for fold in range(3):
            classes = {int(c) for i, c in zip(labels["image_id"], labels["cls"]) if a[int(i)] == fold}
            assert classes == {0, 1}, f"fold {fold} misses a class"
    finally:
        store.close()


def test_every_image_gets_one_out_of_sample_prediction_set(tmp_path):
    store = tiny_project(tmp_path, n=8)
    try:
        events = list(crossval(store, TrainSettings(**TINY)))
        run_id = events[-1].extra["run_id"]
        run = store.run_info(run_id)
        assert run.kind == "crossval"
        assert store.active_run() == run_id
        assert store.done_image_ids(run_id) == {im.id for im in store.images()}
        # Each fold was trained without its held-out images: the training views say so.
        from desktop.detect.crossval import stored_folds, work_area

        folds = stored_folds(store, 2, 0)
        area = work_area(store) / f"crossval-{run_id}"
        for fold in range(2):
            trained = {int(p.stem) for p in (area / f"data-fold{fold}" / "images" / "train").iterdir()}
            held = {i for i, f in folds.items() if f == fold}
            assert trained.isdisjoint(held) and trained | held == set(folds)
        # Running again is a no-op: every fold is finished.
        again = list(crossval(store, TrainSettings(**TINY)))
        assert [e.stage for e in again] == ["done"]
    finally:
        store.close()


def test_cancel_then_resume_finishes_every_image_once(tmp_path):
    store = tiny_project(tmp_path, n=8)
    try:
        calls = {"n": 0}

        def stop_in_second_fold():
            calls["n"] += 1
            return store.get_meta("crossval_folds") is not None and len(store.runs()) and \
                len(store.done_image_ids(store.runs()[-1].id)) > 0

        with pytest.raises(CrossvalCancelled):
            for _ in crossval(store, TrainSettings(**TINY), should_stop=stop_in_second_fold):
                pass
        run_id = store.runs()[-1].id
        partial = store.done_image_ids(run_id)
        assert 0 < len(partial) < 8
        before = {i: len(store.predictions(run_id, i)) for i in partial}
        list(crossval(store, TrainSettings(**TINY)))
        assert store.done_image_ids(run_id) == {im.id for im in store.images()}
        # The finished fold was not predicted again (same predictions, not doubled).
        assert {i: len(store.predictions(run_id, i)) for i in partial} == before
    finally:
        store.close()


def test_final_model_loads_and_predicts(tmp_path):
    store = tiny_project(tmp_path, n=8)
    try:
        out = tmp_path / "final.pt"
        events = list(train_final(store, TrainSettings(**TINY), out=out))
        assert out.is_file() and events[-1].extra["images_train"] + events[-1].extra["images_val"] == 8
        det = UltralyticsDetector(out, device="cpu")
        assert det.model_classes == ["box", "ball"]
        image = load_image_bgr(store.image_path(store.images()[0]))
        assert len(det.predict([image])) == 1
    finally:
        store.close()
