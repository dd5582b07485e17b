"""The correction report's figures: current labels compared with the labels as imported.

Every current label carries `original_id`, the original_labels row it started as (NULL for a
box added in BoxFix). Original rows are never modified, so one pass over both tables tells
what changed, whatever edits, undos and redos happened in between:

- added:         a current label with no original_id;
- deleted:       an original row no current label points to;
- moved/resized: a pair whose coordinates differ by more than MOVE_TOLERANCE_PX on any side
                 (smaller differences are float round-trips of formats, not edits);
- class changed: a pair whose class differs.

A box can be both moved and class-changed. An image is "changed" when it has at least one
change of any kind. See docs/report.md for every figure.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import queries

MOVE_TOLERANCE_PX = 0.5
# A gap longer than this between two consecutive edits counts as this long: the labeler was
# away (lunch, a meeting), not working. Five minutes is generous for one review decision.
IDLE_CAP_S = 300.0

CHANGE_KINDS = ("added", "deleted", "moved", "class_changed")


@dataclass
class ImageChange:
    """What changed on one image. Ids are current label ids, except `deleted` (original ids)."""

    image_id: int
    path: str
    added: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    class_changed: list[int] = field(default_factory=list)
    # (original class, current class) for each class-changed box, in class_changed order.
    relabels: list[tuple[int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.deleted) + len(self.moved) + len(self.class_changed)


@dataclass
class ClassFigures:
    idx: int
    name: str
    color: str
    original: int = 0  # boxes of this class as imported
    current: int = 0  # boxes of this class now
    added: int = 0  # added boxes now of this class
    deleted: int = 0  # deleted boxes that were of this class
    moved: int = 0  # moved/resized boxes, by current class
    relabelled_from: int = 0  # boxes that were this class and now are another
    relabelled_to: int = 0  # boxes that are this class now and were another


@dataclass
class Report:
    project: str
    project_path: str
    dataset_root: str
    generated: float
    images: int
    labels_original: int
    labels_current: int
    # Images with at least one change of each kind, and with any change.
    images_changed: int
    images_with: dict[str, int]
    # Boxes per kind of change.
    boxes: dict[str, int]
    per_class: list[ClassFigures]
    # "from->to" class names -> count of boxes relabelled that way.
    relabels: dict[str, int]
    # Issues: found = every issue row (open + fixed + dismissed); by_kind[kind][status].
    issues: dict[str, int]
    issues_by_kind: dict[str, dict[str, int]]
    # Review coverage: images per review status, coverage = reviewed / images.
    review: dict[str, int]
    review_coverage: float
    changed_reviewed: int  # changed images that are also marked reviewed
    # Time: edits in history, their kinds, active time (capped gaps), first and last edit.
    edits: int
    edits_by_kind: dict[str, int]
    active_seconds: float
    idle_cap_seconds: float
    first_edit: float | None
    last_edit: float | None
    changes: list[ImageChange]

    def share(self, n: int) -> float:
        return n / self.images if self.images else 0.0

    @property
    def share_changed(self) -> float:
        return self.share(self.images_changed)

    @property
    def shares(self) -> dict[str, float]:
        return {k: self.share(v) for k, v in self.images_with.items()}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["share_changed"] = self.share_changed
        d["shares"] = self.shares
        for c, ch in zip(d["changes"], self.changes):
            c["relabels"] = [list(p) for p in ch.relabels]
        d["format"] = "boxfix-correction-report/1"
        return d


def active_seconds(times: np.ndarray, cap: float = IDLE_CAP_S) -> float:
    """Sum of gaps between consecutive edits, each capped at `cap` seconds. One edit alone
    counts as zero: the report only knows when decisions were saved, not when work began."""
    if len(times) < 2:
        return 0.0
    gaps = np.diff(np.sort(np.asarray(times, dtype=np.float64)))
    return float(np.minimum(gaps, cap).sum())


def build_report(store) -> Report:
    """Compute every figure of the correction report from an open Store (read-only use)."""
    orig = queries.original_label_columns(store)
    cur = queries.current_label_columns(store)
    paths = queries.image_paths(store)
    classes = {c.idx: c for c in store.classes()}

    # Pair each current label with its original row (vectorised join on sorted original ids).
    has_orig = cur["original_id"] >= 0
    pos = np.searchsorted(orig["id"], cur["original_id"])
    pos = np.clip(pos, 0, max(len(orig["id"]) - 1, 0))
    # An original_id pointing at no original row (should not happen) counts as an added box.
    if len(orig["id"]):
        has_orig &= orig["id"][pos] == cur["original_id"]
    else:
        has_orig[:] = False
    added = ~has_orig
    p = pos[has_orig]
    diff = np.abs(cur["boxes"][has_orig] - orig["boxes"][p]).max(axis=1) if p.size else np.zeros(0)
    moved = np.zeros(len(added), bool)
    moved[has_orig] = diff > MOVE_TOLERANCE_PX
    relabel = np.zeros(len(added), bool)
    relabel[has_orig] = cur["cls"][has_orig] != orig["cls"][p]
    orig_cls_of_cur = np.full(len(added), -1, np.int64)
    orig_cls_of_cur[has_orig] = orig["cls"][p]
    kept = np.zeros(len(orig["id"]), bool)
    kept[p] = True
    deleted = ~kept

    changes: dict[int, ImageChange] = {}

    def change(image_id: int) -> ImageChange:
        ch = changes.get(image_id)
        if ch is None:
            ch = changes[image_id] = ImageChange(image_id, paths.get(image_id, ""))
        return ch

    for i in np.flatnonzero(added):
        change(int(cur["image_id"][i])).added.append(int(cur["id"][i]))
    for i in np.flatnonzero(deleted):
        change(int(orig["image_id"][i])).deleted.append(int(orig["id"][i]))
    for i in np.flatnonzero(moved):
        change(int(cur["image_id"][i])).moved.append(int(cur["id"][i]))
    for i in np.flatnonzero(relabel):
        ch = change(int(cur["image_id"][i]))
        ch.class_changed.append(int(cur["id"][i]))
        ch.relabels.append((int(orig_cls_of_cur[i]), int(cur["cls"][i])))

    def images_with(mask: np.ndarray, image_ids: np.ndarray) -> int:
        return int(np.unique(image_ids[mask]).size)

    per_kind_images = {
        "added": images_with(added, cur["image_id"]),
        "deleted": images_with(deleted, orig["image_id"]),
        "moved": images_with(moved, cur["image_id"]),
        "class_changed": images_with(relabel, cur["image_id"]),
    }
    boxes = {"added": int(added.sum()), "deleted": int(deleted.sum()), "moved": int(moved.sum()),
             "class_changed": int(relabel.sum())}

    def name(idx: int) -> str:
        c = classes.get(idx)
        return c.name if c else f"class {idx} (removed)"

    every_class = sorted(set(classes) | set(orig["cls"].tolist()) | set(cur["cls"].tolist()))
    size = (max(every_class) + 1) if every_class else 0

    def per(cls: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        # Counts per class index in one pass (bincount), not one comparison per class.
        return np.bincount(cls if mask is None else cls[mask], minlength=size)

    n_orig, n_cur = per(orig["cls"]), per(cur["cls"])
    n_add, n_del, n_mov = per(cur["cls"], added), per(orig["cls"], deleted), per(cur["cls"], moved)
    n_from, n_to = per(orig_cls_of_cur, relabel), per(cur["cls"], relabel)
    per_class = [ClassFigures(idx=i, name=name(i), color=classes[i].color if i in classes else "#808080",
                              original=int(n_orig[i]), current=int(n_cur[i]), added=int(n_add[i]),
                              deleted=int(n_del[i]), moved=int(n_mov[i]), relabelled_from=int(n_from[i]),
                              relabelled_to=int(n_to[i]))
                 for i in every_class]
    relabels: dict[str, int] = {}
    if relabel.any():
        pairs, counts = np.unique(np.stack([orig_cls_of_cur[relabel], cur["cls"][relabel]], 1), axis=0,
                                  return_counts=True)
        for (a, b), n in zip(pairs.tolist(), counts.tolist()):
            relabels[f"{name(a)} -> {name(b)}"] = int(n)

    by_kind = queries.issue_counts_by_kind_and_status(store)
    issue_totals = {"open": 0, "fixed": 0, "dismissed": 0}
    for statuses in by_kind.values():
        for status, n in statuses.items():
            issue_totals[status] = issue_totals.get(status, 0) + n
    issue_totals["found"] = sum(issue_totals.values())

    n_images = store.image_count()
    status = {"reviewed": 0, "skipped": 0, "unreviewed": 0}
    status.update(store.status_counts())
    reviewed_ids = queries.reviewed_image_ids(store) if changes else set()

    times, kinds = queries.history_times(store)
    edits_by_kind: dict[str, int] = {}
    for k in kinds:
        edits_by_kind[k] = edits_by_kind.get(k, 0) + 1

    return Report(
        project=store.name, project_path=os.fspath(store.path), dataset_root=os.fspath(store.dataset_root),
        generated=time.time(), images=n_images, labels_original=int(len(orig["id"])),
        labels_current=int(len(cur["id"])), images_changed=len(changes), images_with=per_kind_images,
        boxes=boxes, per_class=per_class, relabels=relabels, issues=issue_totals, issues_by_kind=by_kind,
        review=status, review_coverage=(status["reviewed"] / n_images) if n_images else 0.0,
        changed_reviewed=len(reviewed_ids & set(changes)), edits=len(times), edits_by_kind=edits_by_kind,
        active_seconds=active_seconds(times), idle_cap_seconds=IDLE_CAP_S,
        first_edit=float(times.min()) if len(times) else None, last_edit=float(times.max()) if len(times) else None,
        changes=sorted(changes.values(), key=lambda c: (-c.total, c.path)),
    )
