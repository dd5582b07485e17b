"""Before/after thumbnails for the HTML report, drawn with PIL.

Boxes are in the EXIF-rotated frame (BoxFix's convention), so the image is exif-transposed
before drawing. Originals that changed or were deleted are drawn dashed; current boxes that
were added or changed are drawn solid and thick; unchanged boxes thin, so the eye goes to
the edits. Each thumbnail is downscaled and returned as JPEG bytes.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageOps

THUMB_MAX_SIDE = 320
JPEG_QUALITY = 80
_FALLBACK = (255, 64, 64)


def _rgb(color: str) -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(color)[:3]
    except (ValueError, AttributeError):
        return _FALLBACK


def _dashed_rect(draw: ImageDraw.ImageDraw, xyxy, fill, width: int, dash: float = 6.0, gap: float = 4.0) -> None:
    x0, y0, x1, y1 = xyxy
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        if length <= 0:
            continue
        ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
        t = 0.0
        while t < length:
            e = min(t + dash, length)
            draw.line([(a[0] + ux * t, a[1] + uy * t), (a[0] + ux * e, a[1] + uy * e)], fill=fill, width=width)
            t = e + gap


def _load(path: Path, width: int, height: int) -> tuple[Image.Image, bool]:
    """The image in its EXIF-rotated frame, or a grey placeholder of the stored size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                im.draft("RGB", (THUMB_MAX_SIDE * 2, THUMB_MAX_SIDE * 2))  # fast JPEG downscale on load
                # draft() may shrink the image; render() scales to the stored full size anyway.
                return ImageOps.exif_transpose(im).convert("RGB"), True
    except Exception:  # noqa: BLE001 - a missing or broken image still gets its boxes drawn
        return Image.new("RGB", (max(int(width), 1), max(int(height), 1)), (90, 90, 90)), False


def render(path: Path, width: int, height: int, original: list, current: list,
           changed_original: set[int], changed_current: set[int], colors: dict[int, str],
           max_side: int = THUMB_MAX_SIDE) -> bytes:
    """JPEG bytes of one thumbnail. `original`/`current` are store Labels; the changed sets
    hold the label ids to emphasise (deleted/moved/relabelled originals; added/edited current)."""
    im, found = _load(path, width, height)
    # Box coordinates refer to the full-size rotated image (width x height as stored).
    full_w, full_h = (width, height) if width > 0 and height > 0 else im.size
    scale = min(1.0, max_side / max(full_w, full_h))
    out_w, out_h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
    im = im.resize((out_w, out_h), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(im)
    if not found:
        draw.text((4, 4), "image not found", fill=(255, 255, 255))

    def xy(box):
        return (box.x0 * scale, box.y0 * scale, max(box.x0, box.x1) * scale, max(box.y0, box.y1) * scale)

    for lab in current:
        if lab.id not in changed_current:
            draw.rectangle(xy(lab.box), outline=_rgb(colors.get(lab.cls, "")), width=1)
    for lab in original:
        if lab.id in changed_original:
            _dashed_rect(draw, xy(lab.box), _rgb(colors.get(lab.cls, "")), width=2)
    for lab in current:
        if lab.id in changed_current:
            draw.rectangle(xy(lab.box), outline=_rgb(colors.get(lab.cls, "")), width=3)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue()
