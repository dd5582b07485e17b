"""Draw BoxFix's application icon in the usual sizes (no binary source needed): a dashed
prediction box over a solid label box, with a check mark. Run: python packaging/make_icons.py"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 32, 48, 64, 128, 256, 512)
OUT = Path(__file__).resolve().parent / "icons"


def draw(size: int) -> Image.Image:
    s = 4 * size  # supersample, then downscale for smooth edges
    im = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    r = s // 8
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=r, fill=(32, 38, 52, 255))
    w = max(2, s // 22)
    d.rectangle((s * 0.16, s * 0.22, s * 0.70, s * 0.78), outline=(60, 180, 75, 255), width=w)
    x0, y0, x1, y1 = s * 0.30, s * 0.14, s * 0.86, s * 0.66
    dash = s // 14
    for x in range(int(x0), int(x1), 2 * dash):
        d.line((x, y0, min(x + dash, x1), y0), fill=(245, 130, 49, 255), width=w)
        d.line((x, y1, min(x + dash, x1), y1), fill=(245, 130, 49, 255), width=w)
    for y in range(int(y0), int(y1), 2 * dash):
        d.line((x0, y, x0, min(y + dash, y1)), fill=(245, 130, 49, 255), width=w)
        d.line((x1, y, x1, min(y + dash, y1)), fill=(245, 130, 49, 255), width=w)
    d.line((s * 0.50, s * 0.80, s * 0.62, s * 0.90, s * 0.88, s * 0.62), fill=(255, 255, 255, 255), width=2 * w)
    return im.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for size in SIZES:
        draw(size).save(OUT / f"boxfix-{size}.png")


if __name__ == "__main__":
    main()
