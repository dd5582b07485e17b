"""Pieces every prediction reader shares: the per-image result, the problem log, and the
one place that decides what happens to a box that is malformed or outside its image.

Policy (documented in docs/predictions-format.md, "Problems"):
- a row that cannot be read (wrong arity, not numbers, NaN/inf, x1 < x0 or y1 < y0, zero
  width or height) is skipped and reported with its file and line;
- a box that reaches outside its image by more than EDGE_TOLERANCE px is clipped to the image
  and reported; within the tolerance (rounding in the producing tool) it is clipped quietly;
- a box entirely outside its image is skipped and reported (clipping would leave no box);
- a score outside [0, 1] is clipped into it and reported.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..model import Problem

# Ultralytics writes normalised coordinates with 6 significant digits (%g): on a 4000 px image
# that is up to 0.002 px of rounding. Half a pixel is far above rounding and far below an
# error anyone would care about.
EDGE_TOLERANCE = 0.5
# Per (file, kind of problem) we keep this many detailed entries, then one summary entry, so a
# million bad rows make a readable report and never a million-entry list.
DETAIL_LIMIT = 20


class PredictionFormatError(ValueError):
    """The file as a whole cannot be read in the requested format (one clear sentence)."""


@dataclass
class ImageResult:
    """One image's predictions, in the project's frame: the tuple Store.add_predictions wants."""

    image_id: int
    boxes: np.ndarray  # (N, 4) float64 xyxy px
    cls: np.ndarray  # (N,) int64 project class index, -1 when unknown to the project
    conf: np.ndarray  # (N,) float64
    model_cls: np.ndarray  # (N,) int64 index into the run's model_classes
    error: str | None = None
    # False for an image the file covers without naming it (COCO results and YOLO txt omit
    # images without detections): it is stored as predicted-empty.
    listed: bool = True

    def as_tuple(self) -> tuple:
        return (self.image_id, self.boxes, self.cls, self.conf, self.model_cls, self.error)

    @classmethod
    def empty(cls, image_id: int, error: str | None = None, listed: bool = False) -> "ImageResult":
        return cls(image_id, np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), error,
                   listed)


class ProblemLog:
    """Collects Problems; past DETAIL_LIMIT entries of one kind in one file it only counts,
    and `problems()` adds one summary entry per such group, so nothing goes unreported."""

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, file: str, kind: str, message: str, action: str = "", line: int | None = None,
            severity: str = "warning") -> None:
        key = (file, kind)
        self._counts[key] += 1
        if self._counts[key] <= DETAIL_LIMIT:
            self._items.append(Problem(file, message, action, line, severity))

    def problems(self) -> list[Problem]:
        out = list(self._items)
        for (file, kind), n in self._counts.items():
            if n > DETAIL_LIMIT:
                out.append(Problem(file, f"{n - DETAIL_LIMIT} more problems of this kind: {kind}",
                                   "handled the same way as those listed"))
        return out

    def __len__(self) -> int:
        return sum(self._counts.values())


def sanitize_boxes(boxes: np.ndarray, conf: np.ndarray, width: int, height: int, log: ProblemLog, file: str,
                   lines: np.ndarray | list[int | None], where: str = "") -> np.ndarray:
    """Apply the box policy in place (clip) and return a boolean mask of the rows to keep.
    `lines` gives each row's line number for the report; `where` names the image."""
    n = len(boxes)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    if width > 0 and height > 0:
        # Fast path, the common case: every row valid and inside the image (within tolerance).
        x0, y0, x1, y1 = boxes.T
        ok = ((x1 > x0) & (y1 > y0) & (x0 >= -EDGE_TOLERANCE) & (y0 >= -EDGE_TOLERANCE)
              & (x1 <= width + EDGE_TOLERANCE) & (y1 <= height + EDGE_TOLERANCE) & (conf >= 0) & (conf <= 1))
        if ok.all():  # NaN compares False, so a NaN row never takes this path
            if x0.min() < 0 or y0.min() < 0 or x1.max() > width or y1.max() > height:
                np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
                np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
            return keep
    finite = np.isfinite(boxes).all(axis=1) & np.isfinite(conf)
    bad_order = finite & ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
    for i in np.flatnonzero(~finite):
        log.add(file, "not finite", f"{where}a coordinate or score is not a finite number", "row skipped",
                _line(lines, i), "error")
    for i in np.flatnonzero(bad_order):
        log.add(file, "empty box", f"{where}box {_fmt(boxes[i])} has zero or negative width or height",
                "row skipped", _line(lines, i), "error")
    keep &= finite & ~bad_order
    if width > 0 and height > 0:
        outside = keep & ((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= width) | (boxes[:, 1] >= height))
        for i in np.flatnonzero(outside):
            log.add(file, "box outside image", f"{where}box {_fmt(boxes[i])} lies entirely outside the "
                    f"{width}x{height} image", "row skipped", _line(lines, i), "error")
        keep &= ~outside
        over = np.maximum.reduce([-boxes[:, 0], -boxes[:, 1], boxes[:, 2] - width, boxes[:, 3] - height])
        for i in np.flatnonzero(keep & (over > EDGE_TOLERANCE)):
            log.add(file, "box beyond image edge", f"{where}box {_fmt(boxes[i])} reaches {over[i]:.3g} px "
                    f"outside the {width}x{height} image", "clipped to the image", _line(lines, i))
        np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
    bad_conf = keep & ((conf < 0) | (conf > 1))
    for i in np.flatnonzero(bad_conf):
        log.add(file, "score outside 0..1", f"{where}score {conf[i]:g} is outside 0..1", "clipped into 0..1",
                _line(lines, i))
    np.clip(conf, 0.0, 1.0, out=conf)
    return keep


def _line(lines, i) -> int | None:
    v = lines[i]
    return None if v is None else int(v)


def _fmt(b) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in b) + "]"
