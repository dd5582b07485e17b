"""An exported ONNX model runs through `boxfix predict` like a .pt (onnxruntime, offline)."""
from __future__ import annotations

import json
import shutil

import pytest

from desktop.cli import main
from tests.detect.tiny_model import tiny_model_path, tiny_project

pytestmark = pytest.mark.slow


def test_onnx_model_predicts_into_the_project(tmp_path, capsys):
    pytest.importorskip("onnx")
    from desktop.detect.offline import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    pt = tmp_path / "tiny.pt"
    shutil.copyfile(tiny_model_path(), pt)
    onnx_path = YOLO(str(pt)).export(format="onnx", imgsz=128, simplify=False)
    store = tiny_project(tmp_path, n=4)
    project = store.path
    store.close()
    capsys.readouterr()
    assert main(["predict", str(project), "--model", str(onnx_path), "--imgsz", "128", "--conf", "0.001",
                 "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 4 and out["predictions"] > 0 and out["model_classes"] == ["box", "ball"]
