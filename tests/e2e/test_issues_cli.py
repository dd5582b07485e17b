"""`boxfix issues` end to end: a real project, a real (tiny) model's predictions, the JSON rows."""
from __future__ import annotations

import json

import pytest

from desktop.cli import main
from desktop.core import edits
from desktop.core.model import Box
from tests.detect.tiny_model import tiny_model_path, tiny_project

KEYS = {"image", "kind", "score", "label_id", "label_box", "pred_id", "pred_box", "class", "suggested_class",
        "confidence", "status"}


@pytest.fixture
def project(tmp_path):
    store = tiny_project(tmp_path, n=6)
    first = store.images()[0]
    row = store.label_rows([store.labels(first.id)[0].id])[0]
    # Plant two model-free mistakes: a duplicate of an existing box, and a zero-width box.
    nid = store.next_label_id()
    b = Box(row["x0"] + 0.5, row["y0"], row["x1"], row["y1"] + 0.5)
    store.apply_edit(edits.add_box(nid, first.id, b, row["cls"]))
    store.apply_edit(edits.add_box(nid + 1, first.id, Box(10, 10, 10, 30), 0))
    path = store.path
    store.close()
    return path, first.path


def test_issues_json_rows_after_a_real_prediction_run(project, capsys):
    path, first_image = project
    assert main(["predict", str(path), "--model", str(tiny_model_path()), "--imgsz", "128", "--conf", "0.01",
                 "--device", "cpu", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 6

    assert main(["issues", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(r) == KEYS for r in rows)
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    kinds = {(r["image"], r["kind"]) for r in rows}
    assert (first_image, "duplicate") in kinds
    assert (first_image, "degenerate") in kinds
    degenerate = next(r for r in rows if r["kind"] == "degenerate")
    assert degenerate["label_box"] == [10.0, 10.0, 10.0, 30.0]

    assert main(["issues", str(path), "--kind", "duplicate", "--json"]) == 0
    only = json.loads(capsys.readouterr().out)
    assert only and {r["kind"] for r in only} == {"duplicate"}

    assert main(["issues", str(path), "--summary", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert sum(s["by_kind"].values()) == len(rows)
    assert 0 < s["share_of_images"] <= 1


def test_issues_bad_kind_is_a_user_error(project, capsys):
    path, _ = project
    assert main(["issues", str(path), "--kind", "bogus"]) == 1
    err = capsys.readouterr().err
    assert "unknown issue kind 'bogus'" in err and "Traceback" not in err
