"""`boxfix import / info / export / relocate` end to end: --json, exit codes, no tracebacks."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from desktop.cli import main
from tests.core.formats.helpers import write, yolo_dataset


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def dataset(tmp_path):
    return yolo_dataset(tmp_path / "ds", images={"train/a.jpg": (64, 48, "0 0.5 0.5 0.25 0.5\n9 0.5 0.5 0.1 0.1\n"),
                                                 "val/b.png": (40, 30, "1 0.5 0.5 1 1\nbad row\n")})


def test_import_info_export_relocate_json(tmp_path, capsys, dataset):
    proj = tmp_path / "p.boxfix"
    code, out, err = _run(capsys, "import", str(dataset), "-o", str(proj), "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert (rep["images"], rep["labels"], rep["format"]) == (2, 3, "yolo")
    msgs = {(p["file"], p["line"]): p["message"] for p in rep["problems"]}
    assert "class 9" in msgs[("labels/train/a.txt", 2)] and "malformed" in msgs[("labels/val/b.txt", 2)]

    code, out, _ = _run(capsys, "info", str(proj), "--json")
    info = json.loads(out)
    assert code == 0 and info["images"] == 2 and info["splits"] == {"train": 1, "val": 1}
    assert [c["name"] for c in info["classes"]] == ["cat", "dog", "unknown class 9"]
    assert info["review"]["unreviewed"] == 2 and info["import_problems"] == 2

    code, out, _ = _run(capsys, "export", str(proj), "--format", "yolo", "-o", str(tmp_path / "y"), "--json")
    res = json.loads(out)
    assert code == 0 and res["images"] == 2 and res["labels"] == 3
    names = (tmp_path / "y" / "data.yaml").read_text()
    assert '9: "unknown class 9"' in names and '5: "class 5"' in names  # gaps filled: nc covers class 9
    code, out, _ = _run(capsys, "export", str(proj), "--format", "coco", "-o", str(tmp_path / "c"), "--json",
                        "--images", "link", "--original", "--reviewed-only")
    assert code == 0 and json.loads(out)["images"] == 0

    moved = tmp_path / "moved"
    shutil.move(str(dataset), str(moved))
    code, out, _ = _run(capsys, "relocate", str(proj), str(moved), "--json")
    assert code == 0 and json.loads(out)["missing"] == 0
    code, out, _ = _run(capsys, "export", str(proj), "--format", "yolo", "-o", str(tmp_path / "y"), "--json")
    assert code == 0 and json.loads(out)["images"] == 2


def test_human_output(tmp_path, capsys, dataset):
    proj = tmp_path / "p.boxfix"
    code, out, _ = _run(capsys, "import", str(dataset), "-o", str(proj))
    assert code == 0 and "images:  2" in out and "labels/val/b.txt:2: malformed row" in out
    code, out, _ = _run(capsys, "info", str(proj))
    assert code == 0 and "unknown class 9" in out and "0.0% done" in out


@pytest.mark.parametrize("argv,needle", [
    (["import", "{tmp}/nope", "-o", "{tmp}/p.boxfix"], "no such file or folder"),
    (["import", "{tmp}/bad", "-o", "{tmp}/p.boxfix", "--format", "yolo"], "not valid YAML at line"),
    (["import", "{tmp}/bad", "-o", "{tmp}/p.txt"], "must end in .boxfix"),
    (["info", "{tmp}/missing.boxfix"], "no such project file"),
    (["info", "{tmp}/bad/data.yaml"], "not a BoxFix project"),
    (["relocate", "{tmp}/made.boxfix", "{tmp}/nowhere"], "no such folder"),
    (["export", "{tmp}/made.boxfix", "--format", "yolo", "-o", "{tmp}/bad"], "not empty"),
])
def test_user_errors_exit_1_with_one_sentence(tmp_path, capsys, dataset, argv, needle):
    write(tmp_path / "bad" / "data.yaml", "train: [oops\n")
    assert main(["import", str(dataset), "-o", str(tmp_path / "made.boxfix"), "--json"]) == 0
    capsys.readouterr()
    code, out, err = _run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 1
    assert needle in err and "Traceback" not in err and err.count("\n") == 1


def test_existing_project_is_refused_unless_overwrite(tmp_path, capsys, dataset):
    proj = tmp_path / "p.boxfix"
    assert _run(capsys, "import", str(dataset), "-o", str(proj))[0] == 0
    code, _, err = _run(capsys, "import", str(dataset), "-o", str(proj))
    assert code == 1 and "already exists" in err
    assert _run(capsys, "import", str(dataset), "-o", str(proj), "--overwrite")[0] == 0


def test_bad_usage_exits_2_through_the_real_command(tmp_path):
    r = subprocess.run([sys.executable, "-m", "desktop", "export", str(tmp_path / "p.boxfix"), "-o", "x"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--format" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "desktop", "import", "--format", "pdf", "x", "-o", "y.boxfix"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice" in r.stderr
