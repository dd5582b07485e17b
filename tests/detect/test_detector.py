"""The detector and the detection job with a real (tiny) Ultralytics model."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.core.store import Store
from desktop.detect.classmap import build_class_map, missing_project_classes
from desktop.core.model import ClassInfo
from desktop.detect.detector import (
    DetectParams,
    DetectorError,
    ImageReadError,
    UltralyticsDetector,
    load_image_bgr,
    resolve_device,
)
from desktop.detect.jobs import prepare_request, run_detection

pytestmark = pytest.mark.slow

# The tiny model is weak: its boxes only clear a very low floor.
LOW = DetectParams(conf=0.001, imgsz=128, batch=3)


class CountingDetector:
    """Wraps the real detector and records how many images each call saw."""

    def __init__(self, request):
        self.inner = UltralyticsDetector(request.model_path, request.params, device=request.device)
        self.model_classes = self.inner.model_classes
        self.seen = 0

    def predict(self, images):
        self.seen += len(images)
        return self.inner.predict(images)


def _drain(store, request, **kw):
    return list(run_detection(store, request, **kw))


def test_predictions_reach_the_project_file(make_project, tiny_model):
    store = make_project()
    req = prepare_request(store, tiny_model, LOW)
    events = _drain(store, req)
    assert events[0].state == "loading" and events[-1].state == "finished"
    assert sum(len(e.results) for e in events) == 8
    path = store.path
    store.close()
    with Store.open(path) as again:
        info = again.run_info(req.run_id)
        assert info.images_done == 8 and info.predictions > 0 and info.finished is not None
        assert again.active_run() == req.run_id
        preds = again.predictions(req.run_id, req.image_ids[0])
        assert preds and all(0 <= p.box.x0 <= p.box.x1 <= 128 for p in preds)
        assert {p.model_cls for p in preds} <= {0, 1}


def test_second_identical_run_is_a_pure_cache_hit(make_project, tiny_model):
    store = make_project()
    req = prepare_request(store, tiny_model, LOW)
    _drain(store, req)
    before = store.prediction_arrays(req.run_id)["id"]

    def no_model(_request):
        raise AssertionError("a full cache hit must not load the model")

    again = prepare_request(store, tiny_model, DetectParams(conf=0.001, imgsz=128, batch=5))  # batch: speed only
    assert again.run_id == req.run_id
    events = _drain(store, again, detector_factory=no_model)
    assert [e.state for e in events] == ["finished"]
    assert events[-1].cache_hits == 8 and events[-1].progress.done == 8
    assert np.array_equal(store.prediction_arrays(req.run_id)["id"], before)
    assert len(store.runs()) == 1


def test_other_parameters_make_a_new_run(make_project, tiny_model):
    store = make_project()
    a = prepare_request(store, tiny_model, LOW)
    b = prepare_request(store, tiny_model, DetectParams(conf=0.002, imgsz=128))
    assert a.run_id != b.run_id and store.active_run() == b.run_id


def test_cancel_then_resume_does_every_image_once(make_project, tiny_model):
    store = make_project(n=10)
    req = prepare_request(store, tiny_model, LOW)
    counters = []

    def factory(r):
        counters.append(CountingDetector(r))
        return counters[-1]

    batches = []

    def stop_after_two():
        return len(batches) >= 2

    for ev in run_detection(store, req, should_stop=stop_after_two, detector_factory=factory):
        if ev.results:
            batches.append([r.image_id for r in ev.results])
    assert ev.state == "cancelled"
    first = [i for b in batches for i in b]
    assert len(first) == 6 and store.done_image_ids(req.run_id) == set(first)
    kept = store.prediction_arrays(req.run_id, first)["id"]

    resumed = prepare_request(store, tiny_model, LOW)
    assert resumed.run_id == req.run_id
    events = _drain(store, resumed, detector_factory=factory)
    second = [r.image_id for e in events for r in e.results]
    assert events[-1].state == "finished" and events[-1].cache_hits == 6
    assert sorted(first + second) == sorted(req.image_ids)  # none twice, none missing
    assert counters[0].seen == 6 and counters[1].seen == 4
    assert np.array_equal(store.prediction_arrays(req.run_id, first)["id"], kept)  # first part untouched


def test_corrupt_image_is_reported_and_the_run_goes_on(make_project, tiny_model):
    store = make_project()
    bad = store.images()[2]
    store.image_path(bad).write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    missing = store.images()[5]
    store.image_path(missing).unlink()
    req = prepare_request(store, tiny_model, LOW)
    events = _drain(store, req)
    results = {r.image_id: r for e in events for r in e.results}
    assert events[-1].state == "finished" and len(results) == 8
    assert results[bad.id].error and "cannot read image" in results[bad.id].error
    assert results[missing.id].error and "not found" in results[missing.id].error
    assert all(r.error is None and r.n_predictions > 0 for i, r in results.items() if i not in (bad.id, missing.id))
    assert set(store.run_errors(req.run_id)) == {bad.id, missing.id}
    assert store.image(bad.id).error == results[bad.id].error
    assert store.done_image_ids(req.run_id) == set(req.image_ids)


def test_missing_model_is_one_clear_error_and_no_download(make_project, tmp_path, monkeypatch):
    store = make_project()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DetectorError, match=r"yolov8n\.pt: no such model file"):
        prepare_request(store, "yolov8n.pt")  # a name ultralytics would otherwise download
    assert not (tmp_path / "yolov8n.pt").exists()
    assert store.runs() == []


@pytest.mark.parametrize("content", [b"", b"garbage, not a checkpoint" * 10])
def test_broken_model_is_one_clear_error(make_project, tmp_path, content):
    store = make_project()
    broken = tmp_path / "broken.pt"
    broken.write_bytes(content)
    with pytest.raises(DetectorError) as err:
        prepare_request(store, broken)
    msg = str(err.value)
    assert str(broken) in msg and "\n" not in msg and ("empty" in msg or "cannot load" in msg)
    assert store.runs() == []


def test_unknown_format_is_refused(tmp_path):
    weird = tmp_path / "model.bin"
    weird.write_bytes(b"x" * 10)
    with pytest.raises(DetectorError, match="not a model format"):
        UltralyticsDetector(weird, device="cpu")


def test_model_classes_differing_from_the_project_are_mapped(make_project, tiny_model):
    # Project knows 'ball' (as index 0) and 'cat'; the model knows 'box' and 'ball'.
    store = make_project(class_names=("Ball", "cat"))
    req = prepare_request(store, tiny_model, LOW)
    assert req.class_map == {0: None, 1: 0}  # 'box' unknown, 'ball' -> project 0 (case ignored)
    info = store.run_info(req.run_id)
    assert info.model_classes == ["box", "ball"] and info.missing_classes == {1}  # no 'cat' in the model
    _drain(store, req)
    arr = store.prediction_arrays(req.run_id)
    preds = [p for i in req.image_ids for p in store.predictions(req.run_id, i)]
    unknown = [p for p in preds if p.model_cls == 0]
    assert unknown and all(p.cls is None for p in unknown)  # kept, shown as unknown
    assert all(p.cls == 0 for p in preds if p.model_cls == 1)
    assert set(arr["cls"]) <= {-1, 0}

    # The user remaps 'box' onto 'cat': a new run, nothing missing any more.
    remapped = prepare_request(store, tiny_model, LOW, class_map_override={"box": "cat"})
    assert remapped.run_id != req.run_id and remapped.class_map == {0: 1, 1: 0}
    assert store.run_info(remapped.run_id).missing_classes == set()


def test_class_map_rules():
    project = [ClassInfo(0, "traffic light"), ClassInfo(1, "car"), ClassInfo(4, "dog")]
    cmap = build_class_map(["Traffic_Light", "truck", "car"], project)
    assert cmap == {0: 0, 1: None, 2: 1}
    assert missing_project_classes(cmap, project) == [4]
    assert build_class_map(["Traffic_Light", "truck", "car"], project, {1: 4, "car": None}) == {0: 0, 1: 4, 2: None}
    with pytest.raises(ValueError, match="no project class named 'horse'"):
        build_class_map(["truck"], project, {"truck": "horse"})


def test_images_are_read_in_the_exif_frame_as_bgr(tmp_path):
    rgb = np.zeros((20, 40, 3), dtype=np.uint8)
    rgb[:, :, 0] = 255  # red
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    im.save(tmp_path / "rot.jpg", exif=exif)
    bgr = load_image_bgr(tmp_path / "rot.jpg")
    assert bgr.shape == (40, 20, 3) and bgr.dtype == np.uint8
    assert bgr[..., 2].mean() > 200 and bgr[..., 0].mean() < 50  # red lands in channel 2 (BGR)

    Image.fromarray(np.full((8, 9), 77, np.uint8), "L").save(tmp_path / "g.png")
    assert load_image_bgr(tmp_path / "g.png").shape == (8, 9, 3)
    Image.fromarray(np.full((8, 9, 4), 200, np.uint8), "RGBA").save(tmp_path / "a.png")
    assert load_image_bgr(tmp_path / "a.png").shape == (8, 9, 3)
    deep = np.zeros((8, 9), np.uint16)
    deep[0, 0] = 4000
    Image.fromarray(deep).save(tmp_path / "d.png")
    out = load_image_bgr(tmp_path / "d.png")
    assert out.shape == (8, 9, 3) and out[0, 0, 0] == 255 and out[1, 1, 0] == 0
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(ImageReadError, match="bad.jpg"):
        load_image_bgr(tmp_path / "bad.jpg")


def test_device_choice():
    import torch

    expected = "cuda:0" if torch.cuda.is_available() else None
    assert resolve_device("auto") in ({expected} if expected else {"cpu", "mps"})
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(DetectorError, match="no CUDA GPU"):
            resolve_device("cuda:0")
    with pytest.raises(DetectorError, match="unknown device"):
        resolve_device("tpu")


def test_detect_modules_import_neither_torch_nor_widgets():
    code = ("import sys, desktop.detect.detector, desktop.detect.jobs, desktop.detect.classmap, "
            "desktop.detect.runner; bad = [m for m in ('torch', 'ultralytics', 'PySide6.QtWidgets', "
            "'PySide6.QtGui') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_image_queue_priority_and_requeue():
    from desktop.detect.jobs import ImageQueue

    q = ImageQueue([1, 2, 3, 4, 5, 6])
    q.prioritize([5, 3])
    v = q.version
    assert q.take(2) == [5, 3]
    q.prioritize([3, 6])  # the user moved while 5 and 3 were being decoded ahead
    assert q.version != v
    q.requeue([5, 3])
    assert q.snapshot() == [3, 6, 5, 1, 2, 4]
    q.discard([6, 1])
    assert q.take(10) == [3, 5, 2, 4] and len(q) == 0
