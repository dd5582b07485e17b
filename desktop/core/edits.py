"""Reversible edits. Every change a user makes is one `Edit`: a list of (before, after) row
states. Applying the inverse (before and after swapped) undoes it exactly, so undo/redo and
the history table share one mechanism (glue's command objects, QUndoCommand in the UI).

Row states are plain dicts so they go into the history table as JSON unchanged:
- label: {id, image_id, x0, y0, x1, y1, cls, iscrowd, origin, source_id, original_id}
- class: {idx, name, color, source_id}
- image status: (image_id, before, after)
- issue status: (issue_id, before, after)
A None `before` means "insert", a None `after` means "delete".
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .model import Box, IssueStatus, Label, Origin, ReviewStatus

LabelRow = dict


@dataclass(frozen=True)
class Edit:
    kind: str
    image_id: int | None = None
    labels: tuple[tuple[LabelRow | None, LabelRow | None], ...] = ()
    classes: tuple[tuple[dict | None, dict | None], ...] = ()
    statuses: tuple[tuple[int, str, str], ...] = ()
    issues: tuple[tuple[int, str, str], ...] = ()
    # Merge key for QUndoCommand.mergeWith: consecutive edits with equal non-empty keys
    # (a run of nudges on one box) fold into one undo step.
    merge_key: str = field(default="", compare=False)

    def inverse(self) -> "Edit":
        return Edit(
            kind=f"undo:{self.kind}" if not self.kind.startswith("undo:") else self.kind[5:],
            image_id=self.image_id,
            labels=tuple((a, b) for b, a in reversed(self.labels)),
            classes=tuple((a, b) for b, a in reversed(self.classes)),
            statuses=tuple((i, a, b) for i, b, a in reversed(self.statuses)),
            issues=tuple((i, a, b) for i, b, a in reversed(self.issues)),
        )

    def merged_with(self, later: "Edit") -> "Edit":
        """This edit followed by `later` as one edit (for nudge runs on the same labels)."""
        first_before = {b["id"] if b else a["id"]: b for b, a in self.labels}
        last_after = {b["id"] if b else a["id"]: a for b, a in later.labels}
        merged = []
        for lid, before in first_before.items():
            merged.append((before, last_after.get(lid, dict(self.labels_after()[lid]))))
        return replace(self, labels=tuple(merged), issues=self.issues + later.issues)

    def labels_after(self) -> dict[int, LabelRow | None]:
        return {(b or a)["id"]: a for b, a in self.labels}

    @property
    def is_empty(self) -> bool:
        return not (self.labels or self.classes or self.statuses or self.issues)


def label_row(label: Label) -> LabelRow:
    return {
        "id": label.id,
        "image_id": label.image_id,
        "x0": float(label.box.x0),
        "y0": float(label.box.y0),
        "x1": float(label.box.x1),
        "y1": float(label.box.y1),
        "cls": int(label.cls),
        "iscrowd": bool(label.iscrowd),
        "origin": Origin(label.origin).value,
        "source_id": label.source_id,
        "original_id": getattr(label, "original_id", None),
    }


def _edited_origin(row: LabelRow) -> str:
    # An imported box that changes becomes 'edited'; added/accepted boxes keep their origin.
    return Origin.EDITED.value if row["origin"] == Origin.IMPORTED.value else row["origin"]


def add_box(label_id: int, image_id: int, box: Box, cls: int, origin: Origin = Origin.ADDED,
            resolves: tuple[int, ...] = ()) -> Edit:
    row = {
        "id": label_id, "image_id": image_id, "x0": float(box.x0), "y0": float(box.y0),
        "x1": float(box.x1), "y1": float(box.y1), "cls": int(cls), "iscrowd": False,
        "origin": Origin(origin).value, "source_id": None, "original_id": None,
    }
    kind = "accept-prediction" if origin == Origin.ACCEPTED else "add-box"
    return Edit(kind, image_id, labels=((None, row),), issues=_fix(resolves))


def add_boxes(rows: list[LabelRow], image_id: int, resolves: tuple[int, ...] = ()) -> Edit:
    return Edit("accept-predictions", image_id, labels=tuple((None, r) for r in rows), issues=_fix(resolves))


def delete_labels(rows: list[LabelRow], resolves: tuple[int, ...] = ()) -> Edit:
    image_id = rows[0]["image_id"] if rows else None
    return Edit("delete", image_id, labels=tuple((r, None) for r in rows), issues=_fix(resolves))


def set_geometry(row: LabelRow, box: Box, kind: str = "set-geometry", resolves: tuple[int, ...] = (),
                 merge: bool = False) -> Edit:
    after = dict(row, x0=float(box.x0), y0=float(box.y0), x1=float(box.x1), y1=float(box.y1),
                 origin=_edited_origin(row))
    return Edit(kind, row["image_id"], labels=((row, after),), issues=_fix(resolves),
                merge_key=f"geom:{row['id']}" if merge else "")


def set_class(rows: list[LabelRow], cls: int, resolves: tuple[int, ...] = ()) -> Edit:
    changes = tuple((r, dict(r, cls=int(cls), origin=_edited_origin(r))) for r in rows if r["cls"] != cls)
    image_id = rows[0]["image_id"] if rows else None
    return Edit("set-class", image_id, labels=changes, issues=_fix(resolves))


def set_status(image_id: int, before: ReviewStatus, after: ReviewStatus) -> Edit:
    return Edit("set-status", image_id, statuses=((image_id, ReviewStatus(before).value, ReviewStatus(after).value),))


def set_issue_status(issue_id: int, image_id: int, before: IssueStatus, after: IssueStatus) -> Edit:
    return Edit(f"issue-{IssueStatus(after).value}", image_id,
                issues=((issue_id, IssueStatus(before).value, IssueStatus(after).value),))


def add_class(idx: int, name: str, color: str = "") -> Edit:
    return Edit("add-class", classes=((None, {"idx": idx, "name": name, "color": color, "source_id": None}),))


def rename_class(cls_row: dict, name: str) -> Edit:
    return Edit("rename-class", classes=((cls_row, dict(cls_row, name=name)),))


def set_class_color(cls_row: dict, color: str) -> Edit:
    return Edit("class-color", classes=((cls_row, dict(cls_row, color=color)),))


def merge_classes(source: dict, target_idx: int, rows: list[LabelRow]) -> Edit:
    """Re-label every box of class `source` as `target_idx`, then remove `source`."""
    relabel = tuple((r, dict(r, cls=int(target_idx), origin=_edited_origin(r))) for r in rows)
    return Edit("merge-classes", labels=relabel, classes=((source, None),))


def _fix(issue_ids: tuple[int, ...]) -> tuple[tuple[int, str, str], ...]:
    return tuple((i, IssueStatus.OPEN.value, IssueStatus.FIXED.value) for i in issue_ids)
