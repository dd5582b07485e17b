"""Dataset readers and writers. `read_dataset(src, format)` returns a DatasetRead for
Store.import_dataset; writers live in export.py. Conventions: docs/formats.md."""
from __future__ import annotations

import os
from pathlib import Path

from ..model import DatasetRead
from .common import FormatError

FORMATS = ("yolo", "coco", "voc", "folder")

__all__ = ["FORMATS", "FormatError", "detect_format", "read_dataset"]


def detect_format(src: str | os.PathLike) -> str:
    """yolo (a .yaml, or a folder with data.yaml / images+labels / .txt beside images), coco
    (a .json, or a folder with COCO JSON), voc (.xml files, or an Annotations folder), folder
    (images only). Checked in that order, so a folder holding several wins as YOLO."""
    from .coco import find_coco_files
    from .images import is_image
    from .voc import xml_folder
    from .yolo import find_yaml

    src = Path(src)
    if src.is_file():
        suffix = src.suffix.lower()
        if suffix in (".yaml", ".yml"):
            return "yolo"
        if suffix == ".json":
            return "coco"
        if suffix == ".xml":
            return "voc"
        raise FormatError(f"{src}: cannot tell the format of this file (expected .yaml, .json or .xml)")
    if not src.is_dir():
        raise FormatError(f"{src}: no such file or folder")
    if find_yaml(src) is not None or (src / "labels").is_dir():
        return "yolo"
    if find_coco_files(src):
        return "coco"
    if xml_folder(src) is not None:
        return "voc"
    has_txt = has_image = False
    for _dirpath, _dirs, files in os.walk(src):
        for f in files:
            if f.endswith(".txt") and f != "classes.txt":
                has_txt = True
            elif is_image(f):
                has_image = True
        if has_txt and has_image:
            return "yolo"
    if has_image:
        return "folder"
    raise FormatError(f"{src}: no dataset found (no data.yaml, COCO JSON, VOC XML or images)")


def read_dataset(src: str | os.PathLike, format: str = "auto", progress=None) -> DatasetRead:
    """Read a dataset. Raises FormatError (one sentence naming the file) when nothing can be
    imported; every lesser problem is in the returned DatasetRead.problems. `progress(n)` is
    called as images are read."""
    fmt = detect_format(src) if format in ("auto", None) else format
    if fmt == "yolo":
        from .yolo import read_yolo
        return read_yolo(src, progress)
    if fmt == "coco":
        from .coco import read_coco
        return read_coco(src, progress)
    if fmt == "voc":
        from .voc import read_voc
        return read_voc(src, progress)
    if fmt == "folder":
        from .folder import read_folder
        return read_folder(src, progress)
    raise FormatError(f"unknown format {format!r} (choose one of auto, {', '.join(FORMATS)})")


def import_project(src: str | os.PathLike, project: str | os.PathLike, format: str = "auto",
                   overwrite: bool = False, progress=None, read_progress=None):
    """Read `src` and write it into a new project file whose dataset root is the reader's.
    Returns (store, summary); the caller closes the store. A failed import removes the file."""
    from ..store import Store

    read = read_dataset(src, format, read_progress)
    store = Store.create(project, read.root, overwrite=overwrite)
    try:
        summary = store.import_dataset(read, progress=progress)
    except BaseException:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(project) + suffix).unlink(missing_ok=True)
        raise
    return store, summary
