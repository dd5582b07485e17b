"""Pieces shared by the readers: the error a reader raises when nothing can be imported,
the problem log (capped per kind, so a million identical warnings stay readable), and the
column-to-record builder that keeps 100,000 images out of memory as objects."""
from __future__ import annotations

import os
from collections import Counter
from itertools import starmap
from typing import Iterator, Sequence

import numpy as np

from ..model import Box, ImageRecord, LabelRecord, Problem, Split

# Detailed entries kept per kind of problem; the rest are counted in one summary line, so a
# dataset with a systematic fault gives a readable report and nothing is hidden.
MAX_DETAILED = 200


class FormatError(ValueError):
    """The source cannot be imported at all (one clear sentence naming the file)."""


class ProblemLog:
    def __init__(self, max_detailed: int = MAX_DETAILED):
        self.items: list[Problem] = []
        self._counts: Counter = Counter()
        self._examples: dict[str, tuple[str, str]] = {}
        self._max = max_detailed

    def add(self, kind: str, file: str, message: str, action: str = "", line: int | None = None,
            severity: str = "warning") -> None:
        self._counts[kind] += 1
        if self._counts[kind] <= self._max:
            self.items.append(Problem(file, message, action, line, severity))
        else:
            self._examples.setdefault(kind, (message, action))

    def count(self, kind: str) -> int:
        return self._counts[kind]

    def finish(self) -> list[Problem]:
        out = list(self.items)
        for kind, (message, action) in sorted(self._examples.items()):
            more = self._counts[kind] - self._max
            out.append(Problem("(several files)", f"{more} more of: {kind} (last seen: {message})", action))
        return out


def relpath_posix(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def common_root(paths: Sequence[str], start: str) -> str:
    """`start` when every path lies under it, else the deepest folder holding them all."""
    start = os.path.abspath(start)
    prefix = start.rstrip(os.sep) + os.sep
    if all(p.startswith(prefix) for p in paths):
        return start
    return os.path.commonpath([start, *(os.path.dirname(p) for p in paths)])


class Columns:
    """A dataset read into flat columns: images (path, size, split, error, labelled) and all
    boxes in one (N, 5) array [cls, x0, y0, x1, y1] with per-image offsets."""

    def __init__(self):
        self.paths: list[str] = []
        self.widths: list[int] = []
        self.heights: list[int] = []
        self.splits: list[str] = []
        self.errors: list[str | None] = []
        self.labelled: list[bool] = []
        self.counts: list[int] = []
        self.boxes: list[np.ndarray] = []

    def add(self, path: str, width: int, height: int, split: str, error: str | None, labelled: bool,
            boxes: np.ndarray | None) -> None:
        self.paths.append(path)
        self.widths.append(width)
        self.heights.append(height)
        self.splits.append(split)
        self.errors.append(error)
        self.labelled.append(labelled)
        n = 0 if boxes is None else len(boxes)
        self.counts.append(n)
        if n:
            self.boxes.append(boxes)

    def records(self) -> Iterator[ImageRecord]:
        """ImageRecords one at a time, made from the columns (the store batches them)."""
        allboxes = np.concatenate(self.boxes) if self.boxes else np.zeros((0, 5))
        cls = allboxes[:, 0].astype(np.int64).tolist()
        coords = allboxes[:, 1:5].tolist()
        splits = {s: Split(s) for s in ("train", "val", "test", "none")}
        k = 0
        for i, path in enumerate(self.paths):
            n = self.counts[i]
            labels = tuple(map(LabelRecord, starmap(Box, coords[k:k + n]), cls[k:k + n])) if n else ()
            k += n
            yield ImageRecord(path, self.widths[i], self.heights[i], splits[self.splits[i]], labels,
                              self.errors[i], None, self.labelled[i])
        self.boxes = []  # the store has them now; free the arrays
