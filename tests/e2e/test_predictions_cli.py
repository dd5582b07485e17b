"""`boxfix predictions import|export` end to end: round trips through the command, exit codes,
clean --json, no tracebacks, and Ultralytics' own save_txt output against `boxfix predict`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.store import Store
from tests.core.test_predictions_io import add_random_run, make_project


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path):
    store = make_project(tmp_path)
    run = add_random_run(store, seed=3)
    store.close()
    return tmp_path / "p.boxfix", run


def _arrays(path, run):
    with Store.open(path, readonly=True) as store:
        a = store.prediction_arrays(run)
    return [a["image_id"], a["cls"], a["conf"], a["boxes"]]


@pytest.mark.parametrize("fmt, suffix", [("boxfix-json", "jsonl"), ("coco-results", "json")])
def test_export_then_import_gives_the_same_boxes(project, tmp_path, capsys, fmt, suffix):
    path, run = project
    out = tmp_path / f"run.{suffix}"
    code, stdout, err = _cli(capsys, "predictions", "export", path, "--run", run, "-o", out, "--format", fmt, "--json")
    assert code == 0, err
    exported = json.loads(stdout)
    assert exported["path"] == str(out) and exported["format"] == fmt
    code, stdout, err = _cli(capsys, "predictions", "import", path, out, "--name", "again", "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    assert rep["format"] == fmt and rep["predictions"] == exported["predictions"] and rep["active"] is True
    before, after = _arrays(path, run), _arrays(path, rep["run_id"])
    keep = before[1] >= 0 if fmt == "coco-results" else np.ones(len(before[1]), bool)  # COCO has no "no class"
    for a, b in zip(before, after):
        np.testing.assert_allclose(np.asarray(a)[keep], b, rtol=0, atol=1e-9)
    with Store.open(path, readonly=True) as store:
        info = store.run_info(rep["run_id"])
        assert info.kind == "imported" and info.name == "again" and info.source == str(out.resolve())
        assert store.active_run() == rep["run_id"]


def test_no_activate_keeps_the_active_run_and_problems_are_listed(project, tmp_path, capsys):
    path, run = project
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"image": "images/train/a.jpg", "boxes": [[1, 1, 500, 5, "cat", 0.5]]}) + "\n"
                 + json.dumps({"image": "nope.jpg", "boxes": []}) + "\n")
    code, out, err = _cli(capsys, "predictions", "import", path, f, "--name", "side", "--no-activate")
    assert code == 0
    assert "imported 1 predictions for 1 images" in out and "now the active run" not in out
    assert f"{f}:1:" in err and "clipped" in err and f"{f}:2:" in err and "not in the project" in err
    with Store.open(path, readonly=True) as store:
        assert store.active_run() == run


def test_class_map_option(project, tmp_path, capsys):
    path, _run = project
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.2 0.2 0.8\n")
    (tmp_path / "map.json").write_text('{"0": "bird", "1": "dog"}')
    code, out, err = _cli(capsys, "predictions", "import", path, tmp_path / "labels", "--name", "m",
                          "--class-map", tmp_path / "map.json", "--format", "yolo-conf", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["class_map"] == {"0": 2, "1": 1} and rep["problems"] == []


@pytest.mark.parametrize("args, message", [
    (["import", "{p}", "{t}/missing.json", "--name", "x"], "missing.json: no such file or folder"),
    (["import", "{t}/nope.boxfix", "{t}/bad.json", "--name", "x"], "no such project file"),
    (["import", "{p}", "{t}/bad.json", "--name", "x"], "not a known predictions format"),
    (["import", "{p}", "{t}/other.jsonl", "--name", "x"], "no prediction matched this project"),
    (["import", "{p}", "{t}/other.jsonl", "--name", "x", "--class-map", "{t}/bad.json"], "class map"),
    (["export", "{p}", "--run", "99", "-o", "{t}/o.json", "--format", "coco-results"], "no prediction run '99'"),
    (["export", "{p}", "--run", "1", "-o", "{t}/no/dir/o.json", "--format", "coco-results"], "does not exist"),
])
def test_user_mistakes_exit_1_with_one_clear_line(project, tmp_path, args, message):
    path, _run = project
    (tmp_path / "bad.json").write_text("hello")
    (tmp_path / "other.jsonl").write_text(json.dumps({"image": "zzz.jpg", "boxes": [[1, 1, 2, 2, 0, 1]]}) + "\n")
    argv = [a.format(p=path, t=tmp_path) for a in args]
    res = subprocess.run([sys.executable, "-m", "desktop", "predictions", *argv], capture_output=True, text=True)
    assert res.returncode == 1, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("boxfix: ")


def test_bad_usage_exits_2(project, tmp_path):
    path, _run = project
    for argv in (["import", str(path), "x.json"], ["export", str(path), "--run", "1", "-o", "x", "--format", "yolo"]):
        res = subprocess.run([sys.executable, "-m", "desktop", "predictions", *argv], capture_output=True, text=True)
        assert res.returncode == 2 and "Traceback" not in res.stderr


@pytest.mark.slow
def test_ultralytics_save_txt_equals_boxfix_predict(tmp_path, capsys):
    """What Ultralytics itself writes with save_txt + save_conf imports to the same boxes
    that `boxfix predict` stores for the same model and parameters."""
    from tests.detect.tiny_model import tiny_model_path, tiny_project

    model = tiny_model_path()
    store = tiny_project(tmp_path, n=4)
    path, root = store.path, store.dataset_root
    store.close()
    params = ["--conf", "0.001", "--iou", "0.7", "--imgsz", "128", "--max-det", "300"]
    code, out, err = _cli(capsys, "predict", path, "--model", model, *params, "--device", "cpu", "--batch", "1",
                          "--json")
    assert code == 0, err
    predicted = json.loads(out)["run_id"]

    from desktop.detect.offline import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    YOLO(str(model)).predict(source=str(root / "images"), conf=0.001, iou=0.7, imgsz=128, max_det=300, device="cpu",
                             save_txt=True, save_conf=True, save=False, project=str(tmp_path / "runs"), name="pred",
                             exist_ok=True, verbose=False)
    code, out, err = _cli(capsys, "predictions", "import", path, tmp_path / "runs" / "pred", "--name", "ultra",
                          "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["format"] == "yolo-conf" and rep["problems"] == []
    a, b = _arrays(path, predicted), _arrays(path, rep["run_id"])
    assert len(a[0]) > 0 and len(a[0]) == len(b[0])

    def order(x):  # same image, then by confidence: the stored order of the two runs may differ
        return np.lexsort((-x[2], x[0]))

    oa, ob = order(a), order(b)
    np.testing.assert_array_equal(a[0][oa], b[0][ob])
    np.testing.assert_array_equal(a[1][oa], b[1][ob])
    np.testing.assert_allclose(a[2][oa], b[2][ob], atol=1e-5)
    np.testing.assert_allclose(a[3][oa], b[3][ob], atol=1e-2)  # px; save_txt keeps 6 significant digits
