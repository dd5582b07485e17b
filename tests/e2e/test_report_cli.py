"""`boxfix report`: formats from the suffix, --csv and --json, exit codes, no tracebacks."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from desktop.cli import main
from tests.core.test_report import N_EDITS, build_project


@pytest.fixture
def project(tmp_path):
    store = build_project(tmp_path)
    store.close()
    return tmp_path / "p.boxfix"


def _boxfix(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "desktop", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=None)


def test_html_md_json_and_csv(project, tmp_path, capsys):
    assert main(["report", str(project), "-o", str(tmp_path / "r.html"), "--csv", str(tmp_path / "e.csv")]) == 0
    out = capsys.readouterr().out
    assert "4 of 6 images changed (66.7%)" in out and f"{N_EDITS} edits written" in out
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("data:image/jpeg;base64,") == 4
    assert "http://" not in html and "https://" not in html
    assert len(list(csv.DictReader((tmp_path / "e.csv").open(newline="")))) == N_EDITS

    assert main(["report", str(project), "-o", str(tmp_path / "r.md")]) == 0
    assert "**66.7% of images changed** (4 of 6)" in (tmp_path / "r.md").read_text()
    assert main(["report", str(project), "-o", str(tmp_path / "r.JSON")]) == 0
    assert json.loads((tmp_path / "r.JSON").read_text())["boxes"]["deleted"] == 1


def test_json_on_stdout_is_clean(project, capsys):
    capsys.readouterr()
    assert main(["report", str(project), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["images_changed"] == 4 and d["issues"]["found"] == 3 and "changes" not in d


def test_report_while_the_project_is_open_elsewhere(project, tmp_path, capsys):
    from desktop.core.store import Store

    store = Store.open(project)  # holds the lock, as the window would
    try:
        assert main(["report", str(project), "-o", str(tmp_path / "r.md")]) == 0
    finally:
        store.close()


@pytest.mark.parametrize("args, code, message", [
    (["-o", "r.pdf"], 2, "unknown report format"),
    ([], 2, "nothing to write"),
    (["-o", "no/such/folder/r.html"], 1, "does not exist"),
])
def test_user_mistakes_exit_cleanly(project, tmp_path, args, code, message):
    res = _boxfix("report", project, *args, cwd=tmp_path)
    assert res.returncode == code
    assert message in res.stderr and "Traceback" not in res.stderr


def test_bad_project_files(tmp_path):
    res = _boxfix("report", tmp_path / "missing.boxfix", "-o", tmp_path / "r.html")
    assert res.returncode == 1 and "no such project file" in res.stderr and "Traceback" not in res.stderr
    junk = tmp_path / "junk.boxfix"
    junk.write_text("not a database")
    res = _boxfix("report", junk, "-o", tmp_path / "r.html")
    assert res.returncode == 1 and "not a BoxFix project" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r.html").exists()
