"""COCO detection JSON: reading. One or several files (one per split).

Conventions read (see docs/formats.md):
- bbox [x, y, w, h] absolute pixels from the top-left corner -> xyxy (x, y, x + w, y + h).
- Category ids are kept exactly: classes are the categories sorted by id, and each keeps its
  id as ClassInfo.source_id (written back on export). Image ids and annotation ids become
  ImageRecord.source_id and LabelRecord.source_id. iscrowd is kept.
- file_name is looked up relative to the JSON's folder, an images/ folder beside it, the
  parent folder, or (official COCO layout) ../<split name>/; the folder that holds the most
  images wins.
- A file named *train* / *val* / *test* gives that split; otherwise the split is none.
"""
from __future__ import annotations

import json
import math
import os
import posixpath
import re
from pathlib import Path

from ..model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord, Split
from .common import FormatError, ProblemLog, common_root
from .images import image_size


def find_coco_files(folder: Path) -> list[Path]:
    """COCO-looking JSON files in a folder (or its annotations/ subfolder), sorted."""
    out = []
    for d in (folder, folder / "annotations"):
        if d.is_dir():
            for p in sorted(d.glob("*.json")):
                if _looks_like_coco(p):
                    out.append(p)
    return out


def _looks_like_coco(p: Path) -> bool:
    try:
        with open(p, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", errors="ignore")
    except OSError:
        return False
    return '"images"' in head or '"annotations"' in head or '"categories"' in head


def split_of(path: Path) -> Split:
    name = path.stem.lower()
    for split, pat in ((Split.TRAIN, r"train"), (Split.VAL, r"val"), (Split.TEST, r"test")):
        if re.search(pat, name):
            return split
    return Split.NONE


def read_coco(src, progress=None, image_dir: str | os.PathLike | None = None) -> DatasetRead:
    files = _files(src)
    log = ProblemLog()
    docs = []
    for f in files:
        doc = _load(f, log, single=len(files) == 1)
        if doc is not None:
            docs.append((f, doc))
    if not docs:
        raise FormatError(f"{files[0]}: no readable COCO JSON" if len(files) == 1 else
                          f"none of the {len(files)} JSON files could be read as COCO")
    classes, cat_to_idx = _categories(docs, log)
    plans = []
    for f, doc in docs:
        images = _images(f, doc, log)
        folder = _image_folder(f, images, image_dir)
        plans.append((f, doc, images, folder))
    roots = [str(folder) for _, _, _, folder in plans]
    root = common_root([os.path.join(r, "x") for r in roots], roots[0])
    # Unknown category ids get a class of their own, so no box is lost.
    for f, doc, _, _ in plans:
        for ann in doc.get("annotations") or []:
            cid = _int(ann.get("category_id")) if isinstance(ann, dict) else None
            if cid is not None and cid not in cat_to_idx:
                idx = max([c.idx for c in classes], default=-1) + 1
                cat_to_idx[cid] = idx
                classes.append(ClassInfo(idx, f"unknown category {cid}", source_id=cid))
                log.add("class-range", f.name, f"category id {cid} is used by annotations but not listed in "
                        "categories", f"boxes kept under 'unknown category {cid}'")
    records: list[ImageRecord] = []
    for f, doc, images, folder in plans:
        records += _records(f, doc, images, folder, root, cat_to_idx, log, progress)
    return DatasetRead(root=root, format="coco", classes=classes, images=iter(records), problems=log.finish())


def _files(src) -> list[Path]:
    if isinstance(src, (list, tuple)):
        files = [Path(s) for s in src]
    else:
        src = Path(src)
        if src.is_dir():
            files = find_coco_files(src)
            if not files:
                raise FormatError(f"{src}: no COCO JSON file in this folder")
        elif src.is_file():
            files = [src]
        else:
            raise FormatError(f"{src}: no such file or folder")
    for f in files:
        if not f.is_file():
            raise FormatError(f"{f}: no such file")
    return files


def _load(f: Path, log: ProblemLog, single: bool) -> dict | None:
    try:
        with open(f, "rb") as fh:
            doc = json.loads(fh.read().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        msg = f"{f}: not valid JSON ({exc})"
        if single:
            raise FormatError(msg) from None
        log.add("json", f.name, f"not valid JSON ({exc})", "file skipped", severity="error")
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        msg = "not a COCO file (no 'images' list)"
        if single:
            raise FormatError(f"{f}: {msg}")
        log.add("json", f.name, msg, "file skipped", severity="error")
        return None
    for key in ("annotations", "categories"):
        if key in doc and not isinstance(doc[key], list):
            log.add("json", f.name, f"'{key}' is not a list", "ignored", severity="error")
            doc[key] = []
    return doc


def _int(v) -> int | None:
    """An integer id, accepting ints, integral floats and digit strings; None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", v):
        return int(v)
    return None


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _categories(docs, log: ProblemLog) -> tuple[list[ClassInfo], dict[int, int]]:
    names: dict[int, str] = {}
    for f, doc in docs:
        for i, cat in enumerate(doc.get("categories") or []):
            cid = _int(cat.get("id")) if isinstance(cat, dict) else None
            if cid is None:
                log.add("category", f.name, f"category #{i} has no integer id ({str(cat)[:60]})", "ignored",
                        severity="error")
                continue
            if not isinstance(cat.get("id"), int):
                log.add("category", f.name, f"category id {cat.get('id')!r} is not an integer", f"read as {cid}")
            name = cat.get("name")
            name = str(name) if name not in (None, "") else f"category {cid}"
            if cid in names and names[cid] != name:
                log.add("category", f.name, f"category id {cid} is named {names[cid]!r} and {name!r}",
                        f"kept {names[cid]!r}")
            names.setdefault(cid, name)
    classes = [ClassInfo(i, names[cid], source_id=cid) for i, cid in enumerate(sorted(names))]
    return classes, {c.source_id: c.idx for c in classes}


def _images(f: Path, doc: dict, log: ProblemLog) -> list[dict]:
    out, seen = [], set()
    for i, im in enumerate(doc["images"]):
        iid = _int(im.get("id")) if isinstance(im, dict) else None
        fname = im.get("file_name") if isinstance(im, dict) else None
        if iid is None or not isinstance(fname, str) or not fname.strip():
            log.add("image-entry", f.name, f"images[{i}] has no integer id or no file_name", "skipped",
                    severity="error")
            continue
        if iid in seen:
            log.add("image-entry", f.name, f"image id {iid} appears twice", "kept the first", severity="error")
            continue
        norm = posixpath.normpath(fname.replace("\\", "/"))
        if os.path.isabs(fname) or norm == ".." or norm.startswith("../"):
            # A hostile or foreign file_name must not make BoxFix read (and later show, run the
            # detector on, export) a file outside the dataset folder.
            log.add("image-entry", f.name, f"image id {iid}: file_name {fname!r} points outside the dataset folder",
                    "skipped, with its annotations", severity="error")
            continue
        seen.add(iid)
        out.append({"id": iid, "file_name": fname.replace("\\", "/").lstrip("/") if not os.path.isabs(fname)
                    else fname, "width": _int(im.get("width")), "height": _int(im.get("height"))})
    return out


def _image_folder(f: Path, images: list[dict], image_dir) -> Path:
    if image_dir is not None:
        return Path(image_dir).resolve()
    base = f.parent.resolve()
    cands = [base, base / "images", base.parent, base.parent / "images"]
    m = re.search(r"(train|val|test)\d*", f.stem.lower())
    if m:
        cands += [base.parent / m.group(0), base.parent / "images" / m.group(0), base / m.group(0)]
    sample = images[:200]
    best, best_n = base, -1
    for c in cands:
        n = sum(1 for im in sample if os.path.exists(os.path.join(c, im["file_name"])))
        if n > best_n:
            best, best_n = c, n
    return best


def _records(f, doc, images, folder: Path, root: str, cat_to_idx, log: ProblemLog, progress) -> list[ImageRecord]:
    split = split_of(f)
    by_image: dict[int, list] = {im["id"]: [] for im in images}
    sizes = {}
    paths = {}
    prefix = root.rstrip(os.sep) + os.sep
    for im in images:
        full = os.path.normpath(os.path.join(folder, im["file_name"]))
        paths[im["id"]] = full
    seen_ann: set[int] = set()
    for i, ann in enumerate(doc.get("annotations") or []):
        if not isinstance(ann, dict):
            log.add("annotation", f.name, f"annotations[{i}] is not an object", "skipped", severity="error")
            continue
        aid = _int(ann.get("id"))
        where = f"annotation id {aid}" if aid is not None else f"annotations[{i}]"
        iid = _int(ann.get("image_id"))
        if iid not in by_image:
            log.add("annotation", f.name, f"{where}: image id {ann.get('image_id')!r} is not in images", "skipped",
                    severity="error")
            continue
        cid = _int(ann.get("category_id"))
        if cid is None:
            log.add("annotation", f.name, f"{where}: category_id {ann.get('category_id')!r} is not an integer",
                    "skipped", severity="error")
            continue
        box = _bbox(ann, where, f, log)
        if box is None:
            continue
        if aid is None or aid in seen_ann:
            log.add("annotation", f.name, f"{where}: " + ("no integer id" if aid is None else "id used twice"),
                    "kept; a new id is given on export")
            aid = None
        else:
            seen_ann.add(aid)
        crowd = ann.get("iscrowd")
        by_image[iid].append((box, cat_to_idx[cid], bool(crowd) if isinstance(crowd, (int, float)) else False,
                              aid, where))
    out = []
    for im in images:
        full = paths[im["id"]]
        rel = full[len(prefix):] if full.startswith(prefix) else os.path.relpath(full, root)
        rel = rel.replace(os.sep, "/")
        w, h, err = image_size(full)
        jw, jh = im["width"], im["height"]
        if err:
            sev_action = "imported with an error mark; boxes kept"
            log.add("missing-image" if "not found" in err else "unreadable-image", rel, err, sev_action,
                    severity="error")
            w, h = max(jw or 0, 0), max(jh or 0, 0)
        elif (jw, jh) != (w, h):
            if jw is not None or jh is not None:
                log.add("size", f.name, f"image id {im['id']} ({rel}): JSON says {jw}x{jh}, the file is {w}x{h} "
                        "(EXIF-rotated)", "used the file's size")
        labels = []
        for box, cls, crowd, aid, where in by_image[im["id"]]:
            if box.x1 <= box.x0 or box.y1 <= box.y0:
                log.add("zero-area", f.name, f"{where}: zero-area box (w={box.width:g}, h={box.height:g})",
                        "kept as is")
            elif w and h and (box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > w + 0.5 or box.y1 > h + 0.5):
                log.add("outside", f.name, f"{where}: box {_fmt(box)} extends outside the {w}x{h} image",
                        "kept as is")
            labels.append(LabelRecord(box, cls, crowd, aid))
        out.append(ImageRecord(rel, int(w), int(h), split, tuple(labels), err, im["id"], True))
        if progress:
            progress(1)
    return out


def _bbox(ann: dict, where: str, f: Path, log: ProblemLog) -> Box | None:
    bb = ann.get("bbox")
    vals = [_num(v) for v in bb] if isinstance(bb, (list, tuple)) and len(bb) == 4 else None
    if vals is not None and None not in vals:
        x, y, w, h = vals
        return Box(x, y, x + w, y + h)
    seg = ann.get("segmentation")
    if isinstance(seg, list) and seg and all(isinstance(p, list) for p in seg):
        xs = [_num(v) for p in seg for v in p[0::2]]
        ys = [_num(v) for p in seg for v in p[1::2]]
        if xs and ys and None not in xs and None not in ys:
            log.add("bbox", f.name, f"{where}: no valid bbox", "box taken from its segmentation polygon")
            return Box(min(xs), min(ys), max(xs), max(ys))
    log.add("bbox", f.name, f"{where}: bbox {str(bb)[:60]} is not 4 finite numbers", "skipped", severity="error")
    return None


def _fmt(b: Box) -> str:
    return f"[{b.x0:g}, {b.y0:g}, {b.x1:g}, {b.y1:g}]"
