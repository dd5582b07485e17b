"""BoxFix JSON Lines: one image per line, read line by line (a file of any size streams).

    {"image": "images/a.jpg", "boxes": [[x0, y0, x1, y1, class, score], ...]}
    {"image": "images/b.jpg", "boxes": [], "error": "decode failed"}

Coordinates are absolute pixels, xyxy, in the EXIF-rotated frame. `class` is a project class
index (int) or name (str), or null for "no project class". An image with "boxes": [] was
predicted and has nothing in it. Only the images listed are marked as predicted, so shards
can be imported one after another or concatenated (`cat shard-*.jsonl`). A folder stands for
all its *.jsonl files, in name order.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np

from ._common import ImageResult, PredictionFormatError, ProblemLog, sanitize_boxes
from .class_map import ClassMapper
from .project_index import ProjectIndex

FORMAT = "boxfix-json"


def files_of(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
        if not files:
            raise PredictionFormatError(f"{path}: no .jsonl files in this folder")
        return files
    return [path]


def read(path: str | Path, index: ProjectIndex, mapper: ClassMapper, log: ProblemLog) -> Iterator[ImageResult]:
    seen: dict[int, str] = {}
    suffix_matches = 0
    for file in files_of(Path(path)):
        name = str(file)
        try:
            fh = open(file, encoding="utf-8", errors="strict")
        except OSError as exc:
            raise PredictionFormatError(f"{file}: cannot read ({exc})") from None
        with fh:
            lineno = 0
            while True:
                try:
                    raw = fh.readline()
                except UnicodeDecodeError as exc:
                    log.add(name, "not utf-8", f"the file is not UTF-8 text after line {lineno} ({exc.reason})",
                            "rest of the file skipped", lineno + 1, "error")
                    break
                if not raw:
                    break
                lineno += 1
                res = _line(raw, name, lineno, index, mapper, log, seen)
                if res is None:
                    continue
                result, how = res
                suffix_matches += how == "suffix"
                yield result
    if suffix_matches:
        log.add(str(path), "matched by suffix", f"{suffix_matches} image path(s) matched a project image by the end "
                "of the path (e.g. an absolute path from another machine)", "used that image")


def _line(raw: str, file: str, lineno: int, index: ProjectIndex, mapper: ClassMapper, log: ProblemLog,
          seen: dict[int, str]) -> tuple[ImageResult, str] | None:
    text = raw.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except ValueError as exc:
        log.add(file, "not json", f"not a JSON object ({exc.msg} at column {exc.colno})", "line skipped", lineno,
                "error")
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("image"), str) or not obj["image"]:
        log.add(file, "no image", 'a line must be an object with an "image" path', "line skipped", lineno, "error")
        return None
    image, how = index.find_image(obj["image"])
    if image is None:
        n = len(obj["boxes"]) if isinstance(obj.get("boxes"), list) else 0
        why = "matches several project images" if how == "ambiguous" else "is not in the project"
        log.add(file, "image not in project", f"image {obj['image']!r} {why}",
                f"skipped its {n} prediction(s)", lineno, "error")
        return None
    where = f"{file}:{lineno}"
    if image.id in seen:
        log.add(file, "image twice", f"image {image.path!r} is listed again (first at {seen[image.id]})",
                "kept the first", lineno, "error")
        return None
    seen[image.id] = where
    error = obj.get("error")
    error = None if error is None else str(error)
    boxes_raw = obj.get("boxes", [])
    if not isinstance(boxes_raw, list):
        log.add(file, "bad boxes", '"boxes" must be a list of [x0, y0, x1, y1, class, score]', "no predictions "
                "kept for this image", lineno, "error")
        boxes_raw = []
    fast = _fast_boxes(boxes_raw, text)
    if fast is not None:
        boxes, conf, ids = fast
        keep = sanitize_boxes(boxes, conf, image.width, image.height, log, file, [lineno] * len(boxes),
                              f"{image.path}: ")
        cls, model = mapper.map_ints(ids[keep], file, [lineno] * int(keep.sum()))
        return ImageResult(image.id, boxes[keep], cls, conf[keep], model, error), how
    rows, classes = [], []
    for j, b in enumerate(boxes_raw):
        if not isinstance(b, list) or len(b) != 6 or not all(_is_num(v) for v in (b[:4] + b[5:])) \
                or not (b[4] is None or isinstance(b[4], str) or _is_int(b[4])):
            log.add(file, "bad box", f"box {j} of {image.path!r} is not [x0, y0, x1, y1, class, score] "
                    f"with numbers and a class index or name: {json.dumps(b)[:80]}", "box skipped", lineno, "error")
            continue
        try:
            rows.append([float(v) for v in b[:4]] + [float(b[5])])
        except OverflowError:  # an integer too large for a float
            log.add(file, "bad box", f"box {j} of {image.path!r} has a number too large", "box skipped", lineno,
                    "error")
            continue
        classes.append(b[4])
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    boxes, conf = arr[:, :4].copy(), arr[:, 4].copy()
    keep = sanitize_boxes(boxes, conf, image.width, image.height, log, file, [lineno] * len(arr),
                          f"{image.path}: ")
    cls = np.full(len(arr), -1, np.int64)
    model = np.full(len(arr), -1, np.int64)
    for j, c in enumerate(classes):
        if keep[j] and c is not None:
            cls[j], model[j] = mapper.map_one(c, file, lineno)
    return ImageResult(image.id, boxes[keep], cls[keep], conf[keep], model[keep], error), how


def _fast_boxes(boxes_raw, text: str):
    """All boxes as one float array when every box is six plain numbers with an integral class
    (what a batch job writes); None sends the line through the row-by-row checks."""
    if not boxes_raw or "true" in text or "false" in text or "null" in text:
        return None  # JSON booleans would pass as numbers in numpy; let the checks see them
    try:
        arr = np.asarray(boxes_raw, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 6:
        return None
    c = arr[:, 4]
    if not (np.isfinite(c).all() and (c == np.floor(c)).all() and (np.abs(c) < 2 ** 53).all()):
        return None
    return arr[:, :4].copy(), arr[:, 5].copy(), c.astype(np.int64)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
