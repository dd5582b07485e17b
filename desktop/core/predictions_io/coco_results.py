"""COCO results JSON: the list COCO's evaluation server takes,
`[{"image_id": int, "category_id": int, "bbox": [x, y, w, h], "score": float}, ...]`,
bbox in absolute pixels from the top-left. Extra keys (segmentation, id, area) are ignored.

Images: with a companion annotations file (--annotations) an image id is looked up there and
matched by `file_name`; without one, by the COCO image id the project's COCO export uses (the
image's own id when the project came from COCO, else 1, 2, ... in project order: see
project_index.coco_image_ids). Categories: by name through the annotations file's
categories, else by the COCO category id of the project's COCO export
(project_index.coco_category_ids), or by --class-map.
The file lists detections only, so every covered image is marked predicted: the annotations
file's images when given, else all project images.

The list is parsed entry by entry with the JSON decoder, so every problem names its line
(and the entry's position, for files written on one line).
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterator

import numpy as np

from ._common import ImageResult, PredictionFormatError, ProblemLog, sanitize_boxes
from .class_map import ClassMapper
from .project_index import ProjectIndex

FORMAT = "coco-results"
_WS = re.compile(r"\s*")


def iter_entries(path: Path, log: ProblemLog | None = None) -> Iterator[tuple[int, int, object]]:
    """(entry number, line, object) for each element of the top-level JSON list. A COCO
    dataset dict with an 'annotations' list is accepted too (line numbers then unknown: 0)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionFormatError(f"{path}: cannot read ({exc})") from None
    dec = json.JSONDecoder()
    pos = _WS.match(text, 0).end()
    if text.startswith("{", pos):
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise PredictionFormatError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("annotations"), list):
            raise PredictionFormatError(f"{path}: COCO results must be a JSON list of detections "
                                        "(or a COCO file with an 'annotations' list)")
        for k, entry in enumerate(obj["annotations"]):
            yield k, 0, entry
        return
    if not text.startswith("[", pos):
        raise PredictionFormatError(f"{path}: COCO results must be a JSON list of detections")
    line, last = 1, 0
    pos = _WS.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    k = 0
    while True:
        line += text.count("\n", last, pos)
        last = pos
        try:
            obj, end = dec.raw_decode(text, pos)
        except ValueError as exc:
            if log is None or k == 0:
                raise PredictionFormatError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
            # A cut-off file (a job killed mid-write): keep what was complete, say where it broke.
            log.add(str(path), "broken json", f"not valid JSON from entry {k} on ({exc.msg})",
                    f"kept the {k} entries before it, skipped the rest", exc.lineno, "error")
            return
        yield k, line, obj
        k += 1
        pos = _WS.match(text, end).end()
        if text.startswith(",", pos):
            pos = _WS.match(text, pos + 1).end()
        elif text.startswith("]", pos):
            return
        else:
            line += text.count("\n", last, pos)
            if log is None:
                raise PredictionFormatError(f"{path}:{line}: expected ',' or ']' after entry {k}")
            log.add(str(path), "broken json", f"expected ',' or ']' after entry {k}",
                    f"kept the {k} entries before it, skipped the rest", line, "error")
            return


def load_annotations(path: str | Path) -> tuple[dict[int, str], dict[int, str]]:
    """The companion COCO annotations file: ({image id: file_name}, {category id: name})."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionFormatError(f"{path}: cannot read the annotations file ({exc})") from None
    except ValueError as exc:
        raise PredictionFormatError(f"{path}:{exc.lineno}: the annotations file is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise PredictionFormatError(f"{path}: not a COCO annotations file (no 'images' list)")
    images, cats = {}, {}
    for im in data["images"]:
        if isinstance(im, dict) and _is_int(im.get("id")) and isinstance(im.get("file_name"), str):
            images[int(im["id"])] = im["file_name"]
    for c in data.get("categories") or []:
        if isinstance(c, dict) and _is_int(c.get("id")) and c.get("name") is not None:
            cats[int(c["id"])] = str(c["name"])
    return images, cats


def read(path: str | Path, index: ProjectIndex, mapper: ClassMapper, log: ProblemLog,
         annotations: str | Path | None = None) -> Iterator[ImageResult]:
    path = Path(path)
    name = str(path)
    resolve, covered = _image_resolver(index, log, name, annotations)
    groups: dict[int, list] = defaultdict(lambda: [[], [], []])  # project image id -> rows, classes, lines
    not_found: dict[object, list] = {}  # COCO image id -> [first line, count]
    no_score = 0
    for k, line, e in iter_entries(path, log):
        at = line or None
        if not isinstance(e, dict):
            log.add(name, "bad entry", f"entry {k} is not an object", "entry skipped", at, "error")
            continue
        bbox, score = e.get("bbox"), e.get("score", None)
        if not _is_int(e.get("image_id")) or not _is_int(e.get("category_id")) or not isinstance(bbox, list) \
                or len(bbox) != 4 or not all(_is_num(v) for v in bbox) or not (score is None or _is_num(score)):
            log.add(name, "bad entry", f"entry {k} is not {{image_id: int, category_id: int, bbox: [x, y, w, h], "
                    f"score: number}}: {json.dumps(e)[:100]}", "entry skipped", at, "error")
            continue
        try:
            x, y, w, h = (float(v) for v in bbox)
            s = 1.0 if score is None else float(score)
        except OverflowError:
            log.add(name, "bad entry", f"entry {k} has a number too large", "entry skipped", at, "error")
            continue
        if score is None:
            no_score += 1
        image = resolve(int(e["image_id"]))
        if image is None:
            nf = not_found.setdefault(e["image_id"], [at, 0])
            nf[1] += 1
            continue
        g = groups[image.id]
        g[0].append((x, y, x + w, y + h, s))
        g[1].append(int(e["category_id"]))
        g[2].append(at)
    if no_score:
        log.add(name, "no score", f"{no_score} entries have no score", "read with score 1.0")
    for image_id, (first, count) in not_found.items():
        log.add(name, "image not in project", f"image_id {image_id} is not a project image"
                + (" (not in the annotations file, or its file_name is not in the project)" if annotations else ""),
                f"skipped its {count} prediction(s)", first, "error")
    for image_id in sorted(groups):
        rows, cats, lines = groups[image_id]
        image = index.by_id[image_id]
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        boxes, conf = arr[:, :4].copy(), arr[:, 4].copy()
        keep = sanitize_boxes(boxes, conf, image.width, image.height, log, name, lines, f"{image.path}: ")
        cats_kept = np.asarray(cats, dtype=object)[keep]
        lines_kept = [ln for ln, kp in zip(lines, keep) if kp]
        try:
            cls, model = mapper.map_ints(np.asarray(cats_kept, dtype=np.int64), name, lines_kept)
        except OverflowError:  # category ids beyond int64: map one by one
            pairs = [mapper.map_one(c, name, ln) for c, ln in zip(cats_kept, lines_kept)]
            cls = np.array([p[0] for p in pairs], np.int64).reshape(-1)
            model = np.array([p[1] for p in pairs], np.int64).reshape(-1)
        yield ImageResult(image_id, boxes[keep], cls, conf[keep], model)
    for image in covered:
        if image.id not in groups:
            yield ImageResult.empty(image.id)


def _image_resolver(index: ProjectIndex, log: ProblemLog, name: str, annotations):
    """(COCO image id -> project image or None, the project images the file covers)."""
    if annotations is not None:
        files, _cats = load_annotations(annotations)
        by_coco, missing = {}, 0
        for coco_id, file_name in files.items():
            image, _how = index.find_image(file_name)
            if image is None:
                missing += 1
            else:
                by_coco[coco_id] = image
        if missing:
            log.add(str(annotations), "annotation image not in project",
                    f"{missing} image(s) of the annotations file match no project image by file_name",
                    "predictions for them are reported below, if any")
        covered = sorted({im.id: im for im in by_coco.values()}.values(), key=lambda im: im.id)
        return by_coco.get, covered
    if not index.from_coco_images:
        log.add(name, "matched by export id", "the project did not come from COCO, so image_id was read as the "
                "id the project's COCO export gives (1, 2, ... in project order)",
                "pass --annotations FILE to match by file_name instead")
    return index.by_coco_id.get, index.images


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
