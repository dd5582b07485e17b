"""Training widgets: the settings dialog (Model > Cross-validate… / Train final model…) and
the progress dock with loss and mAP curves (pyqtgraph).

Plain widgets fed with TrainProgress-like objects (stage, fold, folds, epoch, epochs, loss,
map50, map50_95, eta_s): no store, no training code here.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
    QSpinBox, QVBoxLayout, QWidget,
)


class TrainDialog(QDialog):
    """Folds (crossval only), epochs, image size, model (a yaml to train from scratch, or a .pt
    to fine-tune), device. Defaults come from TrainSettings."""

    def __init__(self, defaults, crossval: bool, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Cross-validate" if crossval else "Train final model")
        self.defaults = defaults
        form = QFormLayout(self)
        intro = QLabel("Train K models, each on K−1 folds, and predict every image with the model that never saw "
                       "it (out-of-sample predictions)." if crossval else
                       "Train one model on all current (corrected) labels.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.folds = self._spin(2, 20, 1, defaults.folds)
        if crossval:
            form.addRow("Folds", self.folds)
        self.epochs = self._spin(1, 1000, 1, defaults.epochs)
        form.addRow("Epochs", self.epochs)
        self.imgsz = self._spin(32, 2048, 32, defaults.imgsz)
        form.addRow("Image size", self.imgsz)
        row = QHBoxLayout()
        self.model = QLineEdit(defaults.model)
        self.model.setToolTip("A model yaml (e.g. yolov8n.yaml, from scratch) or a .pt file to fine-tune.\n"
                              ".pt files are pickles: use only models you trust.")
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse)
        row.addWidget(self.model)
        row.addWidget(browse)
        form.addRow("Model", row)
        self.device = QLineEdit(defaults.device)
        form.addRow("Device", self.device)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _spin(lo: int, hi: int, step: int, value: int) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setSingleStep(step)
        s.setValue(int(value))
        return s

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model", "", "Models (*.pt *.yaml *.yml)")
        if path:
            self.model.setText(path)

    def values(self) -> dict:
        return {"folds": self.folds.value(), "epochs": self.epochs.value(), "imgsz": self.imgsz.value(),
                "model": self.model.text().strip() or self.defaults.model,
                "device": self.device.text().strip() or "auto"}


class TrainingPanel(QWidget):
    """Progress of a training job: stage line, progress bar, loss and mAP curves, Cancel."""

    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.stage = QLabel("No training yet: Model > Cross-validate… or Train final model…")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_requested)
        top.addWidget(self.stage, 1)
        top.addWidget(self.bar)
        top.addWidget(self.cancel)
        layout.addLayout(top)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout.addWidget(self.graphics, 1)
        self.loss_plot = self.graphics.addPlot(row=0, col=0, title="Training loss")
        self.map_plot = self.graphics.addPlot(
            row=0, col=1, title="Validation <span style='color:#2e9d4f'>mAP50</span> / "
                                "<span style='color:#4363d8'>mAP50-95</span>")
        for p in (self.loss_plot, self.map_plot):
            p.setLabel("bottom", "epoch (all folds)")
            p.showGrid(x=True, y=True, alpha=0.2)
        self.map_plot.setYRange(0, 1, padding=0.02)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#d9432f", width=2), symbol="o", symbolSize=4)
        self.map50_curve = self.map_plot.plot([], [], pen=pg.mkPen("#2e9d4f", width=2), symbol="o", symbolSize=4)
        self.map_curve = self.map_plot.plot([], [], pen=pg.mkPen("#4363d8", width=2), symbol="o", symbolSize=4)
        self.reset("")

    def reset(self, title: str) -> None:
        self.title = title
        self.x: list[float] = []
        self.loss: list[float] = []
        self.map50: list[float] = []
        self.map: list[float] = []
        self.mx: list[float] = []
        for c in (self.loss_curve, self.map50_curve, self.map_curve):
            c.setData([], [])
        self.bar.setRange(0, 1)
        self.bar.setValue(0)

    def running(self, on: bool) -> None:
        self.cancel.setEnabled(on)

    def show_progress(self, p) -> None:
        folds, epochs = max(int(p.folds), 1), max(int(p.epochs), 1)
        if p.stage == "epoch":
            x = p.fold * epochs + p.epoch
            self.bar.setRange(0, folds * epochs)
            self.bar.setValue(min(x, folds * epochs))
            if p.loss is not None:
                self.x.append(x)
                self.loss.append(float(p.loss))
                self.loss_curve.setData(self.x, self.loss)
            if p.map50 is not None:
                self.mx.append(x)
                self.map50.append(float(p.map50))
                self.map.append(float(p.map50_95 or 0.0))
                self.map50_curve.setData(self.mx, self.map50)
                self.map_curve.setData(self.mx, self.map)
        eta = f" · about {_duration(p.eta_s)} left" if p.eta_s else ""
        where = f"fold {p.fold + 1}/{folds}" if folds > 1 else ""
        text = {"fold": f"{self.title}: {where} training starts",
                "epoch": f"{self.title}: {where} epoch {p.epoch}/{epochs}"
                         + (f" · loss {p.loss:.3f}" if p.loss is not None else "")
                         + (f" · mAP50 {p.map50:.3f}" if p.map50 is not None else "") + eta,
                "predict": f"{self.title}: {where} predicting the held-out images",
                "done": f"{self.title}: done"}.get(p.stage, f"{self.title}: {p.stage}")
        self.stage.setText(text.replace("  ", " "))
        if p.stage == "done":
            self.bar.setValue(self.bar.maximum())

    def finish(self, text: str) -> None:
        self.stage.setText(text)
        self.running(False)


def _duration(s: float) -> str:
    s = int(s)
    return f"{s // 3600} h {s % 3600 // 60} min" if s >= 3600 else (f"{s // 60} min" if s >= 60 else f"{s} s")
