"""The inspector (right dock, under the queue): everything about the selected box.

`show_box(info)` takes a plain dict so the panel needs no store access:

    kind        'label' | 'prediction'
    id          label or prediction id
    class_name  str
    box         (x0, y0, x1, y1) absolute pixels (a core.model.Box works too)
    origin      Origin value for labels ('imported', 'added', ...); ignored for predictions
    confidence  float or None
    iou         float or None: IoU with the matched box (None shows 'unmatched')
    match       optional: what it is matched with, a str, or a dict with any of
                kind, id, class_name, confidence
    history     list of dicts from Store.history(label_id=...): time, kind, before, after
    class_names optional {idx: name}, used to name classes inside history entries

The text is rendered once per call into labels and a read-only text box; `text()` returns all
of it (for tests and for copying).
"""
from __future__ import annotations

import json
import time
from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

FIELDS = ("Class", "Box", "Size", "Origin", "Confidence", "IoU")


def _fmt_box(box) -> str:
    x0, y0, x1, y1 = _coords(box)
    return f"({x0:.1f}, {y0:.1f}) – ({x1:.1f}, {y1:.1f})"


def _coords(box) -> tuple[float, float, float, float]:
    if hasattr(box, "as_tuple"):
        box = box.as_tuple()
    if isinstance(box, Mapping):
        box = (box["x0"], box["y0"], box["x1"], box["y1"])
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0, y0, x1, y1


def _fmt_match(match) -> str:
    if not match:
        return ""
    if isinstance(match, str):
        return match
    bits = [str(match.get("kind", "box"))]
    if match.get("id") is not None:
        bits[0] += f" #{match['id']}"
    if match.get("class_name"):
        bits.append(str(match["class_name"]))
    if match.get("confidence") is not None:
        bits.append(f"{float(match['confidence']):.2f}")
    return bits[0] + (f" ({', '.join(bits[1:])})" if len(bits) > 1 else "")


def _row_box(row: Mapping) -> tuple[float, float, float, float]:
    return (row["x0"], row["y0"], row["x1"], row["y1"])


def _class(row_cls, class_names: Mapping[int, str]) -> str:
    return class_names.get(row_cls, f"class {row_cls}")


def describe_label_change(before: Mapping | None, after: Mapping | None, class_names: Mapping[int, str]) -> str:
    """One readable phrase for one label's (before, after) row pair."""
    if before is None and after is None:
        return ""
    if before is None:
        return f"added {_class(after['cls'], class_names)} {_fmt_box(_row_box(after))}"
    if after is None:
        return f"deleted {_class(before['cls'], class_names)} {_fmt_box(_row_box(before))}"
    parts = []
    if _row_box(before) != _row_box(after):
        parts.append(f"box {_fmt_box(_row_box(before))} → {_fmt_box(_row_box(after))}")
    if before.get("cls") != after.get("cls"):
        parts.append(f"class {_class(before['cls'], class_names)} → {_class(after['cls'], class_names)}")
    return "; ".join(parts) or "unchanged"


def history_lines(history: list[Mapping], label_id: int | None = None,
                  class_names: Mapping[int, str] | None = None) -> list[str]:
    """Readable lines, oldest first: '2026-01-02 10:11:12  set-class: class cat → dog'.
    Only the changes of `label_id` are described when it is given (an edit may touch many
    boxes); status and issue changes are summarised."""
    class_names = class_names or {}
    lines = []
    for entry in history:
        before, after = entry.get("before") or {}, entry.get("after") or {}
        before = json.loads(before) if isinstance(before, str) else before
        after = json.loads(after) if isinstance(after, str) else after
        when = entry.get("time")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(when))) if when is not None else "?"
        kind = str(entry.get("kind", "edit"))
        kind = f"undo {kind[5:]}" if kind.startswith("undo:") else kind
        changes = []
        for b, a in zip(before.get("labels") or [], after.get("labels") or []):
            row = b or a
            if row is None or (label_id is not None and row.get("id") != label_id):
                continue
            text = describe_label_change(b, a, class_names)
            changes.append(text if label_id is not None else f"#{row.get('id')} {text}")
        for (iid, b), (_iid, a) in zip(before.get("issues") or [], after.get("issues") or []):
            changes.append(f"issue #{iid} {b} → {a}")
        for (img, b), (_img, a) in zip(before.get("statuses") or [], after.get("statuses") or []):
            changes.append(f"image {b} → {a}")
        lines.append(f"{stamp}  {kind}" + (": " + "; ".join(changes) if changes else ""))
    return lines


class InspectorPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(1)
        for name in FIELDS:
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            value.setWordWrap(True)
            self.values[name] = value
            form.addRow(name, value)
        self.history = QPlainTextEdit()
        self.history.setReadOnly(True)
        self.history.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.history.setPlaceholderText("No edits yet")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addWidget(QLabel("History"))
        layout.addWidget(self.history, 1)
        self.clear()

    def show_box(self, info: Mapping) -> None:
        kind = str(info.get("kind", "label"))
        box_id = info.get("id")
        self.title.setText(f"{kind.capitalize()} #{box_id}" if box_id is not None else kind.capitalize())
        x0, y0, x1, y1 = _coords(info["box"])
        conf, iou = info.get("confidence"), info.get("iou")
        match = _fmt_match(info.get("match"))
        origin = info.get("origin")
        origin = getattr(origin, "value", origin)
        self.values["Class"].setText(str(info.get("class_name") or "—"))
        self.values["Box"].setText(_fmt_box((x0, y0, x1, y1)))
        self.values["Size"].setText(f"{x1 - x0:.1f} × {y1 - y0:.1f} px")
        self.values["Origin"].setText(str(origin) if origin and kind == "label" else ("model" if kind == "prediction" else "—"))
        self.values["Confidence"].setText(f"{float(conf):.3f}" if conf is not None else "—")
        if iou is not None:
            self.values["IoU"].setText(f"{float(iou):.3f}" + (f" with {match}" if match else ""))
        else:
            self.values["IoU"].setText("unmatched")
        history = info.get("history") or []
        label_id = box_id if kind == "label" else None
        self.history.setPlainText("\n".join(history_lines(history, label_id, info.get("class_names"))))
        self.setEnabled(True)

    def clear(self) -> None:
        self.title.setText("No box selected")
        for value in self.values.values():
            value.setText("—")
        self.history.setPlainText("")
        self.setEnabled(False)

    def text(self) -> str:
        """Everything shown, as plain text."""
        lines = [self.title.text()]
        lines += [f"{name}: {self.values[name].text()}" for name in FIELDS]
        lines.append(self.history.toPlainText())
        return "\n".join(lines)
