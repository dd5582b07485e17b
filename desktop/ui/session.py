"""The review session: the one controller every action goes through.

It owns the Store, the QUndoStack (through EditWriter), the current image, the current
issue, the confidence threshold and the visibility toggles. Widgets never change state
themselves: they call a Session method and redraw when a signal says so. After every
committed edit the edited images are re-scored (core.rescoring) and the queue is spliced,
so the window always shows the store's truth.

Step rule for keyboard nudges (spec: "steps scale with zoom so a step is always visible"):
one step = max(1, ceil(1 / zoom)) image pixels, so it is 1 image px at 100 % and above,
and always at least one screen pixel when zoomed out (4 px at 25 %). Shift = 10 steps.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from desktop.core import edits as E
from desktop.core.geometry import iou_matrix, move_edge, nudge
from desktop.core.model import Box, ImageInfo, Issue, IssueKind, IssueStatus, Label, Origin, Prediction, ReviewStatus
from desktop.ui.background import Background
from desktop.ui.undo import EditCommand, EditWriter

THRESHOLD_STEP = 0.05
MATCH_IOU = 0.5


PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c",
           "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000"]


def class_color(idx: int, stored: str = "") -> str:
    return stored or PALETTE[idx % len(PALETTE)]


@dataclass
class Services:
    """What the UI needs from core/detect modules it must not import itself (import-linter
    forbids desktop.ui -> SQL, even indirectly through core.store). desktop/app.py fills
    this in; a None entry means that part is not available (menus say so)."""

    open_store: Callable | None = None  # (path, readonly=False) -> Store
    create_store: Callable | None = None  # (path, dataset_root) -> Store
    read_dataset: Callable | None = None  # (root) -> DatasetRead
    rescore: Callable | None = None  # (store, run_id=None, image_ids=None) -> ...
    prepare_request: Callable | None = None  # (store, model_path, ...) -> DetectionRequest
    runner_factory: Callable | None = None  # (store) -> DetectionRunner
    export: Callable | None = None  # (store, dest, fmt) -> ...
    write_report: Callable | None = None  # (store, path) -> Report (format from the suffix)
    detect_params: Callable | None = None  # (**kw) -> DetectParams
    demo_model: Callable | None = None  # () -> (model path, imgsz) of the bundled demo model
    demo_manifest: Callable | None = None  # (store) -> Path of the demo manifest, or None
    demo_check: Callable | None = None  # (store) -> check_progress dict
    demo_recall: Callable | None = None  # (store) -> queue_recall dict
    train_settings: type | None = None  # detect.crossval.TrainSettings
    crossval: Callable | None = None  # (store, settings, should_stop) -> Iterator[TrainProgress]
    train_final: Callable | None = None  # (store, settings, out=None, should_stop=...) -> Iterator[TrainProgress]
    train_cancelled: tuple = ()  # exception types that mean "the user cancelled training"
    errors: tuple = ()  # exception types whose message is a user-facing sentence


@dataclass(frozen=True)
class Selection:
    kind: str  # "label" | "pred"
    id: int


@dataclass
class ImageContent:
    """What the canvas draws for the current image (already filtered by the threshold)."""

    image: ImageInfo
    labels: list[Label]
    preds: list[Prediction]
    matches: dict[int, int]  # label id -> prediction id (class-agnostic greedy, IoU >= 0.5)
    match_iou: dict[int, float]  # label id -> IoU with its match
    class_colors: dict[int, str]
    class_names: dict[int, str]


def match_pairs(labels: list[Label], preds: list[Prediction]) -> tuple[dict[int, int], dict[int, float]]:
    """Greedy one-to-one matching, by confidence, class-agnostic (a wrong class is still the
    same object; the canvas shows the class disagreement, the finder flags it)."""
    if not labels or not preds:
        return {}, {}
    iou = iou_matrix(np.array([lab.box.as_tuple() for lab in labels]), np.array([p.box.as_tuple() for p in preds]))
    taken = np.zeros(len(labels), bool)
    out, ious = {}, {}
    for j in np.argsort([-p.conf for p in preds], kind="stable"):
        col = np.where(taken, -1.0, iou[:, j])
        i = int(np.argmax(col))
        if col[i] >= MATCH_IOU:
            taken[i] = True
            out[labels[i].id] = preds[j].id
            ious[labels[i].id] = float(col[i])
    return out, ious


def _queue_key(issue: Issue) -> tuple:
    return (-issue.score, issue.id)  # Store.issues' order: score desc, then id


class Session(QObject):
    project_opened = Signal()
    image_changed = Signal(int)  # another image is current
    content_changed = Signal()  # boxes, selection, focus or visibility of the current image changed
    selection_changed = Signal(object)  # Selection | None
    issue_focused = Signal(object)  # Issue | None
    center_on = Signal(object)  # Box the view should centre
    queue_changed = Signal()
    counts_changed = Signal(int, int, int)  # reviewed, images, open issues
    images_changed = Signal()  # the image list itself (project opened, run switched)
    issue_counts_changed = Signal()  # open issues per image changed (session.issue_counts)
    image_status_changed = Signal(int, str)  # image id, ReviewStatus value
    classes_changed = Signal()
    threshold_changed = Signal(float)
    draw_mode_changed = Signal(bool)
    message = Signal(str)
    write_problem = Signal(int, str)  # edits waiting to be written, the reason ("" = all saved)
    detector_state = Signal(str)
    detector_progress = Signal(int, int, float, float)  # done, total, images/s, eta s
    rescored = Signal(str)  # "images" (incremental, while a run streams in) or "full"

    def __init__(self, store, services: Services | None = None, parent=None):
        super().__init__(parent)
        self.store = store
        self.services = services or Services()
        self.undo_stack = QUndoStack(self)
        self.writer = EditWriter(store, parent=self)
        self.writer.written.connect(self._after_write)
        self.writer.pending_changed.connect(self.write_problem)
        self.run_id: int | None = store.active_run()
        self.threshold = 0.25
        self.show_labels = True
        self.show_preds = True
        self.draw_mode = False
        self.pending_class: int | None = None
        self.last_class = 0
        self.last_box_size: tuple[float, float] | None = None
        self.cursor: tuple[float, float] | None = None  # scene position under the mouse
        self.zoom = 1.0  # the view's scale, kept here for the step rule
        self.selection: Selection | None = None
        self.issue: Issue | None = None
        self._queue_pos = 0
        self.queue_filter: dict = {}
        self.content: ImageContent | None = None
        self.runner = None
        self._root = None
        self._rescore_pending: set[int] = set()
        self._rescore_timer = QTimer(self)
        self._rescore_timer.setSingleShot(True)
        self._rescore_timer.setInterval(400)
        self._rescore_timer.timeout.connect(self._rescore_arrived)
        # Re-scoring a whole project takes seconds on a real dataset: it runs in a worker
        # (one thread, jobs in order) and its result is applied here, on the GUI thread.
        self.bg = Background(self)
        self._full_pending = 0  # full re-scores submitted, not yet applied
        self._edited_during_bg: set[int] = set()
        self._load_all()

    def rescore(self, image_ids=None, run_id=None) -> bool:
        """Re-score through the injected core.rescoring.rescore; False when there is none."""
        if self.services.rescore is None:
            return False
        self.services.rescore(self.store, run_id=run_id if run_id is not None else self.run_id, image_ids=image_ids)
        return True

    # ================================================================ loading
    def _load_all(self) -> None:
        self.images = self.store.images()
        self._pos = {im.id: i for i, im in enumerate(self.images)}
        self.issue_counts = self.store.issue_counts()
        self.queue = self.store.issues(status="open", **self._filter_args())
        self._classes = self.store.classes()
        self.image_id: int | None = self.images[0].id if self.images else None
        self._load_content()

    def _filter_args(self) -> dict:
        f = self.queue_filter
        out = {}
        if f.get("kinds"):
            out["kinds"] = list(f["kinds"])
        if f.get("cls") is not None:
            out["cls"] = f["cls"]
        if f.get("min_score") is not None:
            out["min_score"] = float(f["min_score"])
        if f.get("max_score") is not None:
            out["max_score"] = float(f["max_score"])
        return out

    def _load_content(self) -> None:
        if self.image_id is None:
            self.content = None
            return
        img = self.images[self._pos[self.image_id]]
        labels = self.store.labels(img.id)
        preds = self.store.predictions(self.run_id, img.id, self.threshold) if self.run_id else []
        if self.issue and self.issue.image_id == img.id and self.issue.pred_id \
                and all(p.id != self.issue.pred_id for p in preds):
            p = self.store.prediction(self.issue.pred_id)  # the focused issue's box, whatever its confidence
            if p:
                preds.append(p)
        matches, ious = match_pairs(labels, preds)
        self.content = ImageContent(img, labels, preds, matches, ious,
                                    {c.idx: class_color(c.idx, c.color) for c in self._classes}, {c.idx: c.name for c in self._classes})
        if self.selection and self._find(self.selection) is None:
            self.selection = None

    def image_file(self, img: ImageInfo):
        # The dataset root is read once per session: Store.image_path queries it each call.
        if self._root is None:
            self._root = self.store.dataset_root
        return self._root / img.path

    def classes(self):
        return list(self._classes)

    @property
    def image(self) -> ImageInfo | None:
        return self.content.image if self.content else None

    def counts(self) -> tuple[int, int, int]:
        reviewed = self.store.status_counts().get(ReviewStatus.REVIEWED.value, 0)
        return reviewed, len(self.images), sum(self.issue_counts.values())

    def start(self) -> None:
        """Tell every listener the initial state (the window calls this after wiring)."""
        self.project_opened.emit()
        self.images_changed.emit()
        self.classes_changed.emit()
        self.queue_changed.emit()
        self.counts_changed.emit(*self.counts())
        if self.image_id is not None:
            self.image_changed.emit(self.image_id)
        self.content_changed.emit()

    # ================================================================ navigation
    def goto_image(self, image_id: int, keep_issue: bool = False) -> None:
        if image_id not in self._pos:
            return
        changed = image_id != self.image_id
        self.image_id = image_id
        if not keep_issue and self.issue and self.issue.image_id != image_id:
            self.issue = None
            self.issue_focused.emit(None)
        if changed:
            self.selection = None
        self._load_content()
        if changed:
            self.image_changed.emit(image_id)
            self._prioritize()
        self.selection_changed.emit(self.selection)
        self.content_changed.emit()

    def step_image(self, step: int, with_issues: bool = False) -> None:
        if not self.images:
            return
        i = self._pos.get(self.image_id, -1) + step
        while 0 <= i < len(self.images):
            if not with_issues or self.issue_counts.get(self.images[i].id):
                self.goto_image(self.images[i].id)
                return
            i += step
        self.message.emit("No more images with open issues that way" if with_issues else
                          ("Last image" if step > 0 else "First image"))

    def neighbour_ids(self) -> list[int]:
        """Next and previous image ids, for the loader's prefetch."""
        i = self._pos.get(self.image_id, -1)
        return [self.images[j].id for j in (i + 1, i - 1) if 0 <= j < len(self.images) and i >= 0]

    def step_issue(self, step: int) -> None:
        if not self.queue:
            self.message.emit("The queue is empty")
            return
        here = self.issue is not None and self._queue_pos < len(self.queue) \
            and self.queue[self._queue_pos].id == self.issue.id
        if self.issue is None and step > 0 and self._queue_pos < len(self.queue) and not here:
            target = self._queue_pos  # the issue that slid into the place of a fixed one
        else:
            target = self._queue_pos + step
        if not 0 <= target < len(self.queue):
            self.message.emit("End of the queue" if step > 0 else "Start of the queue")
            return
        self.focus_issue(self.queue[target].id)

    def focus_issue(self, issue_id: int) -> None:
        idx = next((i for i, it in enumerate(self.queue) if it.id == issue_id), None)
        issue = self.queue[idx] if idx is not None else self.store.issue(issue_id)
        if issue is None:
            return
        if idx is not None:
            self._queue_pos = idx
        self.issue = issue
        self.goto_image(issue.image_id, keep_issue=True)
        if issue.label_id is not None:
            self.selection = Selection("label", issue.label_id)
        elif issue.pred_id is not None:
            self.selection = Selection("pred", issue.pred_id)
        self._load_content()
        self.issue_focused.emit(issue)
        self.selection_changed.emit(self.selection)
        self.content_changed.emit()
        box = self.issue_box(issue)
        if box is not None:
            self.center_on.emit(box)

    def issue_box(self, issue: Issue) -> Box | None:
        if issue.label_id is not None:
            lab = self._label(issue.label_id)
            if lab:
                return lab.box
        if issue.pred_id is not None:
            p = self.store.prediction(issue.pred_id)
            if p:
                return p.box
        return issue.suggested_box

    def set_queue_filter(self, f) -> None:
        """From the queue panel: a dict or a (kinds, cls, min_score, max_score) tuple."""
        if not isinstance(f, dict):
            kinds, cls, lo, hi = (tuple(f) + (None,) * 4)[:4]
            f = {"kinds": kinds, "cls": cls, "min_score": lo, "max_score": hi}
        self.queue_filter = f
        self.queue = self.store.issues(status="open", **self._filter_args())
        self._queue_pos = 0
        self._relocate_issue()
        self.queue_changed.emit()

    # ================================================================ selection
    def _find(self, sel: Selection):
        if self.content is None:
            return None
        items = self.content.labels if sel.kind == "label" else self.content.preds
        return next((x for x in items if x.id == sel.id), None)

    def _label(self, label_id: int) -> Label | None:
        if self.content:
            for lab in self.content.labels:
                if lab.id == label_id:
                    return lab
        return self.store.label(label_id)

    def selectable(self) -> list[Selection]:
        if self.content is None:
            return []
        out = [Selection("label", lab.id) for lab in self.content.labels] if self.show_labels else []
        if self.show_preds:
            out += [Selection("pred", p.id) for p in self.content.preds]
        return out

    def select(self, sel: Selection | None) -> None:
        self.selection = sel
        self.selection_changed.emit(sel)
        self.content_changed.emit()

    def cycle_selection(self, step: int) -> None:
        items = self.selectable()
        if not items:
            return
        i = items.index(self.selection) if self.selection in items else (-1 if step > 0 else 0)
        self.select(items[(i + step) % len(items)])

    def selected_label(self) -> Label | None:
        if self.selection and self.selection.kind == "label":
            return self._find(self.selection)
        return None

    def box_info(self) -> dict | None:
        """What the inspector shows for the selection."""
        if self.selection is None or self.content is None:
            return None
        obj = self._find(self.selection)
        if obj is None:
            return None
        c = self.content
        name = c.class_names.get(obj.cls, "(not a project class)") if obj.cls is not None else "(not a project class)"
        info = {"kind": "label" if isinstance(obj, Label) else "prediction", "id": obj.id, "cls": obj.cls,
                "class_name": name, "box": obj.box.as_tuple(), "class_names": dict(c.class_names)}
        if isinstance(obj, Label):
            pid = c.matches.get(obj.id)
            pred = next((p for p in c.preds if p.id == pid), None)
            info.update(origin=obj.origin.value, iou=c.match_iou.get(obj.id),
                        confidence=pred.conf if pred else None,
                        match={"kind": "prediction", "id": pid, "class_name": c.class_names.get(pred.cls, "?"),
                               "confidence": pred.conf} if pred else None,
                        history=self.store.history(c.image.id, label_id=obj.id))
        else:
            lid = next((lid for lid, pid in c.matches.items() if pid == obj.id), None)
            lab = next((lab for lab in c.labels if lab.id == lid), None)
            info.update(origin="prediction", confidence=obj.conf,
                        iou=c.match_iou.get(lid) if lid is not None else None,
                        match={"kind": "label", "id": lid, "class_name": c.class_names.get(lab.cls, "?")}
                        if lab else None, history=[])
        return info

    # ================================================================ edits
    def push(self, edit: E.Edit, text: str) -> None:
        if edit.is_empty:
            return
        self.undo_stack.push(EditCommand(self.writer, edit, text))

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def _after_write(self, edit: E.Edit) -> None:
        """A committed edit: re-score the images it touched, then refresh what shows."""
        images = {edit.image_id} if edit.image_id is not None else set()
        images |= {(b or a)["image_id"] for b, a in edit.labels}
        images.discard(None)
        if edit.labels:
            # A few images: milliseconds, done here so the queue is right before the next key.
            self.rescore(image_ids=sorted(images))
            if self.bg.busy():
                self._edited_during_bg |= images  # a worker may have read them before the edit
        if edit.classes:
            self._classes = self.store.classes()
            self.classes_changed.emit()
        if edit.statuses:
            for image_id, _b, after in edit.statuses:
                if image_id in self._pos:
                    i = self._pos[image_id]
                    self.images[i] = self.store.image(image_id)
        self._refresh_issues(images)
        self._load_content()
        for image_id, _b, after in edit.statuses:
            self.image_status_changed.emit(image_id, after)
        self.selection_changed.emit(self.selection)
        self.content_changed.emit()
        self.counts_changed.emit(*self.counts())

    def _refresh_issues(self, image_ids: set[int]) -> None:
        """Splice the re-scored issues of `image_ids` into the queue (no full reload: a
        queue of 100,000 issues stays cheap to update after every key press)."""
        if not image_ids:
            return
        self.issue_counts = self.store.issue_counts()
        kept = [it for it in self.queue if it.image_id not in image_ids]
        fresh = [it for image_id in image_ids for it in self.store.issues(status="open", image_id=image_id,
                                                                            **self._filter_args())]
        for it in fresh:
            bisect.insort(kept, it, key=_queue_key)
        self.queue = kept
        self._relocate_issue()
        self.queue_changed.emit()
        self.issue_counts_changed.emit()

    def _relocate_issue(self) -> None:
        """Find the focused issue again by key (re-scoring gives issues new ids). When it is
        gone (fixed, dismissed), the queue position stays: N then goes to the issue that slid
        into its place."""
        if self.issue is None:
            self._queue_pos = min(self._queue_pos, len(self.queue))
            return
        for i, it in enumerate(self.queue):
            if it.id == self.issue.id or (it.key and it.key == self.issue.key and it.image_id == self.issue.image_id):
                self.issue, self._queue_pos = it, i
                return
        old = _queue_key(self.issue)
        self._queue_pos = bisect.bisect_left(self.queue, old, key=_queue_key)
        self.issue = None
        self.issue_focused.emit(None)

    def _label_row(self, label_id: int) -> dict | None:
        rows = self.store.label_rows([label_id])
        return rows[0] if rows else None

    def _open_issue_ids(self, pred: bool = False, **match) -> tuple[int, ...]:
        """Open issues of the current image whose fields equal `match` (label_id=..)."""
        out = []
        for it in self.store.issues(status="open", image_id=self.image_id):
            if all(getattr(it, k) == v for k, v in match.items()):
                out.append(it.id)
        return tuple(out)

    # ---------------------------------------------------------------- review keys
    def accept_or_drop(self) -> None:
        if self.draw_mode:
            self.drop_box_at_cursor()
        else:
            self.accept_issue()

    def dismiss_or_cancel(self) -> None:
        if self.draw_mode:
            self.toggle_draw_mode()
        else:
            self.dismiss_issue()

    def accept_issue(self) -> None:
        issue = self.issue
        if issue is None:
            self.message.emit("No issue in focus: N goes to the next one")
            return
        edit, text = self._fix_for(issue)
        if edit is None:
            self.message.emit(text)
            return
        self.push(edit, text)
        self._advance_after(issue)

    def _fix_for(self, issue: Issue) -> tuple[E.Edit | None, str]:
        kind, fix = issue.kind, (issue.id,)
        row = self._label_row(issue.label_id) if issue.label_id is not None else None
        needs_label = kind in (IssueKind.LOCALIZATION, IssueKind.CLASS, IssueKind.SPURIOUS, IssueKind.DUPLICATE,
                               IssueKind.DEGENERATE)
        if needs_label and row is None:
            return None, "The issue's label no longer exists"
        if kind == IssueKind.MISSING:
            pred = self.store.prediction(issue.pred_id) if issue.pred_id is not None else None
            box = pred.box if pred else issue.suggested_box
            cls = pred.cls if pred and pred.cls is not None else issue.suggested_cls
            if box is None or cls is None:
                return None, "This prediction's class is not a project class: draw the box with a class key"
            return E.add_box(self.store.next_label_id(), issue.image_id, box, cls, Origin.ACCEPTED, resolves=fix), \
                "Accept missing box"
        if kind == IssueKind.LOCALIZATION:
            box = issue.suggested_box
            if box is None and issue.pred_id is not None:
                p = self.store.prediction(issue.pred_id)
                box = p.box if p else None
            if box is None:
                return None, "The issue has no suggested box"
            return E.set_geometry(row, box, kind="snap", resolves=fix), "Snap to prediction"
        if kind == IssueKind.CLASS:
            if issue.suggested_cls is None:
                return None, "The issue has no suggested class"
            return E.set_class([row], issue.suggested_cls, resolves=fix), "Take predicted class"
        if kind == IssueKind.SPURIOUS:
            return E.delete_labels([row], resolves=fix), "Delete spurious label"
        if kind == IssueKind.DUPLICATE:
            # core.issues.duplicate_issues puts the issue on the newer label of the pair
            # (label_id, "the one to delete"); label2_id is the label it duplicates. Labels
            # carry no confidence, so "the lower-confidence duplicate" is that newer one.
            return E.delete_labels([row], resolves=fix), "Delete duplicate label"
        if kind == IssueKind.DEGENERATE:
            if issue.suggested_box is not None:  # poking out of the image: clip it
                return E.set_geometry(row, issue.suggested_box, kind="clip", resolves=fix), "Clip box to image"
            return E.delete_labels([row], resolves=fix), "Delete degenerate label"
        if kind == IssueKind.UNLABELED_IMAGE:
            return self._accept_unmatched_edit(extra_resolves=fix)
        return None, f"No suggested fix for {kind.value}"

    def _advance_after(self, issue: Issue) -> None:
        # Written synchronously unless the disk refused; the refresh already re-located the
        # queue position, so N semantics give the next issue in line.
        if self.issue is None or self.issue.id == issue.id or self.issue.key == issue.key:
            self.issue = None
            self.step_issue(1)

    def dismiss_issue(self) -> None:
        issue = self.issue
        if issue is None:
            self.message.emit("No issue in focus: N goes to the next one")
            return
        self.push(E.set_issue_status(issue.id, issue.image_id, IssueStatus.OPEN, IssueStatus.DISMISSED),
                  f"Dismiss {issue.kind.value}")
        # A dismissal touches no label, so nothing re-scores: drop it from the queue here.
        self._refresh_issues({issue.image_id})
        self._advance_after(issue)

    def mark_reviewed_next(self) -> None:
        img = self.image
        if img is None:
            return
        if img.status != ReviewStatus.REVIEWED:
            self.push(E.set_status(img.id, img.status, ReviewStatus.REVIEWED), "Mark reviewed")
        self.step_image(1)

    def _accept_unmatched_edit(self, extra_resolves: tuple[int, ...] = ()) -> tuple[E.Edit | None, str]:
        c = self.content
        if c is None:
            return None, "No image"
        matched = set(c.matches.values())
        todo = [p for p in c.preds if p.id not in matched and p.conf >= self.threshold]
        usable = [p for p in todo if p.cls is not None]
        if not usable:
            return None, "No unmatched prediction above the threshold" if not todo else \
                "The unmatched predictions have no project class"
        next_id = self.store.next_label_id()
        rows = []
        for k, p in enumerate(usable):
            e = E.add_box(next_id + k, c.image.id, p.box, p.cls, Origin.ACCEPTED)
            rows.append(e.labels[0][1])
        pred_ids = {p.id for p in usable}
        resolves = tuple(it.id for it in self.store.issues(status="open", image_id=c.image.id)
                         if it.kind == IssueKind.MISSING and it.pred_id in pred_ids) + tuple(extra_resolves)
        return E.add_boxes(rows, c.image.id, resolves=tuple(dict.fromkeys(resolves))), \
            f"Accept {len(rows)} predictions"

    def accept_all_unmatched(self) -> None:
        edit, text = self._accept_unmatched_edit()
        if edit is None:
            self.message.emit(text)
            return
        self.push(edit, text)
        self.message.emit(text)

    # ---------------------------------------------------------------- box edits
    def step_px(self) -> float:
        return float(max(1, math.ceil(1.0 / max(self.zoom, 1e-6) - 1e-9)))

    def _need_label(self) -> Label | None:
        lab = self.selected_label()
        if lab is None:
            self.message.emit("Select a label first (Tab, or click it)")
        return lab

    def move_selected(self, dx: int, dy: int) -> None:
        lab = self._need_label()
        if lab:
            s = self.step_px()
            self._set_box(lab, Box(*nudge(lab.box.as_tuple(), dx * s, dy * s)), "nudge", merge=True)

    def resize_selected(self, edge: str, sign: int) -> None:
        lab = self._need_label()
        if lab:
            self._set_box(lab, Box(*move_edge(lab.box.as_tuple(), edge, sign * self.step_px())), "resize", merge=True)

    def set_label_box(self, label_id: int, box: Box) -> None:
        """From the mouse: a finished move or handle drag (one undo step)."""
        lab = self._label(label_id)
        if lab and box != lab.box:
            self._set_box(lab, box, "drag", merge=False)

    def _set_box(self, lab: Label, box: Box, kind: str, merge: bool, resolves=()) -> None:
        row = self._label_row(lab.id)
        if row is None:
            return
        self.push(E.set_geometry(row, box, kind=kind, merge=merge, resolves=tuple(resolves)),
                  {"nudge": "Move box", "resize": "Resize box"}.get(kind, kind.capitalize()))

    def snap_selected(self) -> None:
        lab = self._need_label()
        if not lab or not self.content:
            return
        preds = self.content.preds
        if not preds:
            self.message.emit("No prediction to snap to")
            return
        iou = iou_matrix(np.array([lab.box.as_tuple()]), np.array([p.box.as_tuple() for p in preds]))[0]
        j = int(np.argmax(iou))
        if iou[j] <= 0:
            self.message.emit("No prediction overlaps this label")
            return
        fix = self._open_issue_ids(label_id=lab.id, kind=IssueKind.LOCALIZATION)
        self._set_box(lab, preds[j].box, "snap", merge=False, resolves=fix)

    def class_key(self, n: int) -> None:
        idx = n - 1
        names = {c.idx: c.name for c in self._classes}
        if idx not in names:
            self.message.emit(f"No class {n}: the project has {len(names)} classes")
            return
        lab = self.selected_label()
        if lab is None:
            self.pending_class = idx
            self.message.emit(f"Next box drawn: {names[idx]}")
            return
        row = self._label_row(lab.id)
        fix = tuple(it.id for it in self.store.issues(status="open", image_id=self.image_id)
                    if it.kind == IssueKind.CLASS and it.label_id == lab.id and it.suggested_cls == idx)
        self.last_class = idx
        self.push(E.set_class([row], idx, resolves=fix), f"Class {names[idx]}")

    def delete_selected(self) -> None:
        lab = self._need_label()
        if not lab:
            return
        row = self._label_row(lab.id)
        fix = tuple(it.id for it in self.store.issues(status="open", image_id=self.image_id)
                    if it.label_id == lab.id and it.kind in (IssueKind.SPURIOUS, IssueKind.DUPLICATE,
                                                             IssueKind.DEGENERATE))
        self.selection = None
        self.push(E.delete_labels([row], resolves=fix), "Delete label")

    # ---------------------------------------------------------------- drawing
    def toggle_draw_mode(self) -> None:
        self.draw_mode = not self.draw_mode
        self.draw_mode_changed.emit(self.draw_mode)
        self.message.emit("Draw mode: drag a box, or Enter drops one at the cursor; Esc leaves"
                          if self.draw_mode else "Draw mode off")

    def add_drawn_box(self, box: Box) -> int | None:
        """A new label from the mouse or from W+Enter. Returns its id."""
        if self.image is None:
            return None
        x0, x1 = sorted((box.x0, box.x1))
        y0, y1 = sorted((box.y0, box.y1))
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None
        box = Box(x0, y0, x1, y1)
        cls = self.pending_class if self.pending_class is not None else self.last_class
        if cls not in {c.idx for c in self._classes}:
            if not self._classes:
                self.message.emit("The project has no classes: add one in the classes panel")
                return None
            cls = self._classes[0].idx
        self.pending_class = None
        self.last_class = cls
        self.last_box_size = (x1 - x0, y1 - y0)
        # A drawn box that covers a missing-object prediction fixes that issue.
        fix = []
        for it in self.store.issues(status="open", image_id=self.image.id):
            if it.kind == IssueKind.MISSING and it.suggested_box is not None:
                if iou_matrix(np.array([box.as_tuple()]), np.array([it.suggested_box.as_tuple()]))[0, 0] >= MATCH_IOU:
                    fix.append(it.id)
        label_id = self.store.next_label_id()
        self.selection = Selection("label", label_id)
        self.push(E.add_box(label_id, self.image.id, box, cls, Origin.ADDED, resolves=tuple(fix)), "Draw box")
        return label_id

    def drop_box_at_cursor(self) -> None:
        img = self.image
        if img is None:
            return
        w, h = self.last_box_size or (max(8.0, img.width / 8), max(8.0, img.height / 8))
        cx, cy = self.cursor or (img.width / 2, img.height / 2)
        x0 = min(max(cx - w / 2, 0.0), max(img.width - w, 0.0))
        y0 = min(max(cy - h / 2, 0.0), max(img.height - h, 0.0))
        self.add_drawn_box(Box(round(x0), round(y0), round(x0) + w, round(y0) + h))

    # ---------------------------------------------------------------- view state
    def toggle_predictions(self) -> None:
        self.show_preds = not self.show_preds
        self.content_changed.emit()

    def toggle_labels(self) -> None:
        self.show_labels = not self.show_labels
        self.content_changed.emit()

    def hide_boxes(self) -> None:
        both_hidden = not self.show_labels and not self.show_preds
        self.show_labels = self.show_preds = both_hidden
        self.content_changed.emit()

    def set_threshold(self, value: float) -> None:
        self.threshold = round(min(1.0, max(0.0, value)), 2)
        self._load_content()  # re-filter stored predictions only; nothing is re-run or re-scored
        self.threshold_changed.emit(self.threshold)
        self.content_changed.emit()

    def step_threshold(self, sign: int) -> None:
        self.set_threshold(self.threshold + sign * THRESHOLD_STEP)
        self.message.emit(f"Confidence threshold {self.threshold:.2f}")

    # ---------------------------------------------------------------- classes panel
    def add_class(self, name: str) -> None:
        idx = self.store.next_class_idx()
        self.push(E.add_class(idx, name, class_color(idx)), f"Add class {name}")

    def rename_class(self, idx: int, name: str) -> None:
        self.push(E.rename_class(self.store.class_row(idx), name), f"Rename class to {name}")

    def set_class_color(self, idx: int, color: str) -> None:
        self.push(E.set_class_color(self.store.class_row(idx), color), "Class colour")

    def merge_classes(self, src: int, dst: int) -> None:
        if src == dst:
            return
        self.push(E.merge_classes(self.store.class_row(src), dst, self.store.label_rows_of_class(src)),
                  "Merge classes")

    # ================================================================ detector
    def attach_runner(self, runner) -> None:
        self.runner = runner
        runner.image_done.connect(self._image_predicted)
        runner.progress.connect(self._runner_progress)
        runner.finished.connect(self._runner_finished)
        runner.failed.connect(lambda run_id, msg: self.message.emit(f"Model run failed: {msg}"))
        runner.state_changed.connect(self.detector_state)

    def start_run(self, request) -> None:
        if self.runner is None:
            raise RuntimeError("no detection runner")
        run_id = getattr(request, "run_id", None)
        if run_id is not None:
            self.run_id = run_id
        self.runner.start(request)
        self._prioritize()

    def _prioritize(self) -> None:
        """The image on screen is always predicted first, then its neighbours."""
        if self.runner is not None and self.image_id is not None:
            try:
                self.runner.prioritize([self.image_id] + self.neighbour_ids())
            except Exception:  # a finished runner has nothing to prioritise
                pass

    def _image_predicted(self, run_id: int, image_id: int, n: int) -> None:
        if run_id != self.run_id:
            return  # a stale run
        self._rescore_pending.add(image_id)
        if not self._rescore_timer.isActive():
            self._rescore_timer.start()
        if image_id == self.image_id:
            self._load_content()
            self.content_changed.emit()

    def _rescore_arrived(self) -> None:
        """Predictions arrived for some images: re-score only those, in the worker."""
        ids, self._rescore_pending = self._rescore_pending, set()
        if not ids or self.services.rescore is None:
            return
        fn, store, run_id = self.services.rescore, self.store, self.run_id
        self.bg.submit(lambda: fn(store, run_id=run_id, image_ids=sorted(ids)),
                       on_done=lambda _r: self._arrived_rescored(ids, run_id),
                       on_error=lambda exc: self.message.emit(f"Re-scoring failed: {exc}"))

    def _rescore_edited_again(self) -> set[int]:
        """Images edited while a worker re-scored from an older snapshot: score them again
        (synchronously: a few images) once the worker is idle."""
        if self.bg.busy() or not self._edited_during_bg:
            return set()
        ids, self._edited_during_bg = self._edited_during_bg, set()
        self.rescore(image_ids=sorted(ids))
        return ids

    def _arrived_rescored(self, ids: set[int], run_id) -> None:
        if run_id != self.run_id:
            return
        ids = set(ids) | self._rescore_edited_again()
        self._refresh_issues(ids)
        self.counts_changed.emit(*self.counts())
        self.rescored.emit("images")

    def rescore_all(self, run_id=None) -> bool:
        """Full re-score (learns the model calibration) in the worker; the queue reloads when
        it is done. False when no re-scorer is available."""
        if self.services.rescore is None:
            return False
        fn, store = self.services.rescore, self.store
        run_id = run_id if run_id is not None else self.run_id
        self._full_pending += 1
        self.message.emit("Re-scoring all images…")
        self.bg.submit(lambda: fn(store, run_id=run_id), on_done=lambda r: self._full_rescored(run_id, r),
                       on_error=self._full_failed)
        return True

    def _full_failed(self, exc) -> None:
        self._full_pending -= 1
        self.message.emit(f"Re-scoring failed: {exc}")

    def _full_rescored(self, run_id, summary) -> None:
        self._full_pending -= 1
        self._rescore_edited_again()
        self._load_all_issues()
        n = summary.get("stored_open", summary.get("issues")) if isinstance(summary, dict) else None
        self.message.emit("Issues re-scored" + (f": {n} open" if n is not None else ""))
        self.rescored.emit("full")

    def busy(self) -> bool:
        """A re-score (or another background job) is still running or waiting to be applied."""
        return self.bg.busy() or self._rescore_timer.isActive() or bool(self._rescore_pending)

    def _runner_progress(self, p) -> None:
        try:
            run_id, done, total, ips, eta = p
        except (TypeError, ValueError):
            run_id, done, total, ips, eta = (getattr(p, k, 0) for k in ("run_id", "done", "total", "images_per_s",
                                                                        "eta_s"))
        self.detector_progress.emit(int(done), int(total), float(ips or 0), float(eta or 0))

    def _runner_finished(self, run_id: int) -> None:
        self._rescore_timer.stop()
        self._rescore_pending.clear()
        self._load_content()
        self.content_changed.emit()
        self.message.emit("Model run finished")
        if run_id == self.run_id:
            self.rescore_all(run_id)  # the calibration is learnt on the whole run, once

    def set_run(self, run_id: int, rescore: bool = False) -> None:
        self.store.set_active_run(run_id)
        self.run_id = run_id
        self._load_all_issues()
        if rescore:
            self.rescore_all(run_id)

    def _load_all_issues(self) -> None:
        self.issue_counts = self.store.issue_counts()
        self.queue = self.store.issues(status="open", **self._filter_args())
        self._relocate_issue()
        self._load_content()
        self.queue_changed.emit()
        self.issue_counts_changed.emit()
        self.counts_changed.emit(*self.counts())
        self.content_changed.emit()

    def close(self) -> str | None:
        """Stop the runner, flush the writer. Returns the recovery file's path if edits could
        not be written (the window tells the user where they are)."""
        if self.runner is not None:
            try:
                self.runner.cancel()
            except Exception:
                pass
        self._rescore_timer.stop()
        self.bg.wait_idle()  # no job may outlive the store
        self.bg.discard()
        path = self.writer.rescue()
        return str(path) if path else None
