"""Model > Cross-validate… and Model > Train final model…: run detect.crossval's generators in
a worker thread, show their progress in the training dock, cancel between batches.

crossval() / train_final() come through Services (the UI may not import the detector's
training code: it reaches SQL). Each yields TrainProgress; the worker forwards every one
to the GUI thread through a queued signal. Cancel sets a flag the generator polls
(should_stop, checked by ultralytics' batch callback). When a cross-validation run
finishes it becomes the active run and the issues are re-scored with it (in the worker).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from desktop.ui.panels.training_panel import TrainDialog, TrainingPanel


class _TrainThread(QThread):
    progress = Signal(object)  # TrainProgress
    succeeded = Signal(object)  # the last TrainProgress (stage 'done')
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, make_iter, cancel_types: tuple, parent=None):
        super().__init__(parent)
        self.setObjectName("boxfix-train")
        self._make_iter = make_iter
        self._cancel_types = cancel_types
        self.stop_flag = threading.Event()

    def run(self):  # the worker thread
        last = None
        try:
            for p in self._make_iter(self.stop_flag.is_set):
                last = p
                self.progress.emit(p)
        except self._cancel_types:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - report every failure as a sentence
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.failed.emit(first)
            return
        if self.stop_flag.is_set() and (last is None or last.stage != "done"):
            self.cancelled.emit()
        else:
            self.succeeded.emit(last)


class TrainingController(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.panel = TrainingPanel()
        self.panel.setObjectName("trainingPanel")
        self.dock = window._dock("Training", self.panel, Qt.DockWidgetArea.BottomDockWidgetArea, "dockTraining")
        window.docks["training"] = self.dock
        self.dock.hide()
        self.panel.cancel_requested.connect(self.cancel)
        self.thread: _TrainThread | None = None
        self.kind = ""
        self.result = None  # the last finished job's final TrainProgress
        self.state = "idle"  # idle | running | finished | cancelled | failed

    # ------------------------------------------------------------------ menus
    def _ready(self, fn) -> bool:
        w = self.window
        if w.session is None:
            QMessageBox.information(w, "BoxFix", "Open a project first.")
            return False
        if fn is None or w.services.train_settings is None:
            QMessageBox.information(w, "BoxFix", "Training is not available in this build.")
            return False
        if self.running():
            QMessageBox.information(w, "BoxFix", "A training job is already running (see the Training dock).")
            return False
        return True

    def crossval_dialog(self) -> None:
        sv = self.window.services
        if not self._ready(sv.crossval):
            return
        dlg = TrainDialog(sv.train_settings(), crossval=True, parent=self.window)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.start_crossval(**dlg.values())

    def train_final_dialog(self) -> None:
        sv = self.window.services
        if not self._ready(sv.train_final):
            return
        dlg = TrainDialog(sv.train_settings(), crossval=False, parent=self.window)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        values = dlg.values()
        values.pop("folds", None)
        store_path = Path(str(self.window.session.store.path))
        out, _ = QFileDialog.getSaveFileName(self.window, "Save the trained model as (Cancel: keep it in the "
                                             "project's work area)", str(store_path.with_suffix("")) + "-final.pt",
                                             "PyTorch model (*.pt)")
        self.start_final(out=out or None, **values)

    # ------------------------------------------------------------------ jobs
    def running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def start_crossval(self, **settings) -> bool:
        sv, s = self.window.services, self.window.session
        if s is None or sv.crossval is None or self.running():
            return False
        st = replace(sv.train_settings(), **settings)
        fn, store = sv.crossval, s.store
        return self._start("crossval", f"Cross-validation ({st.folds} folds)",
                           lambda stop: fn(store, st, should_stop=stop))

    def start_final(self, out=None, **settings) -> bool:
        sv, s = self.window.services, self.window.session
        if s is None or sv.train_final is None or self.running():
            return False
        st = replace(sv.train_settings(), **settings)
        fn, store = sv.train_final, s.store
        return self._start("final", "Final model", lambda stop: fn(store, st, out=out, should_stop=stop))

    def _start(self, kind: str, title: str, make_iter) -> bool:
        self.kind, self.result, self.state = kind, None, "running"
        self.panel.reset(title)
        self.panel.stage.setText(f"{title}: preparing the training data…")
        self.panel.running(True)
        self.dock.show()
        self.dock.raise_()
        t = _TrainThread(make_iter, tuple(self.window.services.train_cancelled), parent=self)
        t.progress.connect(self.panel.show_progress)
        t.succeeded.connect(self._succeeded)
        t.failed.connect(self._failed)
        t.cancelled.connect(self._cancelled)
        self.thread = t
        t.start()
        self.window.statusBar().showMessage(f"{title} started", 5000)
        return True

    def cancel(self) -> None:
        if self.running():
            self.thread.stop_flag.set()
            self.panel.stage.setText(self.panel.stage.text() + " — cancelling after this batch…")
            self.panel.running(False)

    def stop(self, wait: bool = False) -> None:
        """Closing the project: cancel, and wait so no thread writes to a closed store."""
        if self.thread is not None:
            self.thread.stop_flag.set()
            if wait:
                self.thread.wait()

    def _succeeded(self, last) -> None:
        self.result, self.state = last, "finished"
        extra = getattr(last, "extra", {}) or {}
        s = self.window.session
        if self.kind == "crossval" and s is not None and extra.get("run_id") is not None:
            s.set_run(int(extra["run_id"]), rescore=True)  # the out-of-sample run drives the queue now
            self.window.request = None
            self.panel.finish(f"{self.panel.title}: done — run {extra['run_id']} is now the active run; "
                              "issues re-scored with its out-of-sample predictions")
        elif self.kind == "final":
            m = extra.get("mAP50")
            self.panel.finish(f"{self.panel.title}: saved {extra.get('weights', '?')}"
                              + (f" (validation mAP50 {m:.3f})" if isinstance(m, (int, float)) else ""))
        else:
            self.panel.finish(f"{self.panel.title}: done")
        self.window.statusBar().showMessage(self.panel.stage.text(), 10000)

    def _failed(self, message: str) -> None:
        self.state = "failed"
        self.panel.finish(f"{self.panel.title} failed: {message}")
        if not self.window.property("quiet_dialogs"):
            QMessageBox.critical(self.window, "BoxFix", f"{self.panel.title} failed: {message}")

    def _cancelled(self) -> None:
        self.state = "cancelled"
        self.panel.finish(f"{self.panel.title}: cancelled (run it again to resume from the last finished fold)")
