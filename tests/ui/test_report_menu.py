"""File > Report…: the save dialog's file is written through core.report, in the format its
suffix (or the chosen filter) names."""
from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QFileDialog

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("name, chosen, check", [
    ("report.html", "HTML report (*.html)", lambda t: t.lstrip().lower().startswith("<!doctype html")),
    ("report.md", "Markdown (*.md)", lambda t: t.lstrip().startswith("#")),
    ("report.json", "JSON (*.json)", lambda t: isinstance(json.loads(t), dict)),
    ("noext", "Markdown (*.md)", lambda t: t.lstrip().startswith("#")),
])
def test_file_report_writes_the_file(open_window, project, tmp_path, monkeypatch, name, chosen, check):
    win = open_window(project)
    out = tmp_path / "out" / name
    out.parent.mkdir()
    asked = []

    def fake_dialog(parent, caption, default, filters):
        asked.append((caption, default, filters))
        return str(out), chosen

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    win.report_action.trigger()  # File > Report…
    written = out if out.suffix else out.with_name(name + ".md")
    assert written.is_file()
    assert check(written.read_text())
    assert asked and asked[0][1].endswith("-report.html") and "*.json" in asked[0][2]
    assert str(written) in win.statusBar().currentMessage()


def test_file_report_cancelled_writes_nothing(open_window, project, tmp_path, monkeypatch):
    win = open_window(project)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: ("", "")))
    before = set(tmp_path.rglob("*"))
    win.report_action.trigger()
    assert not [p for p in set(tmp_path.rglob("*")) - before if "report" in p.name]


def test_file_report_counts_an_edit(open_window, project, tmp_path):
    win = open_window(project)
    s = win.session
    from desktop.ui.session import Selection

    s.goto_image(project.image_ids[3])
    s.select(Selection("label", s.content.labels[1].id))
    s.delete_selected()
    path = win.report_dialog(str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert path == str(tmp_path / "r.json")
    assert data["boxes"]["deleted"] == 1 and data["images_changed"] == 1 and data["edits"] == 1
