"""`boxfix predict` and `boxfix runs`, end to end with a real tiny model."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.core.store import Store

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _project_path(make_project, **kw) -> Path:
    store = make_project(**kw)
    path = store.path
    store.close()
    return path


def test_predict_stores_predictions_and_a_second_call_is_a_cache_hit(make_project, tiny_model, capsys):
    project = _project_path(make_project, n=6)
    code, out, err = _cli(capsys, "predict", project, "--model", tiny_model, "--conf", "0.001", "--imgsz", "128",
                          "--device", "cpu", "--batch", "4", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["images"] == 6 and first["cache_hits"] == 0 and first["predicted"] == 6
    assert first["predictions"] > 0 and first["seconds"] > 0 and first["stopped"] is False
    with Store.open(project, readonly=True) as store:
        assert store.run_info(first["run_id"]).predictions == first["predictions"]
        assert store.active_run() == first["run_id"]

    code, out, err = _cli(capsys, "predict", project, "--model", tiny_model, "--conf", "0.001", "--imgsz", "128",
                          "--device", "cpu", "--json")
    second = json.loads(out)
    assert code == 0 and second["run_id"] == first["run_id"]
    assert second["cache_hits"] == 6 and second["predicted"] == 0 and second["predictions"] == first["predictions"]


def test_missing_and_broken_models_are_one_clear_line(make_project, tmp_path, capsys):
    project = _project_path(make_project, n=2)
    code, out, err = _cli(capsys, "predict", project, "--model", tmp_path / "nope.pt")
    assert code == 1 and "nope.pt: no such model file" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x01garbage" * 50)
    code, out, err = _cli(capsys, "predict", project, "--model", broken, "--device", "cpu")
    assert code == 1 and "broken.onnx" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_parameters_are_user_errors(make_project, tiny_model, capsys):
    project = _project_path(make_project, n=1)
    code, _out, err = _cli(capsys, "predict", project, "--model", tiny_model, "--conf", "1.5")
    assert code == 1 and "confidence floor" in err
    code, _out, err = _cli(capsys, "predict", project, "--model", tiny_model, "--map", "box")
    assert code == 1 and "MODEL=PROJECT" in err


def test_runs_lists_runs_and_marks_the_active_one(make_project, tiny_model, capsys):
    project = _project_path(make_project, n=2, class_names=("ball", "cat"))
    for conf in ("0.001", "0.002"):
        code, _o, err = _cli(capsys, "predict", project, "--model", tiny_model, "--conf", conf, "--imgsz", "128",
                             "--device", "cpu", "--json")
        assert code == 0, err
    code, out, _e = _cli(capsys, "runs", project, "--json")
    listing = json.loads(out)
    assert code == 0 and [r["id"] for r in listing["runs"]] == [1, 2] and listing["active"] == 2
    assert [r["active"] for r in listing["runs"]] == [False, True]
    assert listing["runs"][0]["missing_classes"] == ["cat"]
    assert listing["runs"][0]["unmapped_model_classes"] == ["box"]

    code, out, _e = _cli(capsys, "runs", project, "--activate", "1")
    lines = [ln for ln in out.splitlines() if ln[2:5].strip().isdigit()]
    assert code == 0 and lines[0].startswith("*") and not lines[1].startswith("*")
    assert "model lacks: cat" in out
    code, _o, err = _cli(capsys, "runs", project, "--activate", "9")
    assert code == 1 and "no prediction run 9" in err


def test_class_remap_from_the_command_line(make_project, tiny_model, capsys):
    project = _project_path(make_project, n=2, class_names=("ball", "cat"))
    code, out, err = _cli(capsys, "predict", project, "--model", tiny_model, "--conf", "0.001", "--imgsz", "128",
                          "--device", "cpu", "--map", "box=cat", "--json")
    s = json.loads(out)
    assert code == 0 and s["unmapped_model_classes"] == [] and s["missing_project_classes"] == []
    with Store.open(project, readonly=True) as store:
        assert store.run_info(s["run_id"]).class_map == {0: 1, 1: 0}


def _done(project: Path) -> int:
    con = sqlite3.connect(f"file:{project}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM run_images").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def test_ctrl_c_stops_cleanly_and_a_second_call_resumes(make_project, tiny_model, capsys):
    n = 12
    project = _project_path(make_project, n=n)
    # A large inference size and batch 1 make each image slow enough to interrupt mid-run.
    argv = ["predict", str(project), "--model", str(tiny_model), "--conf", "0.001", "--imgsz", "640",
            "--device", "cpu", "--batch", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "desktop", *argv], cwd=REPO, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while _done(project) < 1 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "run the same command again to resume" in err
    stopped_at = _done(project)
    assert 1 <= stopped_at < n

    code, out, err = _cli(capsys, *argv, "--json")
    s = json.loads(out)
    assert code == 0 and s["stopped"] is False
    assert s["cache_hits"] == stopped_at and s["predicted"] == n - stopped_at  # none twice, none missing
    assert _done(project) == n
