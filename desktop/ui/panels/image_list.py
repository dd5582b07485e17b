"""The image list (left dock): a virtual list model that stays smooth at 100,000 images.

Why not QStandardItemModel or a QSortFilterProxyModel: both call Python once per row (an item
object, or filterAcceptsRow), which at 100,000 rows costs seconds on every filter change. Here
the model keeps plain column arrays (numpy for the codes and counts, one list for the paths),
filtering builds an index array with numpy, and data() is computed only for the rows the view
paints. The view has fixed row heights so it never measures rows it does not show.

The panel is a pure view: it receives ImageInfo records and counts, and says which image the
user picked through `image_activated`. It never reads the project file.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
from PySide6.QtCore import QAbstractListModel, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QHeaderView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.model import ImageInfo, ReviewStatus, Split

from . import status_icons as icons
from ._blocked import blocked

# Custom roles; the controller and the tests read rows through these rather than parsing text.
ImageIdRole = Qt.UserRole + 1
StateRole = Qt.UserRole + 2  # one of status_icons.STATES: what the icon shows
IssueCountRole = Qt.UserRole + 3
ReviewStatusRole = Qt.UserRole + 4  # the stored ReviewStatus value ("unreviewed", ...)
SplitRole = Qt.UserRole + 5
PathRole = Qt.UserRole + 6

_REVIEW_CODES = {s.value: i for i, s in enumerate(ReviewStatus)}
_REVIEW_VALUES = [s.value for s in ReviewStatus]
_SPLIT_CODES = {s.value: i for i, s in enumerate(Split)}
_SPLIT_VALUES = [s.value for s in Split]

# Status filter choices: (key, label). Review statuses filter on the stored status; "issues"
# and "no-issues" on the open-issue count; "error" on unreadable images.
STATUS_FILTERS = (
    ("all", "All"),
    ("unreviewed", "Unreviewed"),
    ("reviewed", "Reviewed"),
    ("skipped", "Skipped"),
    ("issues", "Has open issues"),
    ("no-issues", "No open issues"),
    ("error", "Unreadable"),
)


def _value(v) -> str:
    return v.value if hasattr(v, "value") else str(v)


class ImageListModel(QAbstractListModel):
    """Rows are the images that pass the current filter, in the order they were given."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._ids = np.zeros(0, dtype=np.int64)
        self._paths: list[str] = []
        # The name filter searches one lower-cased blob of all paths ("a\nb\n...") with the C
        # string search, then maps match offsets to rows: ~100x faster than a Python loop.
        self._blob = ""
        self._starts = np.zeros(0, dtype=np.int64)  # offset of each path in the blob
        self._review = np.zeros(0, dtype=np.int8)
        self._split = np.zeros(0, dtype=np.int8)
        self._counts = np.zeros(0, dtype=np.int32)
        self._error = np.zeros(0, dtype=bool)
        self._errors: dict[int, str] = {}  # full index -> message, only for the few broken images
        self._sorted_ids = np.zeros(0, dtype=np.int64)  # for vectorised id -> full index look-ups
        self._sorted_pos = np.zeros(0, dtype=np.int64)
        self._image_classes: Mapping[int, set[int]] | None = None
        self._class_masks: dict[int, np.ndarray] = {}
        self._visible = np.zeros(0, dtype=np.int64)  # row -> full index
        self._row_of = np.zeros(0, dtype=np.int64)  # full index -> row, -1 when filtered out
        self._filter = {"status": "all", "cls": None, "split": None, "text": ""}

    # ------------------------------------------------------------------ loading
    def set_images(self, images: Iterable[ImageInfo], issue_counts: Mapping[int, int] | None = None,
                   image_classes: Mapping[int, set[int]] | None = None) -> None:
        images = list(images)
        self.beginResetModel()
        n = len(images)
        self._ids = np.fromiter((im.id for im in images), dtype=np.int64, count=n)
        self._paths = [im.path for im in images]
        self._blob = "\n".join(self._paths).lower() + "\n"
        lengths = np.fromiter((len(p) + 1 for p in self._paths), dtype=np.int64, count=n)
        self._starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if n else np.zeros(0, dtype=np.int64)
        # ReviewStatus and Split are str enums: a member hashes like its value, so one dict
        # look-up serves both members and plain strings (and skips slow Enum.value access).
        review_get, split_get, none = _REVIEW_CODES.get, _SPLIT_CODES.get, _SPLIT_CODES["none"]
        self._review = np.fromiter((review_get(im.status, 0) for im in images), dtype=np.int8, count=n)
        self._split = np.fromiter((split_get(im.split, none) for im in images), dtype=np.int8, count=n)
        self._errors = {i: im.error for i, im in enumerate(images) if im.error}
        self._error = np.zeros(n, dtype=bool)
        if self._errors:
            self._error[list(self._errors)] = True
        order = np.argsort(self._ids, kind="stable")
        self._sorted_ids = self._ids[order]
        self._sorted_pos = order
        self._counts = self._counts_array(issue_counts or {})
        self._image_classes = image_classes
        self._class_masks = {}
        self._apply_filter()
        self.endResetModel()

    def _full_index(self, image_ids: np.ndarray) -> np.ndarray:
        """Full indices of `image_ids`, -1 where an id is unknown."""
        if len(self._sorted_ids) == 0:
            return np.full(len(image_ids), -1, dtype=np.int64)
        pos = np.searchsorted(self._sorted_ids, image_ids)
        pos = np.clip(pos, 0, len(self._sorted_ids) - 1)
        found = self._sorted_ids[pos] == image_ids
        return np.where(found, self._sorted_pos[pos], -1)

    def _counts_array(self, issue_counts: Mapping[int, int]) -> np.ndarray:
        counts = np.zeros(len(self._ids), dtype=np.int32)
        if issue_counts:
            keys = np.fromiter(issue_counts.keys(), dtype=np.int64, count=len(issue_counts))
            vals = np.fromiter(issue_counts.values(), dtype=np.int32, count=len(issue_counts))
            idx = self._full_index(keys)
            ok = idx >= 0
            counts[idx[ok]] = vals[ok]
        return counts

    # ------------------------------------------------------------------ live updates
    def update_counts(self, issue_counts: Mapping[int, int]) -> None:
        """Replace every open-issue count (images absent from the mapping have none). Rows keep
        their place even if they no longer match an issue filter, so the list does not jump
        under the user; `refilter()` applies the filter again."""
        self._counts = self._counts_array(issue_counts)
        if len(self._visible):
            self.dataChanged.emit(self.index(0), self.index(len(self._visible) - 1),
                                  [Qt.DecorationRole, Qt.ToolTipRole, StateRole, IssueCountRole])

    def update_status(self, image_id: int, status) -> None:
        i = self.full_index(image_id)
        if i < 0:
            return
        self._review[i] = _REVIEW_CODES[_value(status)]
        row = int(self._row_of[i])
        if row >= 0:
            ix = self.index(row)
            self.dataChanged.emit(ix, ix, [Qt.DecorationRole, Qt.ToolTipRole, StateRole, ReviewStatusRole])

    # ------------------------------------------------------------------ filtering
    def set_filter(self, status: str = "all", cls: int | None = None, split: str | None = None,
                   text: str = "") -> None:
        self._filter = {"status": status or "all", "cls": cls, "split": split, "text": text or ""}
        self.refilter()

    def filter(self) -> dict:
        return dict(self._filter)

    def refilter(self) -> None:
        self.beginResetModel()
        self._apply_filter()
        self.endResetModel()

    def _class_mask(self, cls: int) -> np.ndarray:
        mask = self._class_masks.get(cls)
        if mask is None:
            ids = [i for i, classes in (self._image_classes or {}).items() if cls in classes]
            idx = self._full_index(np.asarray(ids, dtype=np.int64))
            mask = np.zeros(len(self._ids), dtype=bool)
            mask[idx[idx >= 0]] = True
            self._class_masks[cls] = mask
        return mask

    def _apply_filter(self) -> None:
        n = len(self._ids)
        f = self._filter
        mask = np.ones(n, dtype=bool)
        status = f["status"]
        if status in _REVIEW_CODES:
            mask &= self._review == _REVIEW_CODES[status]
        elif status == "issues":
            mask &= self._counts > 0
        elif status == "no-issues":
            mask &= self._counts == 0
        elif status == "error":
            mask &= self._error
        elif status != "all":
            raise ValueError(f"unknown status filter {status!r}")
        if f["split"]:
            mask &= self._split == _SPLIT_CODES[_value(f["split"])]
        if f["cls"] is not None:
            mask &= self._class_mask(int(f["cls"]))
        needle = f["text"].strip().lower()
        if needle:
            mask &= self._name_mask(needle)
        visible = np.flatnonzero(mask)
        self._visible = visible.astype(np.int64)
        self._row_of = np.full(n, -1, dtype=np.int64)
        self._row_of[self._visible] = np.arange(len(self._visible))

    def _name_mask(self, needle: str) -> np.ndarray:
        hits = np.fromiter((m.start() for m in re.finditer(re.escape(needle), self._blob)), dtype=np.int64)
        mask = np.zeros(len(self._ids), dtype=bool)
        if len(hits):
            # A path never contains "\n", so a match lies inside one path: the last start <= hit.
            mask[np.searchsorted(self._starts, hits, side="right") - 1] = True
        return mask

    # ------------------------------------------------------------------ look-ups
    def full_index(self, image_id: int) -> int:
        return int(self._full_index(np.asarray([image_id], dtype=np.int64))[0])

    def row_of(self, image_id: int) -> int:
        """The visible row of an image, -1 when it is unknown or filtered out."""
        i = self.full_index(image_id)
        return int(self._row_of[i]) if i >= 0 else -1

    def image_id_at(self, row: int) -> int:
        return int(self._ids[self._visible[row]])

    def visible_image_ids(self) -> np.ndarray:
        return self._ids[self._visible]

    def total_count(self) -> int:
        return len(self._ids)

    def issue_count(self, image_id: int) -> int:
        i = self.full_index(image_id)
        return int(self._counts[i]) if i >= 0 else 0

    def splits_present(self) -> list[str]:
        return [_SPLIT_VALUES[c] for c in np.unique(self._split).tolist()]

    def _state(self, i: int) -> str:
        if self._error[i]:
            return icons.ERROR
        if self._counts[i] > 0:
            return icons.ISSUES
        return _REVIEW_VALUES[self._review[i]]  # unreviewed / reviewed / skipped: each has an icon

    # ------------------------------------------------------------------ Qt model interface
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._visible)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        if row >= len(self._visible):
            return None
        i = int(self._visible[row])
        if role == Qt.DisplayRole or role == PathRole:
            return self._paths[i]
        if role == Qt.DecorationRole:
            return icons.status_icon(self._state(i), int(self._counts[i]))
        if role == ImageIdRole:
            return int(self._ids[i])
        if role == IssueCountRole:
            return int(self._counts[i])
        if role == StateRole:
            return self._state(i)
        if role == ReviewStatusRole:
            return _REVIEW_VALUES[self._review[i]]
        if role == SplitRole:
            return _SPLIT_VALUES[self._split[i]]
        if role == Qt.ToolTipRole:
            count = int(self._counts[i])
            parts = [self._paths[i], _REVIEW_VALUES[self._review[i]], _SPLIT_VALUES[self._split[i]]]
            parts.append(f"{count} open issue{'s' if count != 1 else ''}")
            if i in self._errors:
                parts.append(f"unreadable: {self._errors[i]}")
            return "\n".join(parts)
        return None


class ImageListPanel(QWidget):
    """Filter header + list. Emits `image_activated(image_id)` when the user picks an image
    (click, keyboard move, Enter); never when the controller calls `select_image`."""

    image_activated = Signal(int)

    # The name filter waits this long after the last keystroke, so typing stays fluid.
    NAME_DEBOUNCE_MS = 150

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = ImageListModel(self)
        self._programmatic = False
        self._class_names: dict[int, str] = {}

        self.status_combo = QComboBox()
        for key, text in STATUS_FILTERS:
            self.status_combo.addItem(text, key)
        self.status_combo.setToolTip("Filter by review status")
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Filter by class (images with at least one label of it)")
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Filter by split")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("name…")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.setToolTip("Show images whose path contains this text (case-insensitive)")
        for combo in (self.status_combo, self.class_combo, self.split_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self._fill_class_combo()
        self._fill_split_combo([])

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(3)
        header.addWidget(self.status_combo)
        header.addWidget(self.class_combo)
        header.addWidget(self.split_combo)
        header.addWidget(self.name_edit, 1)

        # A one-column QTableView, not a QListView: QListView lays out every row when the
        # model resets (two Python rowCount() calls per row, about a second at 100,000 rows),
        # while a table with fixed row heights only touches the rows it paints.
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.horizontalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(max(icons.SIZE, self.fontMetrics().height()) + 4)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.setTextElideMode(Qt.ElideLeft)  # the file name, at the end, stays visible
        self.view.setIconSize(icons.status_icon(icons.UNREVIEWED).availableSizes()[0])

        self.count_label = QLabel()
        self.count_label.setObjectName("imageCount")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)

        self._name_timer = QTimer(self)
        self._name_timer.setSingleShot(True)
        self._name_timer.setInterval(self.NAME_DEBOUNCE_MS)
        self._name_timer.timeout.connect(self.apply_filters)
        self.name_edit.textChanged.connect(lambda _t: self._name_timer.start())
        self.status_combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.class_combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.split_combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.view.activated.connect(self._on_activated)
        self._update_count_label()

    # ------------------------------------------------------------------ public API
    def set_images(self, images: list[ImageInfo], issue_counts: dict[int, int],
                   image_classes: dict[int, set[int]] | None = None,
                   class_names: dict[int, str] | None = None) -> None:
        current = self.current_image_id()
        self.model.set_images(images, issue_counts, image_classes)
        self._class_names = dict(class_names or {})
        if not self._class_names and image_classes:
            self._class_names = {c: f"class {c}" for c in sorted(set().union(*image_classes.values()))}
        with blocked(self.class_combo, self.split_combo):
            self._fill_class_combo(enabled=image_classes is not None)
            self._fill_split_combo(self.model.splits_present())
        self.apply_filters()
        if current is not None:
            self.select_image(current)

    def update_counts(self, issue_counts: dict[int, int]) -> None:
        self.model.update_counts(issue_counts)

    def update_status(self, image_id: int, status) -> None:
        self.model.update_status(image_id, status)

    def select_image(self, image_id: int) -> bool:
        """Make `image_id` current and scroll to it, without emitting `image_activated`.
        Returns False when the image is filtered out (the filter is left alone)."""
        row = self.model.row_of(image_id)
        if row < 0:
            return False
        ix = self.model.index(row)
        self._programmatic = True
        try:
            self.view.selectionModel().setCurrentIndex(ix, QItemSelectionModel.ClearAndSelect)
        finally:
            self._programmatic = False
        self.view.scrollTo(ix, QAbstractItemView.EnsureVisible)
        return True

    def current_image_id(self) -> int | None:
        ix = self.view.currentIndex()
        return int(ix.data(ImageIdRole)) if ix.isValid() else None

    def neighbor_image_id(self, image_id: int, step: int) -> int | None:
        """The image `step` rows away in the filtered list (D / A honour the filter), or None
        at either end or when `image_id` is not listed."""
        row = self.model.row_of(image_id)
        target = row + step
        if row < 0 or not 0 <= target < self.model.rowCount():
            return None
        return self.model.image_id_at(target)

    def set_filters(self, status: str | None = None, cls: int | None | object = ..., split: str | None | object = ...,
                    text: str | None = None) -> None:
        """Set any of the filter widgets from code and apply at once (no debounce)."""
        with blocked(self.status_combo, self.class_combo, self.split_combo, self.name_edit):
            if status is not None:
                self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(status)))
            if cls is not ...:
                self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(-1 if cls is None else cls)))
            if split is not ...:
                self.split_combo.setCurrentIndex(max(0, self.split_combo.findData(split or "")))
            if text is not None:
                self.name_edit.setText(text)
        self.apply_filters()

    def apply_filters(self) -> None:
        self._name_timer.stop()
        current = self.current_image_id()
        cls = self.class_combo.currentData()
        self.model.set_filter(status=self.status_combo.currentData() or "all",
                              cls=None if cls is None or cls < 0 else int(cls),
                              split=self.split_combo.currentData() or None,
                              text=self.name_edit.text())
        if current is not None:
            self.select_image(current)
        self._update_count_label()

    # ------------------------------------------------------------------ internals
    def _fill_class_combo(self, enabled: bool = False) -> None:
        self.class_combo.clear()
        self.class_combo.addItem("All classes", -1)
        for idx in sorted(self._class_names):
            self.class_combo.addItem(self._class_names[idx], idx)
        self.class_combo.setEnabled(enabled)

    def _fill_split_combo(self, splits: list[str]) -> None:
        self.split_combo.clear()
        self.split_combo.addItem("All splits", "")
        for s in splits:
            self.split_combo.addItem(s, s)
        self.split_combo.setEnabled(len(splits) > 1)

    def _update_count_label(self) -> None:
        shown, total = self.model.rowCount(), self.model.total_count()
        self.count_label.setText(f"{total:,} images" if shown == total else f"{shown:,} of {total:,} images")

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._programmatic or not current.isValid():
            return
        self.image_activated.emit(int(current.data(ImageIdRole)))

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.image_activated.emit(int(index.data(ImageIdRole)))


__all__ = ["ImageListModel", "ImageListPanel", "ImageIdRole", "StateRole", "IssueCountRole",
           "ReviewStatusRole", "SplitRole", "PathRole", "STATUS_FILTERS"]
