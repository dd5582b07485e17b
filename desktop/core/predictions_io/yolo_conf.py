"""YOLO txt with confidence: what Ultralytics writes with save_txt=True, save_conf=True.

One file per image, `labels/<image stem>.txt`, one row per box: `class cx cy w h conf`,
coordinates normalised to the image (EXIF-rotated, as Ultralytics reads it). Ultralytics
writes no file for an image with no detections, so every project image counts as predicted
(an image without a file has no predictions). A row with 5 values (no confidence) is read
with confidence 1.0 and reported.

A file is matched to the project image whose path without extension ends with the file's
path (relative to the labels folder) without `.txt`: `labels/a.txt` finds `images/train/a.jpg`,
`labels/train/a.txt` too. Two project images that share a stem make the match ambiguous:
reported, not guessed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from ._common import ImageResult, PredictionFormatError, ProblemLog, sanitize_boxes
from .class_map import ClassMapper
from .project_index import ProjectIndex

FORMAT = "yolo-conf"


def files_of(path: Path) -> tuple[Path, list[Path]]:
    """(labels folder, its .txt files in name order). A run folder with labels/ inside works too."""
    if path.is_file():
        return path.parent, [path]
    if not path.is_dir():
        raise PredictionFormatError(f"{path}: no such file or folder")
    base = path / "labels" if (path / "labels").is_dir() else path
    files = sorted(p for p in base.rglob("*.txt") if p.is_file())
    if not files and base == path:
        # An Ultralytics run folder whose labels/ is empty is fine: the model found nothing.
        raise PredictionFormatError(f"{path}: no .txt prediction files in this folder")
    return base, files


def read(path: str | Path, index: ProjectIndex, mapper: ClassMapper, log: ProblemLog) -> Iterator[ImageResult]:
    base, files = files_of(Path(path))
    seen: dict[int, str] = {}
    for file in files:
        name = str(file)
        rel = file.relative_to(base).with_suffix("").as_posix()
        image, how = index.find_image_noext(rel)
        if image is None:
            why = "matches several project images (same name, different folder or extension)" \
                if how == "ambiguous" else "matches no project image"
            log.add(name, "image not in project", f"{rel}.txt {why}", "skipped the file's predictions", None, "error")
            continue
        if image.id in seen:
            log.add(name, "image twice", f"image {image.path!r} already had predictions from {seen[image.id]}",
                    "kept the first", None, "error")
            continue
        seen[image.id] = name
        yield _read_file(file, name, image, mapper, log)
    for image in index.images:
        if image.id not in seen:
            yield ImageResult.empty(image.id)


def _read_file(file: Path, name: str, image, mapper: ClassMapper, log: ProblemLog) -> ImageResult:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.add(name, "unreadable", f"cannot read ({exc})", "no predictions kept for this image", None, "error")
        return ImageResult.empty(image.id, listed=True)
    rows, ids, lines = [], [], []
    no_conf = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (5, 6):
            log.add(name, "bad row", f"expected 'class cx cy w h conf', got {len(parts)} values: {line.strip()[:80]}",
                    "row skipped", lineno, "error")
            continue
        try:
            vals = [float(v) for v in parts]
        except ValueError:
            log.add(name, "bad row", f"not numbers: {line.strip()[:80]}", "row skipped", lineno, "error")
            continue
        c = vals[0]
        if not (np.isfinite(c) and c.is_integer() and 0 <= c < 2 ** 53):
            log.add(name, "bad class", f"class {parts[0]!r} is not a non-negative integer", "row skipped", lineno,
                    "error")
            continue
        if len(vals) == 5:
            vals.append(1.0)
            no_conf += 1
        ids.append(int(c))
        rows.append(vals[1:])
        lines.append(lineno)
    if no_conf:
        log.add(name, "no confidence", f"{no_conf} row(s) have no confidence column (save_conf was off?)",
                "read with confidence 1.0")
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    w, h = image.width, image.height
    cx, cy, bw, bh = arr[:, 0] * w, arr[:, 1] * h, arr[:, 2] * w, arr[:, 3] * h
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    conf = arr[:, 4].copy()
    keep = sanitize_boxes(boxes, conf, w, h, log, name, lines, f"{image.path}: ")
    cls, model = mapper.map_ints(np.asarray(ids, np.int64)[keep], name, np.asarray(lines)[keep])
    return ImageResult(image.id, boxes[keep], cls, conf[keep], model)
