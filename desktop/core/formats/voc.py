"""Pascal VOC: a folder of XML files, one per image. Reading only.

Pixel convention read (stated, because tools disagree): VOC coordinates are 1-based pixel
indices, and a box covers pixels xmin..xmax INCLUSIVE. In BoxFix's continuous 0-based frame
pixel i (1-based) spans [i-1, i], so the box is
    x0 = xmin - 1,  y0 = ymin - 1,  x1 = xmax,  y1 = ymax
(width = xmax - xmin + 1, as in the VOC devkit). Tools that write 0-based VOC will read one
pixel larger at the top-left; the difference is at most 1 px.
`difficult` and `truncated` are read but BoxFix has no place for them: such boxes are imported
as ordinary boxes and counted in the report.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse as safe_parse

from ..model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord, Split
from .common import FormatError, ProblemLog, common_root
from .images import image_size, list_images

ANNOTATION_DIRS = ("Annotations", "annotations", "voc_annotations", "xml", "labels_xml")
IMAGE_DIRS = ("images", "JPEGImages", "Images", ".")


def xml_folder(src: Path) -> Path | None:
    """The folder holding the XML files: src itself or a known annotations subfolder."""
    if src.is_dir():
        if any(src.glob("*.xml")):
            return src
        for name in ANNOTATION_DIRS:
            if (src / name).is_dir() and any((src / name).glob("*.xml")):
                return src / name
    return None


def read_voc(src, progress=None) -> DatasetRead:
    src = Path(src)
    if src.is_file() and src.suffix.lower() == ".xml":
        xml_files, folder = [src], src.parent
    else:
        folder = xml_folder(src)
        if folder is None:
            raise FormatError(f"{src}: no Pascal VOC XML files here (looked in the folder and in "
                              f"{', '.join(ANNOTATION_DIRS)})")
        xml_files = sorted(folder.glob("*.xml"))
    log = ProblemLog()
    names = _class_list(folder)
    name_to_idx = {n: i for i, n in enumerate(names)}
    parsed = []
    for xf in xml_files:
        p = _parse(xf, log)
        if p is not None:
            parsed.append((xf, *p))
        if progress:
            progress(1)
    # Image folder: the one that holds the most images (the XML folder, ../images, ../JPEGImages ...).
    cands = [folder, *[folder.parent / d for d in IMAGE_DIRS]]
    sample = parsed[:200]
    best = max(cands, key=lambda c: sum(os.path.exists(c / fn) for _, fn, *_ in sample if fn))
    full_paths = [os.path.normpath(best / fn) if fn else None for _, fn, *_ in parsed]
    root = common_root([p for p in full_paths if p] or [str(folder / "x")], str(folder.parent.resolve()))
    prefix = root.rstrip(os.sep) + os.sep
    records, seen = [], {}
    difficult = 0
    for (xf, fname, size, objects), full in zip(parsed, full_paths):
        if full is None:
            log.add("xml", xf.name, "no <filename>", "file skipped", severity="error")
            continue
        full = os.path.abspath(full)
        rel = (full[len(prefix):] if full.startswith(prefix) else os.path.relpath(full, root)).replace(os.sep, "/")
        if rel in seen:
            log.add("xml", xf.name, f"{rel} is also described by {seen[rel]}", "kept the first", severity="error")
            continue
        seen[rel] = xf.name
        w, h, err = image_size(full)
        if err:
            log.add("missing-image" if "not found" in err else "unreadable-image", rel, err,
                    "imported with an error mark; boxes kept (sizes from the XML)", severity="error")
            w, h = size or (0, 0)
        elif size and size != (w, h) and size != (0, 0):
            log.add("size", xf.name, f"<size> says {size[0]}x{size[1]}, the file is {w}x{h} (EXIF-rotated)",
                    "used the file's size")
        labels = []
        for line, name, box, diff in objects:
            if name not in name_to_idx:
                name_to_idx[name] = len(names)
                names.append(name)
            difficult += diff
            if box.x1 <= box.x0 or box.y1 <= box.y0:
                log.add("zero-area", xf.name, f"object '{name}': zero-area box", "kept as is", line=line)
            elif w and h and (box.x0 < 0 or box.y0 < 0 or box.x1 > w or box.y1 > h):
                log.add("outside", xf.name, f"object '{name}': box extends outside the {w}x{h} image", "kept as is",
                        line=line)
            labels.append(LabelRecord(box, name_to_idx[name]))
        records.append(ImageRecord(rel, int(w), int(h), Split.NONE, tuple(labels), err, None, True))
    if difficult:
        log.add("difficult", str(folder.name), f"{difficult} boxes are marked difficult",
                "imported as ordinary boxes (BoxFix keeps no difficult flag)")
    _unlabelled_images(best, seen, prefix, root, records)
    classes = [ClassInfo(i, n) for i, n in enumerate(names)]
    return DatasetRead(root=root, format="voc", classes=classes, images=iter(records), problems=log.finish())


def _class_list(folder: Path) -> list[str]:
    for p in (folder / "classes.txt", folder.parent / "classes.txt", folder.parent / "labels.txt"):
        if p.is_file():
            return [n.strip() for n in p.read_text(encoding="utf-8-sig", errors="replace").splitlines() if n.strip()]
    return []


def _text(el, tag):
    found = el.find(tag)
    return found.text.strip() if found is not None and found.text else None


def _parse(xf: Path, log: ProblemLog):
    try:
        # defusedxml refuses entity declarations and external entities whatever the expat
        # version: billion-laughs and XXE files never expand.
        tree = safe_parse(xf)
    except DefusedXmlException as exc:
        log.add("xml", xf.name, f"refused: {exc} (entity declarations are not allowed in VOC files)",
                "file skipped", severity="error")
        return None
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        log.add("xml", xf.name, f"not valid XML ({exc})", "file skipped", line=line, severity="error")
        return None
    except (OSError, ValueError, RecursionError) as exc:
        log.add("xml", xf.name, f"cannot be read ({exc})", "file skipped", severity="error")
        return None
    ann = tree.getroot()
    fname = _text(ann, "filename")
    if fname:
        fname = fname.replace("\\", "/")
    elif (p := _text(ann, "path")):
        fname = os.path.basename(p.replace("\\", "/"))
    size = None
    sz = ann.find("size")
    if sz is not None:
        try:
            size = (int(float(_text(sz, "width"))), int(float(_text(sz, "height"))))
        except (TypeError, ValueError, OverflowError):
            size = None
        if size and (size[0] <= 0 or size[1] <= 0):
            size = None  # <size> 0x0 or negative: unknown
    objects = []
    for i, obj in enumerate(ann.iter("object"), start=1):
        name = _text(obj, "name")
        bb = obj.find("bndbox")
        try:
            vals = [float(_text(bb, k)) for k in ("xmin", "ymin", "xmax", "ymax")]
        except (TypeError, ValueError, AttributeError):
            log.add("malformed", xf.name, f"object #{i}: <bndbox> lacks 4 numbers", "object skipped",
                    severity="error")
            continue
        if not all(v == v and abs(v) != float("inf") for v in vals) or not name:
            log.add("malformed", xf.name, f"object #{i}: NaN/infinite coordinate or no <name>", "object skipped",
                    severity="error")
            continue
        xmin, ymin, xmax, ymax = vals
        diff = _text(obj, "difficult") in ("1", "true", "True")
        objects.append((None, name, Box(xmin - 1.0, ymin - 1.0, xmax, ymax), diff))
    return fname, size, objects


def _unlabelled_images(image_folder: Path, seen: dict, prefix: str, root: str, records: list) -> None:
    """Images in the image folder without an XML: background images, imported unlabelled."""
    if not image_folder.is_dir() or image_folder == image_folder.parent:
        return
    for p in list_images(image_folder):
        full = os.path.abspath(p)
        rel = (full[len(prefix):] if full.startswith(prefix) else os.path.relpath(full, root)).replace(os.sep, "/")
        if rel not in seen:
            w, h, err = image_size(full)
            records.append(ImageRecord(rel, w, h, Split.NONE, (), err, None, False))
