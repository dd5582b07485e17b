"""Feeds the dashboard dock (panels/dashboard.py) from the open project, and routes its clicks.

The figures are gathered in the session's worker (Background: the same thread as the
re-scores, so it never reads half a re-score) and handed to the panel on the GUI thread.
Updates are throttled: every change marks a *part* dirty (issues, labels, predictions,
pairs, history) and one single-shot timer later only the dirty parts are read and passed
on, so a burst of edits or of streamed predictions costs one refresh. Nothing is computed
while the dock is hidden; showing it catches up.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer

from desktop.core.geometry import iou_matrix
from desktop.ui.panels.dashboard import DashboardPanel, issue_arrays

THROTTLE_MS = 300
ALL_PARTS = frozenset({"issues", "labels", "preds", "pairs", "history"})
MATCH_IOU = 0.5
_NOT_FIXES = ("set-status", "add-class", "rename-class", "class-color")


def matched_pairs(labels: dict, preds: dict, min_iou: float = MATCH_IOU) -> dict[str, np.ndarray]:
    """Greedy one-to-one matching per image (by confidence, class-agnostic, IoU >= min_iou),
    like the canvas draws it. Inputs are Store.label_arrays / prediction_arrays columns,
    both sorted by image_id. Returns conf, iou, cls (the label's), image_id, label_id."""
    out = {k: [] for k in ("conf", "iou", "cls", "image_id", "label_id")}
    li, pi = labels["image_id"], preds["image_id"]
    common = np.intersect1d(li, pi)
    l_lo, l_hi = np.searchsorted(li, common), np.searchsorted(li, common, side="right")
    p_lo, p_hi = np.searchsorted(pi, common), np.searchsorted(pi, common, side="right")
    for image_id, a, b, c, d in zip(common.tolist(), l_lo, l_hi, p_lo, p_hi):
        iou = iou_matrix(labels["boxes"][a:b], preds["boxes"][c:d])
        taken = np.zeros(b - a, bool)
        conf = preds["conf"][c:d]
        for j in np.argsort(-conf, kind="stable"):
            col = np.where(taken, -1.0, iou[:, j])
            i = int(np.argmax(col))
            if col[i] >= min_iou:
                taken[i] = True
                out["conf"].append(conf[j])
                out["iou"].append(col[i])
                out["cls"].append(labels["cls"][a + i])
                out["image_id"].append(image_id)
                out["label_id"].append(labels["id"][a + i])
    return {"pair_conf": np.asarray(out["conf"], float), "pair_iou": np.asarray(out["iou"], float),
            "pair_cls": np.asarray(out["cls"], np.int64), "pair_image_id": np.asarray(out["image_id"], np.int64),
            "pair_label_id": np.asarray(out["label_id"], np.int64)}


def gather(store, run_id, threshold: float, parts: frozenset) -> dict:
    """The panel's set_data() arguments for the dirty parts (runs in the worker)."""
    out: dict = {}
    if "issues" in parts:
        a = issue_arrays(store.issues(status="open"))
        out.update(issue_kind=a["kind"], issue_cls=a["cls"], issue_score=a["score"])
    labels = preds = None
    if parts & {"labels", "pairs"}:
        labels = store.label_arrays()
    if parts & {"preds", "pairs"}:
        if run_id is not None:
            preds = store.prediction_arrays(run_id)
            keep = preds["conf"] >= threshold
            preds = {k: v[keep] for k, v in preds.items()}
        else:
            preds = {"id": np.zeros(0, np.int64), "image_id": np.zeros(0, np.int64), "cls": np.zeros(0, np.int64),
                     "conf": np.zeros(0), "boxes": np.zeros((0, 4))}
    if "labels" in parts or "preds" in parts:
        labels_all = labels if labels is not None else store.label_arrays()
        out["label_cls"] = labels_all["cls"]
        out["pred_cls"] = preds["cls"] if preds is not None else np.zeros(0, np.int64)
    if "labels" in parts:
        boxes = labels["boxes"]
        out.update(box_w=boxes[:, 2] - boxes[:, 0], box_h=boxes[:, 3] - boxes[:, 1])
    if "pairs" in parts:
        out.update(matched_pairs(labels, preds))
    if "history" in parts:
        rows = store.history()
        review = [r["time"] for r in rows if r["kind"] == "set-status" and not r.get("undo_of")]
        fixes = [r["time"] for r in rows if r["kind"] not in _NOT_FIXES and not r["kind"].startswith(("undo:", "issue-"))
                 and not r.get("undo_of")]
        out.update(review_times=np.asarray(review, float), fix_times=np.asarray(fixes, float))
    return out


class DashboardController(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.panel = DashboardPanel()
        self.panel.setObjectName("dashboard")
        self.dock = window._dock("Dashboard", self.panel, Qt.DockWidgetArea.BottomDockWidgetArea, "dockDashboard")
        window.docks["dashboard"] = self.dock
        self.dock.hide()  # View > Dashboard; a saved layout may show it again
        self.session = None
        self.dirty: set[str] = set(ALL_PARTS)
        self._in_flight = False
        self.updates = 0  # refreshes applied (tests wait on it)
        self.last_parts: frozenset = frozenset()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self._refresh)
        self.dock.visibilityChanged.connect(lambda visible: visible and self._schedule())
        p = self.panel
        p.kind_filter_requested.connect(self._filter_kind)
        p.class_filter_requested.connect(self._filter_class)
        p.score_threshold_changed.connect(self._filter_score)
        p.box_activated.connect(window.jump_to_box)
        if hasattr(window.queue_panel, "filter_changed"):
            window.queue_panel.filter_changed.connect(
                lambda f: p.set_threshold(getattr(f, "min_score", 0.0) or 0.0))

    # ------------------------------------------------------------------ session
    def attach(self, session) -> None:
        self.session = session
        self.dirty = set(ALL_PARTS)
        self._in_flight = False
        session.queue_changed.connect(lambda: self.mark("issues"))
        session.classes_changed.connect(self._classes)
        session.threshold_changed.connect(lambda _t: self.mark("preds", "pairs"))
        session.rescored.connect(lambda _k: self.mark("preds", "pairs", "issues"))
        session.writer.written.connect(self._written)
        self._classes()
        self._schedule()

    def detach(self) -> None:
        self._timer.stop()
        self.session = None

    def _classes(self) -> None:
        s = self.session
        if s is not None:
            from desktop.ui.session import class_color

            self.panel.set_class_names({c.idx: c.name for c in s.classes()},
                                       {c.idx: class_color(c.idx, c.color) for c in s.classes()})
            self.mark("issues", "labels", "preds")

    def _written(self, edit) -> None:
        parts = ["history"]
        if edit.labels:
            parts += ["labels", "pairs"]
        self.mark(*parts)

    def mark(self, *parts: str) -> None:
        self.dirty.update(parts)
        self._schedule()

    def _schedule(self) -> None:
        if self.session is not None and self.dirty and self.dock.isVisible() and not self._timer.isActive():
            self._timer.start()

    def _refresh(self) -> None:
        s = self.session
        if s is None or not self.dirty:
            return
        if self._in_flight:  # one gather at a time; the rest waits for the next tick
            self._timer.start()
            return
        parts, self.dirty = frozenset(self.dirty), set()
        store, run_id, threshold = s.store, s.run_id, s.threshold
        self._in_flight = True
        s.bg.submit(lambda: gather(store, run_id, threshold, parts),
                    on_done=lambda data: self._apply(s, parts, data), on_error=lambda exc: self._failed(s, exc))

    def _apply(self, session, parts, data: dict) -> None:
        self._in_flight = False
        if session is not self.session:
            return
        self.panel.set_data(**data)
        self.last_parts = parts
        self.updates += 1
        self._schedule()

    def _failed(self, session, exc) -> None:
        self._in_flight = False
        if session is self.session:
            self.window.statusBar().showMessage(f"Dashboard: {exc}", 8000)

    # ------------------------------------------------------------------ clicks -> queue filter
    def _filter_kind(self, kind: str) -> None:
        q = self.window.queue_panel
        if hasattr(q, "set_kinds"):
            current = q.current_filter().kinds
            q.set_kinds([] if current == frozenset({kind}) else [kind])  # a second click shows all again
        elif self.session is not None:
            self.session.set_queue_filter({"kinds": [kind]})

    def _filter_class(self, cls: int) -> None:
        q = self.window.queue_panel
        if hasattr(q, "set_class_filter"):
            q.set_class_filter(None if q.current_filter().cls == cls else cls)
        elif self.session is not None:
            self.session.set_queue_filter({"cls": cls})

    def _filter_score(self, value: float) -> None:
        q = self.window.queue_panel
        if hasattr(q, "set_min_score"):
            q.set_min_score(value)
        elif self.session is not None:
            self.session.set_queue_filter({"min_score": value})
