"""Ultralytics YOLO detection datasets: reading (data.yaml or a plain images/ + labels/ tree).

Conventions read (see docs/formats.md):
- data.yaml: `path` (root; relative to the YAML's folder), `train`/`val`/`test` each a folder,
  a .txt list of image paths, or a list of either; `names` as a dict or a list (or `nc` alone).
  Without data.yaml: `images/` (optionally images/train, images/val, images/test) + `labels/`.
- Label file of an image: the LAST `/images/` in its path becomes `/labels/`, the extension
  `.txt` (ultralytics' rule). A missing or empty .txt is a background image.
- Rows `class cx cy w h`, normalised to the EXIF-rotated image; polygons become their box.
An image listed in two splits keeps the first (train, then val, then test).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import yaml

from ..model import ClassInfo, DatasetRead
from .common import Columns, FormatError, ProblemLog, common_root
from .images import image_size, is_image, list_image_paths, list_images
from .yolo_rows import decode, parse_batch

SPLITS = ("train", "val", "test")
_LISTED: dict[str, list[str]] = {}  # last folder listed, reused within one read
BATCH = 2048
READ_THREADS = 4
EPS = 1e-6  # tolerance for "outside the image" on normalised coordinates
_SEP_IMAGES = f"{os.sep}images{os.sep}"
_SEP_LABELS = f"{os.sep}labels{os.sep}"


def label_path_for(image_path: str) -> str:
    """Ultralytics' img2label_paths for one absolute image path."""
    head, sep, tail = image_path.rpartition(_SEP_IMAGES)
    p = f"{head}{_SEP_LABELS}{tail}" if sep else image_path
    return os.path.splitext(p)[0] + ".txt"


def find_yaml(folder: Path) -> Path | None:
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    for p in candidates:
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
        except Exception:  # noqa: BLE001 - not ours to judge here; detection only
            continue
        if isinstance(data, dict) and any(k in data for k in SPLITS):
            return p
    return None


def read_yolo(src: str | os.PathLike, progress=None) -> DatasetRead:
    src = Path(src)
    log = ProblemLog()
    if src.is_file():
        yaml_path = src
    elif src.is_dir():
        yaml_path = find_yaml(src)
    else:
        raise FormatError(f"{src}: no such file or folder")
    list_files: set[str] = set()
    _LISTED.clear()  # folder listings are reused within this read only
    if yaml_path is not None:
        root, sources, names = _from_yaml(yaml_path, log, list_files)
        _LISTED.clear()
    else:
        root, sources = _from_tree(src)
        names = _classes_txt(src, log)
        if names is None:
            log.add("no-names", str(src), "no data.yaml and no classes.txt: class names are unknown",
                    "classes are named 'unknown class N'")
            names = {}
    items = _dedupe(sources, log)
    root = common_root([p for p, _ in items], root) if items else root
    cols = _scan(items, root, names, log, progress, list_files)
    classes = [ClassInfo(i, n) for i, n in sorted(names.items())]
    return DatasetRead(root=root, format="yolo", classes=classes, images=cols.records(), problems=log.finish())


# ---------------------------------------------------------------- where the images are
def _from_yaml(yaml_path: Path, log: ProblemLog, list_files: set[str]):
    where = str(yaml_path)
    try:
        data = yaml.safe_load(yaml_path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise FormatError(f"{where}: not valid YAML{line} ({getattr(exc, 'problem', None) or exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{where}: cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{where}: not a dataset YAML (expected keys train/val/names, got {type(data).__name__})")
    base = yaml_path.parent.resolve()
    root = base
    if data.get("path") not in (None, ""):
        p = Path(str(data["path"])).expanduser()
        p = p if p.is_absolute() else base / p
        if p.is_dir():
            root = p.resolve()
        else:
            log.add("yaml-path", where, f"path: {data['path']} does not exist", "used the YAML's folder as root")
    names = _names(data, where, log)
    sources: list[tuple[str, list[str]]] = []
    for split in SPLITS:
        entry = data.get(split)
        if entry in (None, "", []):
            continue
        entries = entry if isinstance(entry, list) else [entry]
        found: list[str] = []
        for item in entries:
            if not isinstance(item, (str, int, float)):
                log.add("yaml-split", where, f"{split}: entry {item!r} is not a path", "ignored")
                continue
            found += _images_of(str(item), root, split, where, log, list_files)
        sources.append((split, found))
    if not sources:
        raise FormatError(f"{where}: no train, val or test entry: nothing to import")
    return str(root), sources, names


def _names(data: dict, where: str, log: ProblemLog) -> dict[int, str]:
    raw = data.get("names")
    names: dict[int, str] = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            try:
                names[int(k)] = str(v)
            except (TypeError, ValueError):
                log.add("yaml-names", where, f"names: key {k!r} is not a class index", "ignored")
    elif isinstance(raw, list):
        names = {i: str(v) for i, v in enumerate(raw)}
    elif raw is not None:
        log.add("yaml-names", where, f"names: expected a list or a mapping, got {type(raw).__name__}",
                "ignored")
    names = {k: v for k, v in names.items() if k >= 0}
    if not names and isinstance(data.get("nc"), int) and 0 < data["nc"] < 100000:
        names = {i: f"class {i}" for i in range(data["nc"])}
        log.add("yaml-names", where, "no names, only nc", "classes named 'class N'")
    if not names:
        classes_txt = _classes_txt(Path(where).parent, log)
        if classes_txt is not None:
            return classes_txt
        log.add("no-names", where, "no class names (no names, no nc, no classes.txt)",
                "classes are named 'unknown class N'")
    else:
        other = _classes_txt(Path(where).parent, None)
        if other is not None and other != names:
            log.add("classes-txt", str(Path(where).parent / "classes.txt"), "classes.txt disagrees with names in "
                    "the YAML", "used the YAML's names")
    return names


def _classes_txt(folder: Path, log: ProblemLog | None) -> dict[int, str] | None:
    for p in (folder / "classes.txt", folder / "labels" / "classes.txt"):
        if p.is_file():
            text, err = decode(p.read_bytes())
            if err and log:
                log.add("classes-txt", str(p), err, "undecodable bytes replaced")
            return {i: n.strip() for i, n in enumerate(text.splitlines()) if n.strip()} or None
    return None


def _images_of(item: str, root: Path, split: str, where: str, log: ProblemLog, list_files: set[str]) -> list[str]:
    p = Path(item).expanduser()
    p = p if p.is_absolute() else root / p
    if p.is_dir():
        key = os.path.abspath(p)
        if key not in _LISTED:  # train and val are often the same folder
            _LISTED.clear()
            _LISTED[key] = list_image_paths(key)
        return list(_LISTED[key])
    if p.is_file() and p.suffix.lower() == ".txt":
        list_files.add(os.path.abspath(p))
        text, err = decode(p.read_bytes())
        if err:
            log.add("list-file", str(p), err, "undecodable bytes replaced")
        out = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            q = Path(line).expanduser()
            if not q.is_absolute():
                # ultralytics reads "./x" relative to the list file; we also try the root.
                cand = [p.parent / q, root / q]
                q = next((c for c in cand if c.exists()), cand[0])
            if not is_image(q):
                log.add("list-file", str(p), f"{line[:80]!r} is not an image file name", "ignored", line=lineno)
                continue
            out.append(os.path.abspath(q))
        return out
    if p.is_file() and is_image(p):
        return [os.path.abspath(p)]
    log.add("yaml-split", where, f"{split}: {item} not found", "nothing imported from it", severity="error")
    return []


def _from_tree(src: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    root = src.resolve()
    images_dir = root / "images"
    base = images_dir if images_dir.is_dir() else root
    by_split: dict[str, list[str]] = {s: [] for s in (*SPLITS, "none")}
    prefix = str(base) + os.sep
    for p in list_image_paths(base):
        first = p[len(prefix):].split(os.sep, 1)[0]
        by_split[first if first in SPLITS else "none"].append(p)
    return str(root), [(s, v) for s, v in by_split.items() if v]


def _dedupe(sources, log: ProblemLog) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    doubles: dict[tuple[str, str], int] = {}
    for split, paths in sources:
        for p in paths:
            if p in seen:
                key = (seen[p], split)
                doubles[key] = doubles.get(key, 0) + 1
            else:
                seen[p] = split
    for (a, b), n in sorted(doubles.items()):
        where = f"both {a} and {b}" if a != b else f"{a} more than once"
        log.add("two-splits", f"{a}/{b}" if a != b else a, f"{n} images listed in {where}", f"kept them once, in {a}")
    return list(seen.items())


# ---------------------------------------------------------------- reading labels
def _scan(items: list[tuple[str, str]], root: str, names: dict[int, str], log: ProblemLog, progress,
          list_files: set[str]) -> Columns:
    cols = Columns()
    prefix = root.rstrip(os.sep) + os.sep
    owner: dict[str, str] = {}
    known = np.array(sorted(names), dtype=np.int64)
    # File reads (image header + label file) go through a few threads: the open/read system
    # calls release the GIL, so waiting on the disk overlaps; the parsing stays vectorised here.
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        for start in range(0, len(items), BATCH):
            chunk = items[start:start + BATCH]
            metas, texts = [], []
            for (abs_path, split), (w, h, err, lp, raw, exc) in zip(chunk, pool.map(_load, chunk, chunksize=64)):
                rel = abs_path[len(prefix):] if abs_path.startswith(prefix) else os.path.relpath(abs_path, root)
                rel = rel.replace(os.sep, "/")
                shared_with = owner.get(lp)
                if shared_with is None:
                    owner[lp] = rel
                else:
                    log.add("shared-label", _short(lp, root), f"label file shared by {shared_with} and {rel}",
                            "its boxes were given to both images, as ultralytics does")
                text, labelled = "", False
                if raw is not None:
                    text, terr = decode(raw)
                    labelled = True
                    if terr:
                        log.add("encoding", _short(lp, root), terr, "undecodable bytes replaced")
                elif exc is not None:
                    log.add("label-unreadable", _short(lp, root), f"cannot be read ({exc})",
                            "image imported without labels", severity="error")
                metas.append((rel, split, w, h, err, labelled, _short(lp, root)))
                texts.append(text)
            _parse_and_add(cols, metas, texts, known, names, log)
            if progress:
                progress(len(chunk))
    _orphans(owner, root, log, list_files)
    return cols


def _load(item: tuple[str, str]):
    """(w, h, image error, label path, label bytes or None, label read error or None)."""
    abs_path = item[0]
    w, h, err = image_size(abs_path)
    lp = label_path_for(abs_path)
    try:
        with open(lp, "rb") as fh:
            return w, h, err, lp, fh.read(), None
    except FileNotFoundError:
        return w, h, err, lp, None, None
    except OSError as exc:
        return w, h, err, lp, None, exc.strerror or str(exc)


def _parse_and_add(cols: Columns, metas: list, texts: list[str], known, names, log: ProblemLog) -> None:
    parsed = parse_batch(texts)
    dups = _duplicates([p[0] for p in parsed])
    for k, dup in dups.items():
        lines = parsed[k][1]
        for row, first in dup:
            log.add("duplicate", metas[k][6], f"duplicate row (same as line {lines[first]})",
                    "kept (ultralytics drops it when training)", line=int(lines[row]))
    _add_batch(cols, metas, parsed, known, names, log)


def _duplicates(rows: list[np.ndarray]) -> dict[int, list[tuple[int, int]]]:
    """Rows repeated within one file, for a whole batch at once: {file: [(row, first row)]}."""
    sizes = [len(r) for r in rows]
    if sum(sizes) < 2:
        return {}
    file_idx = np.repeat(np.arange(len(rows)), sizes)
    row_idx = np.concatenate([np.arange(n) for n in sizes])
    allrows = np.concatenate([r for r in rows if len(r)])
    keys = np.column_stack([file_idx, allrows])
    order = np.lexsort(keys.T[::-1])
    k = keys[order]
    same = np.flatnonzero((k[1:] == k[:-1]).all(axis=1))
    out: dict[int, list[tuple[int, int]]] = {}
    for j in same:
        first = j
        while first > 0 and (k[first - 1] == k[j]).all():
            first -= 1
        f = int(file_idx[order[j + 1]])
        out.setdefault(f, []).append((int(row_idx[order[j + 1]]), int(row_idx[order[first]])))
    return out


def _add_batch(cols: Columns, metas: list, parsed: list, known: np.ndarray, names: dict, log: ProblemLog) -> None:
    """Turn a batch of parsed label files into pixel boxes with one set of numpy operations,
    reporting per row only what is wrong."""
    keep_rows = []
    for meta, (rows, lines, problems, polygons) in zip(metas, parsed):
        rel, split, w, h, err, labelled, lfile = meta
        for line, message, action in problems:
            log.add("malformed", lfile, message, action, line=line)
        if polygons:
            log.add("polygon", lfile, f"{polygons} polygon rows (segmentation) read as their bounding box",
                    "converted to boxes")
        if err == "image file not found":
            log.add("missing-image", rel, "image file not found", "not imported" +
                    (f"; its {len(rows)} boxes cannot be placed without the image size" if len(rows) else ""),
                    severity="error")
        elif err:
            log.add("unreadable-image", rel, err, "imported with an error mark" +
                    (f"; its {len(rows)} boxes were not imported (normalised boxes need the image size)"
                     if len(rows) else ""), severity="error")
        elif min(w, h) < 10:
            log.add("tiny-image", rel, f"image is {w}x{h} px; ultralytics skips images under 10 px", "imported")
        keep_rows.append(0 if err else len(rows))
    counts = np.array(keep_rows, dtype=np.int64)
    if counts.sum():
        rows = np.concatenate([p[0] for p, n in zip(parsed, keep_rows) if n])
        lines = np.concatenate([p[1] for p, n in zip(parsed, keep_rows) if n])
        owner = np.repeat(np.arange(len(metas)), counts)
        W = np.array([m[2] for m in metas], dtype=np.float64)[owner]
        H = np.array([m[3] for m in metas], dtype=np.float64)[owner]
        cx, cy, bw, bh = rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4]
        x0, x1, y0, y1 = cx - bw / 2, cx + bw / 2, cy - bh / 2, cy + bh / 2
        with np.errstate(over="ignore", invalid="ignore"):
            boxes = np.column_stack([rows[:, 0], x0 * W, y0 * H, x1 * W, y1 * H])
        ok = np.isfinite(boxes).all(axis=1)  # 1e308 parses, but is no place in an image
        cls = rows[:, 0].astype(np.int64)
        flags = {"class-range": ~np.isin(cls, known) & ok,
                 "outside": ((x0 < -EPS) | (y0 < -EPS) | (x1 > 1 + EPS) | (y1 > 1 + EPS)) & ok,
                 "zero-area": ((bw <= 0) | (bh <= 0)) & ok, "malformed": ~ok}
        for kind, mask in flags.items():
            for i in np.flatnonzero(mask):
                lfile, line = metas[owner[i]][6], int(lines[i])
                if kind == "class-range":
                    log.add(kind, lfile, f"class {cls[i]} is not in the class names ({_names_range(names)})",
                            f"box kept under 'unknown class {cls[i]}'", line=line)
                elif kind == "outside":
                    log.add(kind, lfile, f"box extends outside the image (normalised x0={x0[i]:.4g} "
                            f"y0={y0[i]:.4g} x1={x1[i]:.4g} y1={y1[i]:.4g})", "kept as is", line=line)
                elif kind == "zero-area":
                    log.add(kind, lfile, f"zero-area or negative box (w={bw[i]:.4g}, h={bh[i]:.4g})", "kept as is",
                            line=line)
                else:
                    log.add(kind, lfile, "malformed row: a coordinate overflows to infinity", "row skipped",
                            line=line)
        if not ok.all():
            boxes, owner = boxes[ok], owner[ok]
            counts = np.bincount(owner, minlength=len(metas))
    else:
        boxes = np.zeros((0, 5))
    ends = np.cumsum(counts)
    for k, meta in enumerate(metas):
        rel, split, w, h, err, labelled, _ = meta
        if err == "image file not found":
            continue
        n = int(counts[k])
        cols.add(rel, 0 if err else w, 0 if err else h, split, err, labelled,
                 boxes[ends[k] - n:ends[k]] if n else None)


def _names_range(names: dict) -> str:
    if not names:
        return "no names given"
    keys = sorted(names)
    return f"0..{keys[-1]}" if keys == list(range(len(keys))) else f"ids {keys[:10]}"


def _short(path: str, root: str) -> str:
    prefix = root.rstrip(os.sep) + os.sep
    return (path[len(prefix):] if path.startswith(prefix) else path).replace(os.sep, "/")


def _orphans(owner: dict[str, str], root: str, log: ProblemLog, list_files: set[str]) -> None:
    """Label files in the label folders we read that belong to no image."""
    for d in sorted({os.path.dirname(p) for p in owner}):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in sorted(names):
            if not name.endswith(".txt") or name in ("classes.txt", "README.txt"):
                continue
            full = os.path.join(d, name)
            if full not in owner and full not in list_files:
                log.add("orphan-label", _short(full, root), "label file with no image", "ignored")
