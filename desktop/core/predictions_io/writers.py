"""Write a prediction run out as COCO results or BoxFix JSON Lines.

Deterministic: images in project id order, boxes in stored order, floats as Python's repr
(the shortest text that reads back to the same double), so the same run always gives the
same bytes and an import gives back the same boxes. Written to a temporary file and renamed,
so a failed export never leaves half a file under the requested name.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model import Problem
from .project_index import ProjectIndex


@dataclass
class ExportReport:
    path: str
    format: str
    images: int
    predictions: int
    problems: list[Problem] = field(default_factory=list)


def _atomic_write(path: Path, lines) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for line in lines:
                fh.write(line)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _groups(arrays: dict) -> dict[int, slice]:
    """Image id -> slice of the (image_id-sorted) prediction arrays."""
    ids = arrays["image_id"]
    if len(ids) == 0:
        return {}
    uniq, starts = np.unique(ids, return_index=True)
    ends = np.append(starts[1:], len(ids))
    return {int(u): slice(int(s), int(e)) for u, s, e in zip(uniq, starts, ends)}


def write_coco_results(store, run_id: int, out: str | Path, annotations: str | Path | None = None) -> ExportReport:
    """COCO results with the ids of the project's COCO export (project_index.coco_image_ids),
    or, given a COCO annotations file, with its ids: images by file_name, categories by name."""
    index = ProjectIndex.from_store(store)
    arrays = store.prediction_arrays(run_id)
    problems: list[Problem] = []
    image_of, cat_of = index.coco_image_of, index.coco_category_of
    if annotations is not None:
        image_of, cat_of = _ids_from_annotations(index, annotations, problems)
    skipped = {"class": 0, "image": 0, "category": 0}
    entries = []
    groups = _groups(arrays)
    for image_id, sl in groups.items():
        coco_id = image_of.get(image_id)
        for (x0, y0, x1, y1), c, s in zip(arrays["boxes"][sl].tolist(), arrays["cls"][sl].tolist(),
                                          arrays["conf"][sl].tolist()):
            why = "class" if c < 0 else "image" if coco_id is None else "category" if c not in cat_of else None
            if why:
                skipped[why] += 1
                continue
            entries.append(json.dumps({"image_id": coco_id, "category_id": cat_of[c],
                                       "bbox": [x0, y0, x1 - x0, y1 - y0], "score": s}))
    _atomic_write(Path(out), _list_lines(entries))
    reasons = {"class": "have no project class, so no COCO category",
               "image": f"are on images the annotations file {annotations} does not list",
               "category": f"have a class the annotations file {annotations} has no category for"}
    for why, n in skipped.items():
        if n:
            problems.append(Problem(str(out), f"{n} prediction(s) {reasons[why]}",
                                    "not written to the COCO results (boxfix-json keeps them)"))
    return ExportReport(str(out), "coco-results", len(groups), len(entries), problems)


def _ids_from_annotations(index: ProjectIndex, annotations, problems: list[Problem]):
    from .coco_results import load_annotations

    files, cats = load_annotations(annotations)
    image_of = {}
    for coco_id, file_name in sorted(files.items()):
        image, _how = index.find_image(file_name)
        if image is not None and image.id not in image_of:
            image_of[image.id] = coco_id
    by_name = {name: cid for cid, name in sorted(cats.items(), reverse=True)}  # lowest id wins a tie
    cat_of = {c.idx: by_name[c.name] for c in index.classes if c.name in by_name}
    if not image_of:
        problems.append(Problem(str(annotations), "no image of the annotations file matches a project image",
                                "nothing can be written"))
    return image_of, cat_of


def _list_lines(entries: list[str]):
    """One detection per line, so a problem in the file can be pointed at by line."""
    if not entries:
        yield "[]\n"
        return
    yield "[\n"
    for i, e in enumerate(entries):
        yield e + (",\n" if i + 1 < len(entries) else "\n")
    yield "]\n"


def write_boxfix_jsonl(store, run_id: int, out: str | Path) -> ExportReport:
    index = ProjectIndex.from_store(store)
    arrays = store.prediction_arrays(run_id)
    groups = _groups(arrays)
    done = store.done_image_ids(run_id) | set(groups)
    errors = store.run_errors(run_id)
    n_boxes = 0

    def lines():
        nonlocal n_boxes
        for image_id in sorted(done):
            sl = groups.get(image_id)
            boxes = []
            if sl is not None:
                for b, c, s in zip(arrays["boxes"][sl].tolist(), arrays["cls"][sl].tolist(),
                                   arrays["conf"][sl].tolist()):
                    boxes.append([*b, c if c >= 0 else None, s])
            n_boxes += len(boxes)
            obj = {"image": index.by_id[image_id].path, "boxes": boxes}
            if errors.get(image_id):
                obj["error"] = errors[image_id]
            yield json.dumps(obj, ensure_ascii=False) + "\n"

    _atomic_write(Path(out), lines())
    return ExportReport(str(out), "boxfix-json", len(done), n_boxes)


def write_boxfix(store, run_id, out, annotations=None) -> ExportReport:
    if annotations is not None:
        raise ValueError("annotations apply to COCO results only")
    return write_boxfix_jsonl(store, run_id, out)


WRITERS = {"coco-results": write_coco_results, "boxfix-json": write_boxfix}
