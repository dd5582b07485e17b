"""The classes panel: colour swatch, number key, name and box count per class, with Add,
Rename, Merge into… and Colour.

The panel edits nothing itself: each action becomes a `*_requested` signal that the main
window turns into an undoable edit, and the panel is refreshed through `set_classes`. It
checks what it can see (blank or duplicate names, merging a class into itself) before asking,
so the undo stack only ever receives sensible requests.

Dialogs go through the `_ask_*` methods, and every `request_*` method takes its answer as an
optional argument, so code (and tests) can drive the panel without a modal dialog.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.model import ClassInfo

COLUMNS = ("", "Key", "Name", "Boxes")
COL_SWATCH, COL_KEY, COL_NAME, COL_COUNT = range(4)
# A class without a stored colour (should not happen: the store assigns one) shows grey rather
# than a guess that could disagree with the canvas.
FALLBACK_COLOR = "#808080"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def swatch_icon(color: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(color if _HEX.match(color or "") else FALLBACK_COLOR))
    return QIcon(pm)


def number_key(position: int) -> str:
    """Keys 1..9 select the first nine classes (in index order)."""
    return str(position + 1) if position < 9 else ""


class ClassesPanel(QWidget):
    add_requested = Signal(str)
    rename_requested = Signal(int, str)
    merge_requested = Signal(int, int)  # src, dst: every box of src becomes dst, src goes
    color_requested = Signal(int, str)  # idx, '#rrggbb'
    class_selected = Signal(int)  # the user picked a row (the main window may use it as the draw class)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._classes: list[ClassInfo] = []
        self._counts: dict[int, int] = {}

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.CustomContextMenu)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(COL_SWATCH, QHeaderView.ResizeToContents)
        hh.setSectionResizeMode(COL_KEY, QHeaderView.ResizeToContents)
        hh.setSectionResizeMode(COL_NAME, QHeaderView.Stretch)
        hh.setSectionResizeMode(COL_COUNT, QHeaderView.ResizeToContents)

        self.add_button = QPushButton("Add")
        self.rename_button = QPushButton("Rename")
        self.merge_button = QPushButton("Merge into…")
        self.color_button = QPushButton("Colour")
        self.add_button.setToolTip("Add a class")
        self.rename_button.setToolTip("Rename the selected class")
        self.merge_button.setToolTip("Re-label every box of the selected class as another class, then remove it")
        self.color_button.setToolTip("Change the colour of the selected class")
        buttons = QHBoxLayout()
        buttons.setSpacing(3)
        for b in (self.add_button, self.rename_button, self.merge_button, self.color_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.message = QLabel()
        self.message.setObjectName("classesMessage")
        self.message.setWordWrap(True)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)

        self.add_button.clicked.connect(lambda: self.request_add())
        self.rename_button.clicked.connect(lambda: self.request_rename())
        self.merge_button.clicked.connect(lambda: self.request_merge())
        self.color_button.clicked.connect(lambda: self.request_color())
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.cellDoubleClicked.connect(self._on_double_click)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self._update_buttons()

    # ------------------------------------------------------------------ public API
    def set_classes(self, classes: list[ClassInfo], counts: dict[int, int] | None = None) -> None:
        selected = self.selected_class()
        self._classes = sorted(classes, key=lambda c: c.idx)
        self._counts = dict(counts or {})
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(len(self._classes))
            for row, c in enumerate(self._classes):
                swatch = QTableWidgetItem()
                swatch.setIcon(swatch_icon(c.color))
                swatch.setToolTip(c.color or "no colour")
                swatch.setData(Qt.UserRole, c.idx)
                key = QTableWidgetItem(number_key(row))
                key.setTextAlignment(Qt.AlignCenter)
                name = QTableWidgetItem(c.name)
                name.setToolTip(f"class {c.idx}" + (f", source id {c.source_id}" if c.source_id is not None else ""))
                count = QTableWidgetItem(f"{self._counts.get(c.idx, 0):,}")
                count.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                for col, item in enumerate((swatch, key, name, count)):
                    self.table.setItem(row, col, item)
            if selected is not None:
                self.select_class(selected)
        finally:
            self.table.blockSignals(False)
        self._update_buttons()

    def classes(self) -> list[ClassInfo]:
        return list(self._classes)

    def selected_class(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return self._classes[rows[0].row()].idx if rows[0].row() < len(self._classes) else None

    def select_class(self, idx: int) -> bool:
        for row, c in enumerate(self._classes):
            if c.idx == idx:
                self.table.selectRow(row)
                return True
        return False

    def request_add(self, name: str | None = None) -> bool:
        if name is None:
            name = self._ask_text("Add class", "Name of the new class:", "")
            if name is None:
                return False
        name = name.strip()
        if not self._name_ok(name, None):
            return False
        self.add_requested.emit(name)
        return True

    def request_rename(self, idx: int | None = None, name: str | None = None) -> bool:
        c = self._class(idx)
        if c is None:
            return self._refuse("Select a class to rename.")
        if name is None:
            name = self._ask_text("Rename class", f"New name for '{c.name}':", c.name)
            if name is None:
                return False
        name = name.strip()
        if name == c.name:
            return False
        if not self._name_ok(name, c.idx):
            return False
        self.rename_requested.emit(c.idx, name)
        return True

    def request_merge(self, src: int | None = None, dst: int | None = None) -> bool:
        c = self._class(src)
        if c is None:
            return self._refuse("Select the class to merge into another.")
        others = [o for o in self._classes if o.idx != c.idx]
        if not others:
            return self._refuse("There is no other class to merge into.")
        if dst is None:
            labels = [f"{o.idx}: {o.name}" for o in others]
            choice = self._ask_item("Merge class",
                                    f"Re-label every '{c.name}' box ({self._counts.get(c.idx, 0):,}) as:", labels)
            if choice is None:
                return False
            dst = others[labels.index(choice)].idx
        if dst == c.idx or self._class(dst) is None:
            return self._refuse("Merge into a different, existing class.")
        self.merge_requested.emit(c.idx, int(dst))
        return True

    def request_color(self, idx: int | None = None, color: str | None = None) -> bool:
        c = self._class(idx)
        if c is None:
            return self._refuse("Select a class to colour.")
        if color is None:
            color = self._ask_color(c.color or FALLBACK_COLOR)
            if color is None:
                return False
        if not _HEX.match(color):
            return self._refuse(f"'{color}' is not a colour like #rrggbb.")
        color = color.lower()
        if color == (c.color or "").lower():
            return False
        self.color_requested.emit(c.idx, color)
        return True

    # ------------------------------------------------------------------ dialogs (overridable)
    def _ask_text(self, title: str, prompt: str, text: str) -> str | None:
        value, ok = QInputDialog.getText(self, title, prompt, text=text)
        return value if ok else None

    def _ask_item(self, title: str, prompt: str, items: list[str]) -> str | None:
        value, ok = QInputDialog.getItem(self, title, prompt, items, 0, False)
        return value if ok else None

    def _ask_color(self, current: str) -> str | None:
        color = QColorDialog.getColor(QColor(current), self, "Class colour")
        return color.name() if color.isValid() else None

    # ------------------------------------------------------------------ internals
    def _class(self, idx: int | None) -> ClassInfo | None:
        if idx is None:
            idx = self.selected_class()
        return next((c for c in self._classes if c.idx == idx), None)

    def _name_ok(self, name: str, own_idx: int | None) -> bool:
        if not name:
            return self._refuse("A class name cannot be empty.")
        clash = next((c for c in self._classes if c.name.casefold() == name.casefold() and c.idx != own_idx), None)
        if clash is not None:
            # Two classes of one name would export as one: merge instead.
            return self._refuse(f"A class named '{clash.name}' exists already (use Merge into…).")
        self.message.hide()
        return True

    def _refuse(self, text: str) -> bool:
        self.message.setText(text)
        self.message.show()
        return False

    def _update_buttons(self) -> None:
        has = self.selected_class() is not None
        for b in (self.rename_button, self.merge_button, self.color_button):
            b.setEnabled(has)

    def _on_selection(self) -> None:
        self._update_buttons()
        idx = self.selected_class()
        if idx is not None:
            self.class_selected.emit(idx)

    def _on_double_click(self, row: int, col: int) -> None:
        idx = self._classes[row].idx
        if col == COL_SWATCH:
            self.request_color(idx)
        else:
            self.request_rename(idx)

    def _context_menu(self, pos) -> None:
        row = self.table.rowAt(pos.y())
        if row >= 0:
            self.table.selectRow(row)
        menu = self._build_menu()
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _build_menu(self) -> QMenu:
        menu = QMenu(self)
        has = self.selected_class() is not None
        for text, slot, enabled in (("Add…", self.request_add, True), ("Rename…", self.request_rename, has),
                                    ("Merge into…", self.request_merge, has), ("Colour…", self.request_color, has)):
            act = QAction(text, menu)
            act.setEnabled(enabled)
            act.triggered.connect(lambda _checked=False, s=slot: s())
            menu.addAction(act)
        return menu
