"""Image sizes from file headers, in the EXIF-rotated frame, without decoding pixels.

PIL's Image.open() reads only the header; we never call load(). EXIF orientation 5..8
(transpose / rotate 90 / transverse / rotate 270) swaps width and height, which is what
ultralytics, OpenCV and every viewer show, so labels and COCO width/height refer to it.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from PIL import Image

from .headers import fast_header

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".mpo", ".dng", ".pfm",
                        ".heic"})
_ORIENTATION = 0x0112
_SWAPPING = frozenset({5, 6, 7, 8})
# Formats whose getexif() reads EXIF from the header. PNG's getexif() would decode the whole
# image to look for a trailing eXIf chunk, so for PNG and the rest we use what open() saw.
_HEADER_EXIF = frozenset({"JPEG", "MPO", "TIFF", "WEBP"})

Image.MAX_IMAGE_PIXELS = None  # huge aerial images are legitimate; we never decode them here


def is_image(path: str | os.PathLike) -> bool:
    return os.path.splitext(str(path))[1].lower() in IMAGE_EXTS


def _orientation(im: Image.Image) -> int:
    try:
        if im.format in _HEADER_EXIF:
            return int(im.getexif().get(_ORIENTATION, 1) or 1)
        raw = im.info.get("exif")
        if raw:
            exif = Image.Exif()
            exif.load(raw)
            return int(exif.get(_ORIENTATION, 1) or 1)
    except Exception:  # a broken EXIF block must not make the image unreadable
        return 1
    return 1


def image_size(path: str | os.PathLike) -> tuple[int, int, str | None]:
    """(width, height, error). On failure width = height = 0 and error is one sentence.
    PNG and JPEG headers are parsed directly (headers.py); anything else, or any doubt, by PIL."""
    if "\x00" in os.fspath(path):
        return 0, 0, "the file name contains a NUL byte"  # open() would raise ValueError
    try:
        fast = fast_header(path)
    except FileNotFoundError:
        return 0, 0, "image file not found"
    except OSError:
        fast = None
    if fast is not None and fast[0] > 0 and fast[1] > 0:
        w, h, orientation = fast
        return (h, w, None) if orientation in _SWAPPING else (w, h, None)
    return _pil_size(path)


def _pil_size(path) -> tuple[int, int, str | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
                if _orientation(im) in _SWAPPING:
                    w, h = h, w
    except FileNotFoundError:
        return 0, 0, "image file not found"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return 0, 0, f"not a readable image ({type(exc).__name__}: {exc})"
    except Exception as exc:  # noqa: BLE001 - PIL plugins raise anything on garbage; report, never crash
        return 0, 0, f"not a readable image ({type(exc).__name__}: {exc})"
    if w <= 0 or h <= 0:
        return 0, 0, f"image has no pixels ({w}x{h})"
    return int(w), int(h), None


def list_image_paths(folder: str | os.PathLike) -> list[str]:
    """Absolute paths (strings) of all images under `folder`, recursively, sorted; hidden
    files and folders skipped. Strings, not Paths: 100,000 Path objects cost seconds."""
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.abspath(folder)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [os.path.join(dirpath, n) for n in filenames
                if not n.startswith(".") and os.path.splitext(n)[1].lower() in IMAGE_EXTS]
    out.sort(key=lambda p: p.replace(os.sep, "/"))
    return out


def list_images(folder: Path) -> list[Path]:
    """All image files under `folder`, recursively, sorted by posix path (deterministic)."""
    base = Path(folder)
    return [base / os.path.relpath(p, os.path.abspath(folder)) for p in list_image_paths(folder)]
