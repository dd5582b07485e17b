"""A bare folder of images: no labels (labelled=False on every image)."""
from __future__ import annotations

import os
from pathlib import Path

from ..model import DatasetRead, ImageRecord, Split
from .common import FormatError, ProblemLog
from .images import image_size, list_images


def read_folder(src, progress=None) -> DatasetRead:
    src = Path(src)
    if not src.is_dir():
        raise FormatError(f"{src}: not a folder")
    root = str(src.resolve())
    paths = list_images(Path(root))
    if not paths:
        raise FormatError(f"{src}: no images in this folder")
    log = ProblemLog()
    records = []
    for p in paths:
        rel = os.path.relpath(p, root).replace(os.sep, "/")
        w, h, err = image_size(p)
        if err:
            log.add("unreadable-image", rel, err, "imported with an error mark", severity="error")
        records.append(ImageRecord(rel, w, h, Split.NONE, (), err, None, False))
        if progress:
            progress(1)
    return DatasetRead(root=root, format="folder", classes=[], images=iter(records), problems=log.finish())
