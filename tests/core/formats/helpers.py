"""Tiny generated datasets for the format tests: real image files made with PIL."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from desktop.core.formats import import_project


def make_image(path: Path, w: int = 64, h: int = 48, fmt: str | None = None, mode: str = "RGB",
               orientation: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new(mode, (w, h), 128 if mode in ("L", "I;16") else (200, 100, 50)[: len(mode)] if mode != "CMYK"
                   else (10, 20, 30, 40))
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    im.save(path, format=fmt, **kwargs)
    return path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def yolo_dataset(root: Path, names=("cat", "dog"), images: dict | None = None, yaml_text: str | None = None) -> Path:
    """images: {"train/a.jpg": (w, h, "label text" or None)}; writes images/ + labels/ + data.yaml."""
    images = images or {"train/a.jpg": (64, 48, "0 0.5 0.5 0.25 0.5\n"), "val/b.png": (40, 30, "1 0.5 0.5 1 1\n")}
    for rel, (w, h, text) in images.items():
        make_image(root / "images" / rel, w, h)
        if text is not None:
            write(root / "labels" / Path(rel).with_suffix(".txt"), text)
    if yaml_text is None:
        yaml_text = "path: .\ntrain: images/train\nval: images/val\nnames:\n" + "".join(
            f"  {i}: {n}\n" for i, n in enumerate(names))
    write(root / "data.yaml", yaml_text)
    return root


def project(src, tmp_path: Path, fmt: str = "auto", name: str = "p.boxfix"):
    store, summary = import_project(src, tmp_path / name, fmt)
    return store, summary


def boxes_by_path(store, original: bool = False) -> dict[str, list[tuple]]:
    """{image path: sorted [(cls, x0, y0, x1, y1, iscrowd)]}: what a round trip must keep."""
    out = {}
    for im in store.images():
        labs = store.original_labels(im.id) if original else store.labels(im.id)
        out[im.path] = sorted((lab.cls, *lab.box.as_tuple(), lab.iscrowd) for lab in labs)
    return out


def same_boxes(a: list[tuple], b: list[tuple], tol: float) -> bool:
    """True when a and b hold the same boxes (cls, x0, y0, x1, y1, ...) one for one, each
    coordinate within tol, in any order (greedy on the closest pair; tol is far below the gaps
    between distinct boxes)."""
    import numpy as np

    if len(a) != len(b):
        return False
    if not a:
        return True
    A, B = np.array(a, dtype=float), np.array(b, dtype=float)
    diff = np.abs(A[:, None, :] - B[None, :, :]).max(axis=2)
    used = set()
    for i in np.argsort(diff.min(axis=1)):
        for j in np.argsort(diff[i]):
            if j not in used:
                break
        if j in used or diff[i, j] > tol:
            return False
        used.add(j)
    return True
