"""Write a project as an Ultralytics YOLO dataset.

Layout (DIR is the folder the user chose):
    DIR/data.yaml                 names (0..max, gaps filled 'class N'), train/val[/test]
    DIR/images/<split>/<name>     images: copied, hard-linked, or symlinked (list mode)
    DIR/labels/<split>/<name>.txt one row per box: class cx cy w h, normalised, %.10g
    DIR/<split>.txt               list mode only: the split's images, './images/...' lines
Without train/val/test splits in the project the split folder is left out (images/<name>),
and data.yaml uses the same images for train and val, as ultralytics needs both. Images of
split 'none' in a project that has splits go to train.
Boxes are written clipped to the image with x0<=x1, y0<=y1 (ultralytics rejects the whole
image for coordinates beyond 1%, and clips anyway when training); each change is reported.
An image gets a .txt when it has boxes, is reviewed, or had a label file at import, so
"reviewed, nothing here" is written as an empty file and "never labelled" as no file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..model import Problem, ReviewStatus
from .export import (ExportOptions, ExportResult, ImagePlacer, image_tail, inside, run_io, select,
                     staged_output, unique_names)

SPLITS = ("train", "val", "test")
CLIP_TOL = 1e-5


def yaml_str(s: str) -> str:
    """A YAML double-quoted scalar (JSON escaping is valid YAML)."""
    import json

    return json.dumps(s, ensure_ascii=False)


def write_yolo(store, out, opts: ExportOptions, progress=None) -> ExportResult:
    sel = select(store, opts)
    problems = list(sel.problems)
    has_splits = any(im.split.value in SPLITS for im in sel.images)
    splits = [(im.split.value if im.split.value in SPLITS else "train") if has_splits else "" for im in sel.images]
    names = unique_names(sel.images, [[*([s] if s else []), *image_tail(im.path, s or None)]
                                      for im, s in zip(sel.images, splits)])
    classes = store.classes()
    top = max([c.idx for c in classes] + [int(sel.cls.max()) if len(sel.cls) else -1])
    by_idx = {c.idx: c.name for c in classes}
    result = ExportResult(Path(out).absolute(), "yolo")
    placer = ImagePlacer(opts.images, problems)
    lines_by_split: dict[str, list[str]] = {}
    # All rows at once: normalise, clip, format; the loop below only joins slices.
    owner = np.repeat(np.arange(len(sel.images)), sel.ends - sel.starts)
    rows = np.concatenate([np.arange(a, b) for a, b in zip(sel.starts, sel.ends)]) if len(owner) else \
        np.zeros(0, dtype=np.int64)
    sizes = np.array([(im.width, im.height) for im in sel.images], dtype=np.float64).reshape(-1, 2)
    lines, clipped, flipped = _label_lines(sel.cls[rows], sel.boxes[rows], sizes[owner, 0], sizes[owner, 1])
    n_clip = np.bincount(owner, weights=clipped, minlength=len(sel.images)).astype(int)
    n_flip = np.bincount(owner, weights=flipped, minlength=len(sel.images)).astype(int)
    offsets = np.concatenate([[0], np.cumsum(sel.ends - sel.starts)]).tolist()
    jobs = []
    with staged_output(out, "yolo") as tmp:
        root = str(store.dataset_root)
        for i, (im, name, split) in enumerate(zip(sel.images, names, splits)):
            img_rel = f"images/{name}"
            lines_by_split.setdefault(split or "train", []).append(f"./{img_rel}")
            a, b = offsets[i], offsets[i + 1]
            lbl = None
            if b > a or im.status == ReviewStatus.REVIEWED or sel.labelled.get(im.id, True):
                if n_clip[i] or n_flip[i]:
                    problems.append(Problem(im.path, f"{n_clip[i]} boxes clipped to the image, {n_flip[i]} with "
                                            "swapped corners put in order",
                                            "written changed (YOLO cannot hold them as they are)"))
                lbl = inside(tmp, "labels/" + os.path.splitext(name)[0] + ".txt")
                result.labels += b - a
            jobs.append((os.path.join(root, im.path), inside(tmp, img_rel), lbl, a, b))
            result.images += 1
        placer.prepare([j[1] for j in jobs] + [j[2] for j in jobs if j[2]])

        def write_one(job):
            src, dst, lbl, a, b = job
            placer.place(src, dst)
            if lbl is not None:
                with open(lbl, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write("".join(lines[a:b]))

        for k in range(0, len(jobs), 5000):
            run_io(jobs[k:k + 5000], write_one)
            if progress:
                progress(len(jobs[k:k + 5000]))
        data = _data_yaml(sorted(lines_by_split), has_splits, opts.images == "list", top, by_idx)
        (tmp / "data.yaml").write_text(data, encoding="utf-8", newline="\n")
        result.files.append("data.yaml")
        if opts.images == "list":
            for split, lines in sorted(lines_by_split.items()):
                (tmp / f"{split}.txt").write_text("".join(x + "\n" for x in lines), encoding="utf-8", newline="\n")
                result.files.append(f"{split}.txt")
    result.problems = problems
    return result


def _label_lines(cls: np.ndarray, boxes: np.ndarray, w: np.ndarray, h: np.ndarray):
    """One text row per box, and per box whether it was clipped / had swapped corners."""
    x0 = np.minimum(boxes[:, 0], boxes[:, 2])
    x1 = np.maximum(boxes[:, 0], boxes[:, 2])
    y0 = np.minimum(boxes[:, 1], boxes[:, 3])
    y1 = np.maximum(boxes[:, 1], boxes[:, 3])
    flipped = (boxes[:, 0] > boxes[:, 2]) | (boxes[:, 1] > boxes[:, 3])
    # Rounding in a 6-decimal YOLO source (x1 = 480.00024 px) is not "outside": only boxes
    # beyond the edge by more than 1e-5 of the image size are clipped (and reported).
    tx, ty = CLIP_TOL * w, CLIP_TOL * h
    out = (x0 < -tx) | (y0 < -ty) | (x1 > w + tx) | (y1 > h + ty)
    if out.any():
        x0, x1 = np.where(out, np.clip(x0, 0, w), x0), np.where(out, np.clip(x1, 0, w), x1)
        y0, y1 = np.where(out, np.clip(y0, 0, h), y0), np.where(out, np.clip(y1, 0, h), y1)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.column_stack([(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h])
    lines = [f"{c} {a:.10g} {b:.10g} {d:.10g} {e:.10g}\n" for c, (a, b, d, e) in zip(cls.tolist(), norm.tolist())]
    return lines, out, flipped


def _data_yaml(splits_present: list[str], has_splits: bool, list_mode: bool, top: int, by_idx: dict) -> str:
    def where(split: str) -> str:
        if list_mode:
            return f"{split}.txt"
        return f"images/{split}" if has_splits else "images"

    present = set(splits_present) or {"train"}
    train = "train" if "train" in present else sorted(present)[0]
    val = "val" if "val" in present else train
    lines = ["# Written by BoxFix. Paths are relative to this file (no 'path:' key, so ultralytics uses its folder).",
             f"train: {where(train)}", f"val: {where(val)}"]
    if "test" in present:
        lines.append(f"test: {where('test')}")
    lines.append("names:")
    for i in range(top + 1):
        lines.append(f"  {i}: {yaml_str(by_idx.get(i, f'class {i}'))}")
    return "\n".join(lines) + "\n"
