"""Plain, Qt-free records that flow between the readers, the store, the finder and the UI.

Coordinate convention (used everywhere in BoxFix): a box is absolute image pixels, xyxy
(x0, y0) top-left and (x1, y1) bottom-right, floats, in the EXIF-rotated frame of the
image (what a viewer shows). Conversions to and from YOLO / COCO / VOC live in core.formats.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Split(str, Enum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"
    NONE = "none"


class ReviewStatus(str, Enum):
    UNREVIEWED = "unreviewed"
    REVIEWED = "reviewed"
    SKIPPED = "skipped"


class Origin(str, Enum):
    """Where a current label came from; 'edited' means an imported box changed since."""

    IMPORTED = "imported"
    ADDED = "added"
    EDITED = "edited"
    ACCEPTED = "accepted-prediction"


class IssueKind(str, Enum):
    MISSING = "missing"
    SPURIOUS = "spurious"
    LOCALIZATION = "localization"
    CLASS = "class"
    DUPLICATE = "duplicate"
    DEGENERATE = "degenerate"
    UNLABELED_IMAGE = "unlabeled-image"


class IssueStatus(str, Enum):
    OPEN = "open"
    FIXED = "fixed"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Box:
    """Absolute pixels, xyxy, EXIF-rotated frame. Not normalised, may be degenerate."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(frozen=True)
class ClassInfo:
    """A project class. `idx` is the 0-based index boxes refer to; `source_id` is the id the
    class had in the imported file (a COCO category id), written back on export."""

    idx: int
    name: str
    color: str = ""
    source_id: int | None = None


@dataclass(frozen=True)
class LabelRecord:
    """A label as a reader yields it (no database id yet)."""

    box: Box
    cls: int
    iscrowd: bool = False
    source_id: int | None = None


@dataclass(frozen=True)
class ImageRecord:
    """An image as a reader yields it. `path` is posix, relative to the dataset root."""

    path: str
    width: int
    height: int
    split: Split = Split.NONE
    labels: tuple[LabelRecord, ...] = ()
    error: str | None = None
    source_id: int | None = None
    # True when the dataset said something about labels for this image (a .txt exists,
    # even empty; a COCO image entry). False for a bare image folder.
    labelled: bool = True


@dataclass(frozen=True)
class Label:
    """A current label as stored in the project."""

    id: int
    image_id: int
    box: Box
    cls: int
    iscrowd: bool = False
    origin: Origin = Origin.IMPORTED
    source_id: int | None = None


@dataclass(frozen=True)
class Prediction:
    id: int
    run_id: int
    image_id: int
    box: Box
    cls: int | None  # project class index; None when the model class is unknown to the project
    conf: float
    model_cls: int = -1
    model_cls_name: str = ""


@dataclass(frozen=True)
class ImageInfo:
    id: int
    path: str
    width: int
    height: int
    split: Split = Split.NONE
    status: ReviewStatus = ReviewStatus.UNREVIEWED
    error: str | None = None
    source_id: int | None = None


@dataclass(frozen=True)
class Problem:
    """One entry of an import (or prediction import) report. Nothing is dropped silently:
    every skipped or altered thing becomes a Problem naming its file and line."""

    file: str
    message: str
    action: str = ""
    line: int | None = None
    severity: str = "warning"  # "warning" | "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        tail = f" ({self.action})" if self.action else ""
        return f"{where}: {self.message}{tail}"


@dataclass
class DatasetRead:
    """What a format reader returns. `images` may be a generator: the store consumes it in
    batches so that 100,000 images never sit in memory as objects at once."""

    root: str
    format: str
    classes: list[ClassInfo]
    images: object  # Iterable[ImageRecord]
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Issue:
    id: int
    image_id: int
    kind: IssueKind
    score: float
    status: IssueStatus
    run_id: int | None = None
    label_id: int | None = None
    label2_id: int | None = None
    pred_id: int | None = None
    cls: int | None = None
    suggested_cls: int | None = None
    suggested_box: Box | None = None
    confidence: float | None = None
    iou: float | None = None
    key: str = ""
