"""A read-only snapshot of what prediction readers match against: the project's images (by
path, by path suffix, by COCO id, by project id) and classes (by index, name, COCO id).

Built once per import from Store.images() / Store.classes(), so readers never run a query
per row, and tests can build one without a project file."""
from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass, field

from ..model import ClassInfo, ImageInfo
from ..formats.coco_write import fresh_ids  # the exporter's id rule: the two must agree


def coco_image_ids(images: list[ImageInfo]) -> dict[int, int]:
    """Project image id -> COCO image id: the id the image came with from COCO, else the next
    free id in project order (for a project not from COCO: 1, 2, 3, ... in import order)."""
    images = sorted(images, key=lambda im: im.id)
    return dict(zip([im.id for im in images], fresh_ids([im.source_id for im in images])))


def coco_category_ids(classes: list[ClassInfo]) -> dict[int, int]:
    """Project class index -> COCO category id: the id it came with from COCO, else (a
    project that never had COCO ids) index + 1, else the next free id."""
    classes = sorted(classes, key=lambda c: c.idx)
    any_source = any(c.source_id is not None for c in classes)
    wanted = [c.source_id if any_source else c.idx + 1 for c in classes]
    return dict(zip([c.idx for c in classes], fresh_ids(wanted)))


def normalize_path(path: str) -> str:
    """Posix, no leading './', no duplicate slashes: how project image paths are stored."""
    p = str(path).replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return posixpath.normpath(p) if p else p


@dataclass
class ProjectIndex:
    images: list[ImageInfo]
    classes: list[ClassInfo]
    dataset_root: str = ""
    by_path: dict[str, ImageInfo] = field(init=False)
    by_id: dict[int, ImageInfo] = field(init=False)
    _suffixes: dict[str, list[ImageInfo]] | None = field(init=False, default=None)
    _suffixes_noext: dict[str, list[ImageInfo]] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.by_path = {im.path: im for im in self.images}
        self.by_id = {im.id: im for im in self.images}
        self.coco_image_of = coco_image_ids(self.images)
        self.coco_category_of = coco_category_ids(self.classes)
        self.by_coco_id = {self.coco_image_of[im.id]: im for im in self.images}
        self.from_coco_images = any(im.source_id is not None for im in self.images)
        self.from_coco_classes = any(c.source_id is not None for c in self.classes)
        self.class_by_idx = {c.idx: c for c in self.classes}
        self.class_by_name = {c.name: c for c in self.classes}
        self.class_by_coco_id = {self.coco_category_of[c.idx]: c for c in self.classes}

    @classmethod
    def from_store(cls, store) -> "ProjectIndex":
        return cls(store.images(), store.classes(), str(store.dataset_root))

    # ------------------------------------------------------------------ image lookup
    def find_image(self, path: str) -> tuple[ImageInfo | None, str]:
        """Match a path as a producer wrote it. Returns (image, how) where how is 'exact',
        'suffix' (an absolute or longer path that ends with a project path), 'ambiguous' or
        'missing'. Matching by suffix lets a cluster's /mnt/data/x/images/a.jpg find images/a.jpg."""
        p = normalize_path(path)
        im = self.by_path.get(p)
        if im is not None:
            return im, "exact"
        root = normalize_path(self.dataset_root) if self.dataset_root else ""
        if root and p.startswith(root + "/"):
            im = self.by_path.get(p[len(root) + 1:])
            if im is not None:
                return im, "exact"
        return self._by_suffix(p, noext=False)

    def find_image_noext(self, path_noext: str) -> tuple[ImageInfo | None, str]:
        """Match a path without its extension (YOLO's labels/<stem>.txt names no extension)."""
        return self._by_suffix(normalize_path(path_noext), noext=True)

    def _by_suffix(self, p: str, noext: bool) -> tuple[ImageInfo | None, str]:
        table = self._suffix_table(noext)
        parts = p.split("/")
        # The longest tail of the given path that names project images decides.
        for start in range(len(parts)):
            cands = table.get("/".join(parts[start:]))
            if cands:
                if len(cands) == 1:
                    return cands[0], ("exact" if start == 0 and not noext else "suffix")
                return None, "ambiguous"
        return None, "missing"

    def _suffix_table(self, noext: bool) -> dict[str, list[ImageInfo]]:
        attr = "_suffixes_noext" if noext else "_suffixes"
        table = getattr(self, attr)
        if table is None:
            table = defaultdict(list)
            for im in self.images:
                path = posixpath.splitext(im.path)[0] if noext else im.path
                parts = path.split("/")
                for start in range(len(parts)):
                    table["/".join(parts[start:])].append(im)
            setattr(self, attr, table)
        return table
