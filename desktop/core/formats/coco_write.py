"""Write a project as COCO detection JSON.

Layout: DIR/annotations.json for images without a split, DIR/instances_<split>.json for each
of train/val/test present; images under DIR/images/ (file_name is relative to that folder,
as in the COCO layout BoxFix also reads). Images are copied, hard-linked or symlinked.
- Ids: category, image and annotation ids are the ones the project imported from COCO;
  anything without one (YOLO/VOC projects, added boxes, new classes) gets the next free id,
  in project order. Categories of a project that never had ids are numbered idx + 1.
- Types: ids, category_id, width, height and iscrowd are JSON integers; bbox [x, y, w, h]
  and area (= w * h) are floats rounded to 1e-9 px (hides binary noise from x1 - x0).
- A box with swapped corners is written in order (COCO has no negative sizes), and reported.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..model import Problem
from .export import (ExportOptions, ExportResult, ImagePlacer, image_tail, inside, run_io, select, staged_output,
                     unique_names)

SPLITS = ("train", "val", "test")


def fresh_ids(wanted: list[int | None], start_after: int = 0) -> list[int]:
    """Keep each wanted id the first time it appears; give the rest fresh ids above all of them."""
    used = {w for w in wanted if w is not None}
    nxt = max(used | {start_after}) + 1
    seen: set[int] = set()
    out = []
    for w in wanted:
        if w is None or w in seen:
            w = nxt
            nxt += 1
        seen.add(w)
        out.append(int(w))
    return out


def label_source_ids(store, image_ids, original: bool) -> dict[int, int | None]:
    """label id -> COCO annotation id it was imported with. Only projects imported from COCO
    hold any; for the others this returns {} without touching each image.
    (Store.label_arrays has no source_id column; per-image reads are fine at COCO sizes.)"""
    if store.get_meta("source_format") != "coco":
        return {}
    out = {}
    for iid in image_ids:
        for lab in (store.original_labels(iid) if original else store.labels(iid)):
            out[lab.id] = lab.source_id
    return out


def write_coco(store, out, opts: ExportOptions, progress=None) -> ExportResult:
    sel = select(store, opts)
    problems = list(sel.problems)
    classes = store.classes()
    used_cls = set(sel.cls.tolist())
    known = {c.idx for c in classes}
    missing = sorted(used_cls - known)
    any_source = any(c.source_id is not None for c in classes)
    wanted = [c.source_id if any_source else c.idx + 1 for c in classes]
    cat_ids = fresh_ids(wanted + [None] * len(missing))
    cat_of = dict(zip([c.idx for c in classes] + missing, cat_ids))
    names = {c.idx: c.name for c in classes}
    categories = [{"id": cat_of[i], "name": names.get(i, f"class {i}"), "supercategory": ""}
                  for i in sorted(cat_of)]
    file_names = unique_names(sel.images, [image_tail(im.path) for im in sel.images])
    image_ids = fresh_ids([im.source_id for im in sel.images])
    src_ids = label_source_ids(store, [im.id for im in sel.images], opts.original)
    ann_ids = fresh_ids([src_ids.get(int(i)) for i in sel.label_ids])
    result = ExportResult(Path(out).absolute(), "coco")
    placer = ImagePlacer(opts.images, problems)
    docs: dict[str, dict] = {}
    boxes = sel.boxes
    x0, x1 = np.minimum(boxes[:, 0], boxes[:, 2]), np.maximum(boxes[:, 0], boxes[:, 2])
    y0, y1 = np.minimum(boxes[:, 1], boxes[:, 3]), np.maximum(boxes[:, 1], boxes[:, 3])
    swapped = (boxes[:, 0] > boxes[:, 2]) | (boxes[:, 1] > boxes[:, 3])
    bw, bh = x1 - x0, y1 - y0
    xywh = np.round(np.column_stack([x0, y0, bw, bh]), 9).tolist()
    area = np.round(bw * bh, 9).tolist()
    cls = sel.cls.tolist()
    crowd = sel.iscrowd.astype(int).tolist()
    root = str(store.dataset_root)
    with staged_output(out, "coco") as tmp:
        places = [(os.path.join(root, im.path), inside(tmp, f"images/{fname}"))
                  for im, fname in zip(sel.images, file_names)]
        placer.prepare([d for _, d in places])
        run_io(places, lambda job: placer.place(*job))
        for i, (im, fname, iid) in enumerate(zip(sel.images, file_names, image_ids)):
            split = im.split.value
            doc = docs.setdefault(split, {"images": [], "annotations": []})
            doc["images"].append({"id": iid, "file_name": fname, "width": int(im.width), "height": int(im.height)})
            rows = sel.rows(i)
            for j in range(rows.start, rows.stop):
                if swapped[j]:
                    problems.append(Problem(im.path, f"label {int(sel.label_ids[j])}: corners swapped",
                                            "written in order"))
                    # Formatted here, not as dicts for json: 1M dicts would cost a gigabyte. repr() of a
                # float is what json writes, so the output is the same JSON, byte for byte.
                x, y, w, h = xywh[j]
                doc["annotations"].append(
                    f'{{"id":{ann_ids[j]},"image_id":{iid},"category_id":{cat_of[cls[j]]},'
                    f'"bbox":[{x!r},{y!r},{w!r},{h!r}],"area":{area[j]!r},"iscrowd":{crowd[j]},"segmentation":[]}}')
            result.images += 1
            result.labels += rows.stop - rows.start
            if progress and i % 1000 == 999:
                progress(1000)
        if not docs:
            docs["none"] = {"images": [], "annotations": []}
        for split, doc in sorted(docs.items()):
            name = f"instances_{split}.json" if split in SPLITS else "annotations.json"
            head = {"info": {"description": f"{store.name} (exported by BoxFix)"}, "licenses": [],
                    "categories": categories, "images": doc["images"]}
            # json.dumps, not json.dump: dump streams through the pure-Python encoder (10x slower).
            text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
            with open(inside(tmp, name), "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text[:-1] + ',"annotations":[')
                anns = doc["annotations"]
                for k in range(0, len(anns), 50000):
                    fh.write(("," if k else "") + ",".join(anns[k:k + 50000]))
                fh.write("]}\n")
            result.files.append(name)
        if not sel.images:
            os.makedirs(tmp / "images", exist_ok=True)
    if progress:
        progress(len(sel.images) % 1000)
    result.problems = problems
    return result
