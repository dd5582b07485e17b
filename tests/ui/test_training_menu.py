"""Model > Cross-validate… from the window: a tiny real crossval (2 folds, 1 epoch, 64 px) runs
in a worker thread, the training dock shows its curves, and its run becomes the active run."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from tests.ui._window_helpers import open_project_window, wait_idle

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def _tiny_settings(monkeypatch, **values):
    from desktop.ui.panels import training_panel

    monkeypatch.setattr(training_panel.TrainDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    orig = training_panel.TrainDialog.values

    def chosen(self):
        assert self.epochs.value() >= 1 and self.model.text()  # the defaults were shown
        v = orig(self)
        v.update(values)
        return v

    monkeypatch.setattr(training_panel.TrainDialog, "values", chosen)


def test_crossval_from_the_menu_becomes_the_active_run(tmp_path, qtbot, user_config, monkeypatch):
    tiny = pytest.importorskip("tests.detect.tiny_model")
    from desktop.core.store import Store

    store = tiny.tiny_project(tmp_path, n=6)
    path = store.path
    store.close()
    win = open_project_window(qtbot, path, tmp_path / "s.ini")
    _tiny_settings(monkeypatch, folds=2, epochs=1, imgsz=64)
    tc = win.training
    win.crossval_action.trigger()  # Model > Cross-validate…
    assert tc.running() and win.docks["training"].isVisible()
    qtbot.waitUntil(lambda: tc.state != "running", timeout=900_000)
    assert tc.state == "finished", tc.panel.stage.text()
    run_id = tc.result.extra["run_id"]
    assert win.session.run_id == run_id
    wait_idle(qtbot, win.session)
    assert len(tc.panel.loss) >= 1  # one point per epoch and fold on the loss curve
    assert "active run" in tc.panel.stage.text()
    with Store.open(path, readonly=True) as st:
        assert st.active_run() == run_id
        run = st.run_info(run_id)
        assert run.kind == "crossval" and run.images_done == 6
        assert [it.id for it in win.session.queue] == [it.id for it in st.issues(status="open")]
    win.close()


def test_cancel_stops_the_training(tmp_path, qtbot, user_config, monkeypatch):
    tiny = pytest.importorskip("tests.detect.tiny_model")
    store = tiny.tiny_project(tmp_path, n=6)
    path = store.path
    store.close()
    win = open_project_window(qtbot, path, tmp_path / "s.ini")
    before = win.session.run_id
    tc = win.training
    assert tc.start_crossval(folds=2, epochs=3, imgsz=64)
    tc.cancel()  # before the first batch: the should_stop poll ends it
    qtbot.waitUntil(lambda: tc.state != "running", timeout=900_000)
    assert tc.state == "cancelled"
    assert "cancelled" in tc.panel.stage.text()
    assert win.session.run_id == before
    win.close()
