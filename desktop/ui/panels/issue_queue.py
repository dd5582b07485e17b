"""The issue queue (right dock): ranked issues, filterable by kind, class, score and status.

Order is fixed: score descending, then issue id, the same order as Store.issues(), so that
"next issue" (N) means the same thing in the panel, the controller and the database. Column
headers do not sort on click for that reason.

Like the image list, the model keeps numpy columns and filters with masks, so a queue of
100,000 issues re-filters in milliseconds. The panel is a pure view: `filter_changed` tells
the controller what the user asked for (it may re-query the store with it), and
`issue_activated` which issue the user picked.
"""
from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.model import Issue, IssueKind, IssueStatus

from ._blocked import blocked

ALL_KINDS: frozenset[str] = frozenset(k.value for k in IssueKind)
KIND_ORDER = [k.value for k in IssueKind]
_KIND_CODES = {k: i for i, k in enumerate(KIND_ORDER)}
_STATUS_CODES = {s.value: i for i, s in enumerate(IssueStatus)}
STATUS_CHOICES = ("open", "fixed", "dismissed", "all")

IssueIdRole = Qt.UserRole + 1
ImageIdRole = Qt.UserRole + 2
ScoreRole = Qt.UserRole + 3

COLUMNS = ("Score", "Kind", "Class", "Image")
COL_SCORE, COL_KIND, COL_CLASS, COL_IMAGE = range(4)

# Kind colours: the same hue follows an issue kind through the queue, the canvas badge and the
# dashboard bars (the canvas and dashboard import this table).
KIND_COLORS = {
    "missing": "#d9432f",
    "spurious": "#8e44ad",
    "localization": "#e67e22",
    "class": "#2980b9",
    "duplicate": "#16a085",
    "degenerate": "#7f8c8d",
    "unlabeled-image": "#c0392b",
}


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows. `kinds` holds the kinds shown (all of ALL_KINDS by default; never
    empty from the panel). `cls` matches an issue's class or its suggested class, like
    Store.issues(cls=...). `status` is an IssueStatus value or "all"."""

    kinds: frozenset[str] = ALL_KINDS
    cls: int | None = None
    min_score: float = 0.0
    max_score: float = 1.0
    status: str = "open"

    def store_kwargs(self) -> dict:
        """Keyword arguments for Store.issues() that select the same issues."""
        return {"status": None if self.status == "all" else self.status,
                "kinds": None if self.kinds >= ALL_KINDS else sorted(self.kinds),
                "cls": self.cls, "min_score": self.min_score, "max_score": self.max_score}


def _value(v) -> str:
    return v.value if hasattr(v, "value") else str(v)


class IssueQueueModel(QAbstractTableModel):
    """Rows: the issues passing the filter, score descending then id."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._issues: list[Issue] = []
        self._ids = np.zeros(0, dtype=np.int64)
        self._score = np.zeros(0)
        self._kind = np.zeros(0, dtype=np.int8)
        self._status = np.zeros(0, dtype=np.int8)
        self._cls = np.zeros(0, dtype=np.int64)  # -1 for None
        self._scls = np.zeros(0, dtype=np.int64)
        self._visible = np.zeros(0, dtype=np.int64)
        self._image_paths: Mapping[int, str] = {}
        self._class_names: Mapping[int, str] = {}
        self._filter = QueueFilter()

    # ------------------------------------------------------------------ loading
    def set_issues(self, issues: Iterable[Issue], image_paths: Mapping[int, str],
                   class_names: Mapping[int, str]) -> None:
        issues = sorted(issues, key=lambda i: (-i.score, i.id))
        n = len(issues)
        self.beginResetModel()
        self._issues = issues
        self._ids = np.fromiter((i.id for i in issues), dtype=np.int64, count=n)
        self._score = np.fromiter((i.score for i in issues), dtype=float, count=n)
        self._kind = np.fromiter((_KIND_CODES.get(i.kind, -1) for i in issues), dtype=np.int8, count=n)
        self._status = np.fromiter((_STATUS_CODES.get(i.status, -1) for i in issues), dtype=np.int8, count=n)
        self._cls = np.fromiter((-1 if i.cls is None else i.cls for i in issues), dtype=np.int64, count=n)
        self._scls = np.fromiter((-1 if i.suggested_cls is None else i.suggested_cls for i in issues),
                                 dtype=np.int64, count=n)
        self._image_paths = dict(image_paths)
        self._class_names = dict(class_names)
        self._apply_filter()
        self.endResetModel()

    def set_filter(self, f: QueueFilter) -> None:
        self.beginResetModel()
        self._filter = f
        self._apply_filter()
        self.endResetModel()

    def set_issue_status(self, issue_id: int, status) -> None:
        """Record a status change (fixed / dismissed / reopened) and re-filter."""
        hit = np.flatnonzero(self._ids == issue_id)
        if not len(hit):
            return
        k = int(hit[0])
        self._issues[k] = replace(self._issues[k], status=IssueStatus(_value(status)))
        self._status[k] = _STATUS_CODES[_value(status)]
        self.set_filter(self._filter)

    def _apply_filter(self) -> None:
        f = self._filter
        mask = (self._score >= f.min_score) & (self._score <= f.max_score)
        if not f.kinds >= ALL_KINDS:
            mask &= np.isin(self._kind, [_KIND_CODES[k] for k in f.kinds if k in _KIND_CODES])
        if f.cls is not None:
            mask &= (self._cls == f.cls) | (self._scls == f.cls)
        if f.status != "all":
            mask &= self._status == _STATUS_CODES[f.status]
        self._visible = np.flatnonzero(mask)

    # ------------------------------------------------------------------ look-ups
    def issue_at(self, row: int) -> Issue:
        return self._issues[int(self._visible[row])]

    def row_of(self, issue_id: int) -> int:
        hit = np.flatnonzero(self._ids[self._visible] == issue_id)
        return int(hit[0]) if len(hit) else -1

    def visible_issue_ids(self) -> list[int]:
        return self._ids[self._visible].tolist()

    def total_count(self) -> int:
        return len(self._issues)

    def class_name(self, cls: int | None) -> str:
        if cls is None:
            return ""
        return self._class_names.get(cls, f"class {cls}")

    def class_text(self, issue: Issue) -> str:
        """'cat' or 'cat → dog' when the issue suggests another class."""
        a, b = issue.cls, issue.suggested_cls
        if a is not None and b is not None and a != b:
            return f"{self.class_name(a)} → {self.class_name(b)}"
        return self.class_name(a if a is not None else b)

    # ------------------------------------------------------------------ Qt model interface
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self._visible):
            return None
        issue = self.issue_at(index.row())
        col = index.column()
        if role == Qt.DisplayRole:
            if col == COL_SCORE:
                return f"{issue.score:.3f}"
            if col == COL_KIND:
                return _value(issue.kind)
            if col == COL_CLASS:
                return self.class_text(issue)
            return posixpath.basename(self._image_paths.get(issue.image_id, f"image {issue.image_id}"))
        if role == IssueIdRole:
            return issue.id
        if role == ImageIdRole:
            return issue.image_id
        if role == ScoreRole:
            return issue.score
        if role == Qt.TextAlignmentRole and col == COL_SCORE:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.ForegroundRole and col == COL_KIND:
            return QColor(KIND_COLORS.get(_value(issue.kind), "#000000"))
        if role == Qt.ToolTipRole:
            bits = [f"{_value(issue.kind)} issue #{issue.id}, score {issue.score:.3f} ({_value(issue.status)})",
                    self._image_paths.get(issue.image_id, f"image {issue.image_id}")]
            if issue.confidence is not None:
                bits.append(f"prediction confidence {issue.confidence:.2f}")
            if issue.iou is not None:
                bits.append(f"IoU {issue.iou:.2f}")
            return "\n".join(bits)
        return None


class IssueQueuePanel(QWidget):
    """Filter header + ranked table. `issue_activated(issue_id)` fires when the user picks an
    issue (click, keyboard move, Enter), never for `select_issue`. `filter_changed(QueueFilter)`
    fires whenever the filter changes, from the widgets or from set_filter()."""

    issue_activated = Signal(int)
    filter_changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = IssueQueueModel(self)
        self._programmatic = False
        self._class_names: dict[int, str] = {}

        self.kind_button = QToolButton()
        self.kind_button.setPopupMode(QToolButton.InstantPopup)
        self.kind_button.setToolTip("Issue kinds shown")
        self.kind_menu = QMenu(self.kind_button)
        self.kind_actions: dict[str, QAction] = {}
        for kind in KIND_ORDER:
            act = QAction(kind, self.kind_menu)
            act.setCheckable(True)
            act.setChecked(True)
            act.toggled.connect(lambda checked, k=kind: self._on_kind_toggled(k, checked))
            self.kind_menu.addAction(act)
            self.kind_actions[kind] = act
        self.kind_menu.addSeparator()
        self.kind_menu.addAction("All kinds", lambda: self.set_kinds(ALL_KINDS))
        self.kind_button.setMenu(self.kind_menu)

        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Issues of this class (or suggesting it)")
        self.status_combo = QComboBox()
        for s in STATUS_CHOICES:
            self.status_combo.addItem(s, s)
        self.status_combo.setToolTip("Issue status")
        self.min_spin = _score_spin(0.0, "Lowest score shown")
        self.max_spin = _score_spin(1.0, "Highest score shown")
        for combo in (self.class_combo, self.status_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)

        row1 = QHBoxLayout()
        row1.setSpacing(3)
        row1.addWidget(self.kind_button)
        row1.addWidget(self.class_combo, 1)
        row1.addWidget(self.status_combo)
        row2 = QHBoxLayout()
        row2.setSpacing(3)
        row2.addWidget(QLabel("Score"))
        row2.addWidget(self.min_spin)
        row2.addWidget(QLabel("–"))
        row2.addWidget(self.max_spin)
        row2.addStretch(1)
        self.count_label = QLabel()
        row2.addWidget(self.count_label)

        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.setSortingEnabled(False)  # the order is the ranking; see module docstring
        self.view.verticalHeader().setVisible(False)
        # Fixed row heights: the view never measures rows it does not paint (large queues).
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.Interactive)
        hh.setStretchLastSection(True)
        hh.resizeSection(COL_SCORE, 52)
        hh.resizeSection(COL_KIND, 88)
        hh.resizeSection(COL_CLASS, 110)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.ElideLeft)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.view, 1)

        self._fill_class_combo()
        self.class_combo.currentIndexChanged.connect(lambda _i: self._widgets_changed())
        self.status_combo.currentIndexChanged.connect(lambda _i: self._widgets_changed())
        self.min_spin.valueChanged.connect(lambda _v: self._widgets_changed())
        self.max_spin.valueChanged.connect(lambda _v: self._widgets_changed())
        self.view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.view.activated.connect(self._on_activated)
        self._update_labels()

    # ------------------------------------------------------------------ public API
    def set_issues(self, issues: list[Issue], image_paths: dict[int, str], class_names: dict[int, str]) -> None:
        """Replace the queue. The current issue stays current if it is still listed."""
        current = self.current_issue_id()
        if class_names != self._class_names:
            self._class_names = dict(class_names)
            cls = self.current_filter().cls
            with blocked(self.class_combo):
                self._fill_class_combo()
                self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(-1 if cls is None else cls)))
        self.model.set_issues(issues, image_paths, class_names)
        if current is not None:
            self.select_issue(current)
        self._update_labels()

    def select_issue(self, issue_id: int) -> bool:
        """Make `issue_id` current and scroll to it without emitting `issue_activated`.
        False when it is not listed under the current filter."""
        row = self.model.row_of(issue_id)
        if row < 0:
            return False
        ix = self.model.index(row, 0)
        self._programmatic = True
        try:
            self.view.selectionModel().setCurrentIndex(
                ix, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        finally:
            self._programmatic = False
        self.view.scrollTo(ix, QAbstractItemView.EnsureVisible)
        return True

    def current_issue_id(self) -> int | None:
        ix = self.view.currentIndex()
        return int(ix.data(IssueIdRole)) if ix.isValid() else None

    def issue_ids(self) -> list[int]:
        """Listed issue ids in queue order."""
        return self.model.visible_issue_ids()

    def neighbor_issue_id(self, issue_id: int | None, step: int) -> int | None:
        """The issue `step` rows from `issue_id` (N / Shift+N). With no current issue, N takes
        the first and Shift+N the last. None past either end."""
        n = self.model.rowCount()
        if n == 0:
            return None
        row = self.model.row_of(issue_id) if issue_id is not None else -1
        if row < 0:
            target = 0 if step > 0 else n - 1
        else:
            target = row + step
        return self.model.issue_at(target).id if 0 <= target < n else None

    def set_issue_status(self, issue_id: int, status) -> None:
        self.model.set_issue_status(issue_id, status)
        self._update_labels()

    def current_filter(self) -> QueueFilter:
        kinds = frozenset(k for k, a in self.kind_actions.items() if a.isChecked())
        cls = self.class_combo.currentData()
        lo, hi = self.min_spin.value(), self.max_spin.value()
        return QueueFilter(kinds=ALL_KINDS if kinds >= ALL_KINDS else kinds,
                           cls=None if cls is None or cls < 0 else int(cls),
                           min_score=min(lo, hi), max_score=max(lo, hi),
                           status=self.status_combo.currentData() or "open")

    def set_filter(self, f: QueueFilter) -> None:
        """Show `f` in the widgets and apply it; emits filter_changed once."""
        widgets = (self.class_combo, self.status_combo, self.min_spin, self.max_spin, *self.kind_actions.values())
        with blocked(*widgets):
            for k, a in self.kind_actions.items():
                a.setChecked(k in f.kinds)
            if f.cls is not None and self.class_combo.findData(f.cls) < 0:
                self.class_combo.addItem(f"class {f.cls}", f.cls)
            self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(-1 if f.cls is None else f.cls)))
            self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(f.status)))
            self.min_spin.setValue(f.min_score)
            self.max_spin.setValue(f.max_score)
        self._widgets_changed()

    # Shortcuts for the dashboard's requests (bar click, threshold drag).
    def set_kinds(self, kinds: Iterable[str]) -> None:
        kinds = frozenset(kinds) & ALL_KINDS or ALL_KINDS
        self.set_filter(replace(self.current_filter(), kinds=kinds))

    def set_class_filter(self, cls: int | None) -> None:
        self.set_filter(replace(self.current_filter(), cls=cls))

    def set_min_score(self, value: float) -> None:
        f = self.current_filter()
        self.set_filter(replace(f, min_score=float(value), max_score=max(f.max_score, float(value))))

    # ------------------------------------------------------------------ internals
    def _on_kind_toggled(self, kind: str, checked: bool) -> None:
        if not checked and not any(a.isChecked() for a in self.kind_actions.values()):
            # An empty kind set would mean "nothing" here but "everything" to Store.issues();
            # refuse it rather than let the two disagree.
            with blocked(self.kind_actions[kind]):
                self.kind_actions[kind].setChecked(True)
            return
        self._widgets_changed()

    def _widgets_changed(self) -> None:
        current = self.current_issue_id()
        f = self.current_filter()
        self.model.set_filter(f)
        if current is not None:
            self.select_issue(current)
        self._update_labels()
        self.filter_changed.emit(f)

    def _fill_class_combo(self) -> None:
        self.class_combo.clear()
        self.class_combo.addItem("All classes", -1)
        for idx in sorted(self._class_names):
            self.class_combo.addItem(self._class_names[idx], idx)

    def _update_labels(self) -> None:
        shown, total = self.model.rowCount(), self.model.total_count()
        self.count_label.setText(f"{shown:,} issues" if shown == total else f"{shown:,} of {total:,}")
        n = sum(a.isChecked() for a in self.kind_actions.values())
        self.kind_button.setText("All kinds" if n == len(self.kind_actions) else f"Kinds ({n})")

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._programmatic or not current.isValid():
            return
        self.issue_activated.emit(int(current.data(IssueIdRole)))

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.issue_activated.emit(int(index.data(IssueIdRole)))


def _score_spin(value: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, 1.0)
    spin.setDecimals(2)
    spin.setSingleStep(0.05)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)  # re-filter when the typed value is complete, not per digit
    return spin
