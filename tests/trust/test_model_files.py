"""Model files a user may pick: missing, corrupt, the wrong kind. Each gives one clear
sentence naming the file through `boxfix predict` (exit 1, no traceback), and nothing is
written to the project. Models are built from ultralytics' shipped yamls (no download)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.store import Store


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Untrained classification and segmentation checkpoints, saved as a user would have them."""
    from desktop.detect.offline import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    d = tmp_path_factory.mktemp("models")
    out = {}
    for kind, yaml in (("cls", "yolov8n-cls.yaml"), ("seg", "yolov8n-seg.yaml")):
        p = d / f"{kind}.pt"
        YOLO(yaml).save(str(p))
        out[kind] = p
    rng = np.random.default_rng(0)
    out["random"] = d / "random.pt"
    out["random"].write_bytes(rng.integers(0, 256, 300_000, dtype=np.uint8).tobytes())
    out["truncated"] = d / "truncated.pt"
    out["truncated"].write_bytes(out["seg"].read_bytes()[:500_000])
    out["empty"] = d / "empty.pt"
    out["empty"].write_bytes(b"")
    out["text_onnx"] = d / "model.onnx"
    out["text_onnx"].write_text("this is not an onnx file\n")
    out["missing"] = d / "nowhere" / "best.pt"
    out["wrong_suffix"] = d / "weights.txt"
    out["wrong_suffix"].write_text("x")
    import torch

    out["other_pickle"] = d / "dict.pt"
    torch.save({"epoch": 3, "note": "not a model"}, out["other_pickle"])
    return out


@pytest.fixture
def project(tmp_path):
    from tests.detect.tiny_model import tiny_project

    store = tiny_project(tmp_path, n=2)
    path = store.path
    store.close()
    return path


@pytest.mark.parametrize("kind,needle", [
    ("missing", "no such model file"),
    ("empty", "empty"),
    ("wrong_suffix", "not a model format"),
    ("random", "cannot load the model"),
    ("truncated", "cannot load the model"),
    ("text_onnx", ""),
    ("other_pickle", ""),
    ("cls", "classify model, BoxFix needs a detection"),
])
def test_bad_model_files_give_one_sentence_naming_the_file(models, project, capsys, kind, needle):
    path = models[kind]
    capsys.readouterr()
    rc = main(["predict", str(project), "--model", str(path), "--device", "cpu", "--imgsz", "64"])
    cap = capsys.readouterr()
    assert rc == 1, cap
    assert "Traceback" not in cap.err + cap.out
    assert path.name in cap.err
    assert needle in cap.err
    assert len(cap.err.strip().splitlines()) == 1, cap.err
    if kind == "missing":
        assert not path.exists()  # and nothing was downloaded in its place
    with Store.open(project, readonly=True) as store:
        assert store.runs() == []  # a refused model leaves no empty run behind


def test_segmentation_model_is_refused_clearly_or_its_boxes_are_used(models, project, capsys):
    capsys.readouterr()
    rc = main(["predict", str(project), "--model", str(models["seg"]), "--device", "cpu", "--imgsz", "64",
               "--conf", "0.0"])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err + cap.out
    if rc == 1:
        assert "seg.pt" in cap.err and "segment" in cap.err
        return
    assert rc == 0
    with Store.open(project, readonly=True) as store:
        (run,) = store.runs()
        assert run.images_done == 2


def test_segmentation_model_boxes_are_usable(models):
    from desktop.detect.detector import DetectParams, UltralyticsDetector

    det = UltralyticsDetector(models["seg"], DetectParams(imgsz=64, conf=0.0), device="cpu")
    (out,) = det.predict([np.zeros((64, 64, 3), dtype=np.uint8)])
    assert out.boxes.shape[1] == 4


def test_pt_is_never_given_a_path_that_does_not_exist(models, monkeypatch):
    """YOLO('x.pt') for a missing file would try to download it: BoxFix must stop first."""
    from desktop.detect.detector import DetectorError, UltralyticsDetector

    calls = []
    import ultralytics

    monkeypatch.setattr(ultralytics, "YOLO", lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(AssertionError))
    with pytest.raises(DetectorError, match="no such model file"):
        UltralyticsDetector(models["missing"], device="cpu")
    assert calls == []
    assert not os.path.exists(Path.cwd() / "best.pt")
