"""Procedural workbench photos: bolts, nuts and washers among look-alike clutter.

Why drawn and not downloaded: the demo must work offline, in seconds, identically on every
machine, and know the exact truth so that planted mistakes can be checked later.

Each scene is a textured bench (wood, concrete, cutting mat, cardboard) with scratches and
shavings, 3-9 labelled parts and 1-5 unlabelled distractors that share a part's colour or
shape (coins ~ washers/nuts, rods ~ bolt shafts, black O-rings ~ washers, hex keys), drawn in
random depth order with soft shadows so that parts occlude each other. The global zoom
changes per image (scale changes), light and focus vary, and JPEG adds its artefacts.

Determinism: everything comes from the numpy Generator passed in; pillow's drawing is exact.
Labels are amodal (the full extent of a part, even where something covers it), clipped to
the frame, in absolute pixels xyxy.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 416, 320
SS = 2  # sprites are drawn at 2x and reduced: cheap anti-aliasing of the edges

BOLT, NUT, WASHER = 0, 1, 2
DISTRACTOR_KINDS = ("coin", "rod", "oring", "hexkey")

# Most placements keep at least this share of a part visible; overlaps beyond it are rejected.
MAX_OVERLAP = 0.4


@dataclass(frozen=True)
class SceneObject:
    """A labelled part. `box` is its full extent clipped to the image; `visible` is the share
    of its pixels neither covered by something drawn later nor cut by the frame."""

    cls: int
    box: tuple[float, float, float, float]
    visible: float


@dataclass(frozen=True)
class Distractor:
    kind: str
    box: tuple[float, float, float, float]


@dataclass
class Scene:
    image: Image.Image
    objects: list[SceneObject]
    distractors: list[Distractor]


@dataclass
class _Sprite:
    mask: np.ndarray  # (h, w) float32 0..1
    colour: np.ndarray  # (h, w, 3) float32 0..255
    box: tuple[float, float, float, float]  # tight extent inside the patch, patch pixels


# ---------------------------------------------------------------- colours


def _steel(rng) -> tuple[int, int, int]:
    g = int(rng.integers(150, 205))
    return (g - 6, g, g + 8)


def _brass(rng) -> tuple[int, int, int]:
    j = rng.integers(-18, 18, size=3)
    return (int(205 + j[0]), int(162 + j[1]), int(62 + j[2]))


def _copper(rng) -> tuple[int, int, int]:
    j = rng.integers(-15, 15, size=3)
    return (int(180 + j[0]), int(105 + j[1]), int(55 + j[2]))


def _dark(rng) -> tuple[int, int, int]:
    g = int(rng.integers(28, 70))
    return (g, g, g + 4)


def _shade(c, f: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, v * f))) for v in c)


# ---------------------------------------------------------------- sprite drawing


class _Canvas:
    """A square 2x patch centred on the sprite; points are given around (0, 0) in 1x pixels."""

    def __init__(self, extent: float, base):
        self.half = int(math.ceil(extent / 2 + 4))
        side = 2 * self.half * SS
        self.mask = Image.new("L", (side, side), 0)
        self.col = Image.new("RGB", (side, side), base)
        self.dm = ImageDraw.Draw(self.mask)
        self.dc = ImageDraw.Draw(self.col)
        self.pts: list[np.ndarray] = []

    def xy(self, pts: np.ndarray) -> list[tuple[float, float]]:
        p = (np.asarray(pts, dtype=np.float64) + self.half) * SS
        return [tuple(q) for q in p]

    def ell(self, cx, cy, rx, ry) -> list[float]:
        return [(cx - rx + self.half) * SS, (cy - ry + self.half) * SS, (cx + rx + self.half) * SS, (cy + ry + self.half) * SS]

    def finish(self, extent_pts: np.ndarray) -> _Sprite:
        m = np.asarray(self.mask.reduce(SS), dtype=np.float32) / 255.0
        c = np.asarray(self.col.reduce(SS), dtype=np.float32)
        p = np.asarray(extent_pts) + self.half
        box = (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))
        return _Sprite(m, c, box)


def _rot(pts, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    p = np.asarray(pts, dtype=np.float64)
    return p @ np.array([[c, s], [-s, c]])


def _rect(u0, u1, v0, v1) -> np.ndarray:
    return np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], dtype=np.float64)


def _circle_pts(rx, ry, n=16) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1)


def _bolt(rng, size: float, base) -> _Sprite:
    """Side view: a hex head (rectangle with facet lines) and a threaded shaft."""
    length = size * rng.uniform(1.8, 2.7)
    head_len, head_h, shaft_h = 0.32 * size, 0.85 * size, 0.42 * size
    a = rng.uniform(0, 2 * math.pi)
    u0 = -length / 2
    head = _rot(_rect(u0, u0 + head_len, -head_h / 2, head_h / 2), a)
    shaft = _rot(_rect(u0 + head_len - 1, length / 2, -shaft_h / 2, shaft_h / 2), a)
    cv = _Canvas(2 * math.hypot(length / 2, head_h / 2), base)
    cv.dm.polygon(cv.xy(head), fill=255)
    cv.dm.polygon(cv.xy(shaft), fill=255)
    # shading: a light streak along the shaft, facet lines on the head, dark threads
    cv.dc.polygon(cv.xy(_rot(_rect(u0 + head_len, length / 2, -shaft_h * 0.3, -shaft_h * 0.05), a)), fill=_shade(base, 1.18))
    for f in (-0.17, 0.17):
        cv.dc.line(cv.xy(_rot([[u0, f * head_h], [u0 + head_len, f * head_h]], a)), fill=_shade(base, 0.7), width=SS)
    cv.dc.polygon(cv.xy(head[[0, 1]].tolist() + _rot([[u0 + head_len, -head_h * 0.2], [u0, -head_h * 0.2]], a).tolist()), fill=_shade(base, 1.12))
    thread_from = u0 + head_len + (length - head_len) * rng.uniform(0.15, 0.45)
    pitch = max(2.2, 0.13 * size)
    for u in np.arange(thread_from, length / 2, pitch):
        cv.dc.line(cv.xy(_rot([[u, -shaft_h / 2], [u + pitch * 0.4, shaft_h / 2]], a)), fill=_shade(base, 0.62), width=SS)
    return cv.finish(np.concatenate([head, shaft]))


def _nut(rng, size: float, base) -> _Sprite:
    """Top view: a hexagon with a chamfer ring and a threaded hole that shows the bench."""
    r = size / 2
    a = rng.uniform(0, math.pi / 3)
    t = a + np.arange(6) * math.pi / 3
    hexa = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    hole = r * rng.uniform(0.42, 0.52)
    cv = _Canvas(2 * r, base)
    cv.dm.polygon(cv.xy(hexa), fill=255)
    cv.dm.ellipse(cv.ell(0, 0, hole, hole), fill=0)
    cv.dc.polygon(cv.xy(hexa), outline=_shade(base, 0.6), width=SS)
    cv.dc.ellipse(cv.ell(0, 0, r * 0.86, r * 0.86), outline=_shade(base, 1.2), width=2 * SS)
    # light from the top-left: brighten two faces
    cv.dc.polygon(cv.xy([[0, 0], hexa[3], hexa[4]]), fill=_shade(base, 1.1))
    cv.dc.ellipse(cv.ell(0, 0, hole + 2.5, hole + 2.5), fill=_shade(base, 0.55))
    return cv.finish(hexa)


def _washer(rng, size: float, base) -> _Sprite:
    """Top view, slightly tilted: a flat ring with a bright inner bevel."""
    rx = size / 2
    ry = rx * rng.uniform(0.78, 1.0)
    inner = rng.uniform(0.44, 0.56)
    cv = _Canvas(2 * rx, base)
    cv.dm.ellipse(cv.ell(0, 0, rx, ry), fill=255)
    cv.dm.ellipse(cv.ell(0, 0, rx * inner, ry * inner), fill=0)
    cv.dc.ellipse(cv.ell(0, 0, rx, ry), outline=_shade(base, 0.62), width=SS)
    cv.dc.ellipse(cv.ell(0, 0, rx * 0.74, ry * 0.74), outline=_shade(base, 1.22), width=2 * SS)
    cv.dc.ellipse(cv.ell(0, 0, rx * inner + 1.5, ry * inner + 1.5), outline=_shade(base, 0.7), width=SS)
    return cv.finish(_circle_pts(rx, ry))


def _coin(rng, size: float, base) -> _Sprite:
    r = size / 2
    cv = _Canvas(2 * r, base)
    cv.dm.ellipse(cv.ell(0, 0, r, r), fill=255)
    cv.dc.ellipse(cv.ell(0, 0, r, r), outline=_shade(base, 0.7), width=SS)
    cv.dc.ellipse(cv.ell(0, 0, r * 0.8, r * 0.8), outline=_shade(base, 1.15), width=SS)
    # a blurry relief in the middle, unlike the washer's hole
    cv.dc.ellipse(cv.ell(rng.uniform(-2, 2), rng.uniform(-2, 2), r * 0.35, r * 0.45), fill=_shade(base, 0.88))
    return cv.finish(_circle_pts(r, r))


def _rod(rng, size: float, base) -> _Sprite:
    # longer and thinner than a bolt's shaft, and headless
    length = size * rng.uniform(3.0, 4.5)
    h = 0.3 * size
    a = rng.uniform(0, 2 * math.pi)
    body = _rot(_rect(-length / 2, length / 2, -h / 2, h / 2), a)
    cv = _Canvas(2 * math.hypot(length / 2, h / 2), base)
    cv.dm.polygon(cv.xy(body), fill=255)
    cv.dc.polygon(cv.xy(_rot(_rect(-length / 2, length / 2, -h * 0.3, -h * 0.05), a)), fill=_shade(base, 1.18))
    return cv.finish(body)


def _oring(rng, size: float, base) -> _Sprite:
    r = size / 2
    cv = _Canvas(2 * r, base)
    cv.dm.ellipse(cv.ell(0, 0, r, r), fill=255)
    cv.dm.ellipse(cv.ell(0, 0, r * 0.7, r * 0.7), fill=0)
    cv.dc.ellipse(cv.ell(0, 0, r * 0.85, r * 0.85), outline=_shade(base, 1.6), width=SS)
    return cv.finish(_circle_pts(r, r))


def _hexkey(rng, size: float, base) -> _Sprite:
    long_, short, w = size * rng.uniform(1.8, 2.6), size * rng.uniform(0.7, 1.0), 0.22 * size
    a = rng.uniform(0, 2 * math.pi)
    arm1 = _rot(_rect(-long_ / 2, long_ / 2, -w / 2, w / 2), a)
    arm2 = _rot(_rect(long_ / 2 - w, long_ / 2, -w / 2, short), a)
    cv = _Canvas(2 * math.hypot(long_ / 2, short), base)
    cv.dm.polygon(cv.xy(arm1), fill=255)
    cv.dm.polygon(cv.xy(arm2), fill=255)
    return cv.finish(np.concatenate([arm1, arm2]))


def _part_sprite(rng, cls: int, zoom: float) -> _Sprite:
    # Colour agrees with the class (nuts brass, washers steel, bolts steel or black) so that a
    # small model trained in minutes can tell them apart; the coins and rods still share
    # their colours, and shape has to decide.
    if cls == BOLT:
        base = _steel(rng) if rng.random() < 0.85 else _dark(rng)
        return _bolt(rng, _log_uniform(rng, 22, 42) * zoom, base)
    if cls == NUT:
        return _nut(rng, _log_uniform(rng, 26, 58) * zoom, _brass(rng))
    return _washer(rng, _log_uniform(rng, 28, 62) * zoom, _steel(rng))


def _distractor_sprite(rng, kind: str, zoom: float) -> _Sprite:
    if kind == "coin":
        return _coin(rng, _log_uniform(rng, 26, 56) * zoom, _copper(rng) if rng.random() < 0.6 else _brass(rng))
    if kind == "rod":
        return _rod(rng, _log_uniform(rng, 18, 34) * zoom, _steel(rng))
    if kind == "oring":
        return _oring(rng, _log_uniform(rng, 28, 60) * zoom, _dark(rng))
    return _hexkey(rng, _log_uniform(rng, 22, 40) * zoom, _dark(rng) if rng.random() < 0.7 else _steel(rng))


def _log_uniform(rng, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


# ---------------------------------------------------------------- background


def _noise(rng, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth value noise in [-1, 1]: a coarse random grid upsampled bicubically."""
    gy, gx = max(2, h * cells // w), cells
    g = rng.uniform(-1, 1, size=(gy, gx)).astype(np.float32)
    return np.asarray(Image.fromarray(g, mode="F").resize((w, h), Image.BICUBIC), dtype=np.float32)


def _background(rng, h: int, w: int) -> np.ndarray:
    kind = rng.choice(["wood", "concrete", "mat", "cardboard"])
    yy, xx = _grid(h, w)
    if kind == "wood":
        base = np.array([rng.uniform(140, 190), rng.uniform(95, 130), rng.uniform(55, 85)], dtype=np.float32)
        along, across = (xx, yy) if rng.random() < 0.5 else (yy, xx)
        warp = _noise(rng, h, w, 4) * rng.uniform(8, 20)
        grain = np.sin((across + warp + 0.02 * along) * rng.uniform(0.25, 0.6))
        v = 1 + 0.1 * grain + 0.08 * _noise(rng, h, w, 12)
    elif kind == "concrete":
        base = np.full(3, rng.uniform(110, 170), dtype=np.float32) + np.array([4, 2, 0], dtype=np.float32)
        v = 1 + 0.1 * _noise(rng, h, w, 6) + 0.06 * _noise(rng, h, w, 40) + 0.05 * rng.standard_normal((h, w), dtype=np.float32)
    elif kind == "mat":
        base = np.array([40, 105, 75], dtype=np.float32) if rng.random() < 0.6 else np.array([45, 70, 120], dtype=np.float32)
        step = rng.uniform(18, 32)
        ox, oy = rng.uniform(0, step, size=2)
        grid = ((np.mod(xx + ox, step) < 1.2) | (np.mod(yy + oy, step) < 1.2)).astype(np.float32)
        v = 1 + 0.45 * grid + 0.05 * _noise(rng, h, w, 10)
    else:
        base = np.array([rng.uniform(165, 200), rng.uniform(135, 160), rng.uniform(90, 115)], dtype=np.float32)
        v = 1 + 0.05 * _noise(rng, h, w, 20) + 0.04 * rng.standard_normal((h, w), dtype=np.float32)
    return np.clip(base[None, None, :] * v[:, :, None], 0, 255)


def _clutter(rng, img: Image.Image) -> None:
    """Scratches, metal shavings and stains: edges and blobs that are not parts."""
    d = ImageDraw.Draw(img, "RGBA")
    w, h = img.size
    for _ in range(int(rng.integers(4, 14))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        ang, ln = rng.uniform(0, 2 * math.pi), rng.uniform(10, 70)
        g = int(rng.choice([30, 230]))
        d.line([(x, y), (x + ln * math.cos(ang), y + ln * math.sin(ang))], fill=(g, g, g, int(rng.integers(40, 110))), width=1)
    for _ in range(int(rng.integers(10, 60))):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.5, 2.2)
        c = _steel(rng) if rng.random() < 0.5 else _dark(rng)
        d.ellipse([x - r, y - r, x + r, y + r], fill=c + (200,))
    for _ in range(int(rng.integers(0, 4))):  # curly shavings
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(4, 10)
        a0 = rng.uniform(0, 360)
        d.arc([x - r, y - r, x + r, y + r], a0, a0 + rng.uniform(120, 300), fill=_steel(rng) + (220,), width=1)
    for _ in range(int(rng.integers(0, 3))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(10, 40), rng.uniform(6, 25)
        d.ellipse([x - rx, y - ry, x + rx, y + ry], fill=(40, 30, 20, int(rng.integers(20, 50))))


# ---------------------------------------------------------------- composition


def _overlap_ok(box, placed: list[tuple[float, float, float, float]]) -> bool:
    """Reject a placement that would hide more than MAX_OVERLAP of itself or of another."""
    if not placed:
        return True
    p = np.asarray(placed)
    ix = np.clip(np.minimum(p[:, 2], box[2]) - np.maximum(p[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(p[:, 3], box[3]) - np.maximum(p[:, 1], box[1]), 0, None)
    inter = ix * iy
    a = (box[2] - box[0]) * (box[3] - box[1])
    pa = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    return bool(np.all(inter <= MAX_OVERLAP * np.minimum(a, pa)))


def render_scene(rng: np.random.Generator, width: int = WIDTH, height: int = HEIGHT) -> Scene:
    """Draw one scene. Same generator state in -> same pixels and boxes out."""
    canvas = _background(rng, height, width)
    bg = Image.fromarray(canvas.astype(np.uint8))
    _clutter(rng, bg)
    canvas = np.asarray(bg, dtype=np.float32).copy()
    owner = np.full((height, width), -1, dtype=np.int32)

    zoom = rng.uniform(0.75, 1.3)
    n_parts, n_distract = int(rng.integers(3, 10)), int(rng.integers(1, 6))
    items: list[tuple[str, int | str]] = [("part", int(rng.integers(0, 3))) for _ in range(n_parts)]
    items += [("distractor", str(rng.choice(DISTRACTOR_KINDS))) for _ in range(n_distract)]
    order = rng.permutation(len(items))

    placed: list[tuple[float, float, float, float]] = []
    drawn: list[tuple[str, int | str, tuple, float]] = []  # (what, cls/kind, box, total mask)
    for i in order:
        what, which = items[i]
        sp = _part_sprite(rng, which, zoom) if what == "part" else _distractor_sprite(rng, which, zoom)
        ph, pw = sp.mask.shape
        for _ in range(30):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            ox, oy = int(round(cx - pw / 2)), int(round(cy - ph / 2))
            box = (sp.box[0] + ox, sp.box[1] + oy, sp.box[2] + ox, sp.box[3] + oy)
            full = (box[2] - box[0]) * (box[3] - box[1])
            clipped = (min(box[2], width) - max(box[0], 0)) * (min(box[3], height) - max(box[1], 0))
            if clipped >= 0.75 * full and _overlap_ok(box, placed):
                break
        else:
            continue  # no room: leave it out
        placed.append(box)
        k = len(drawn)
        drawn.append((what, which, box, float(sp.mask.sum())))
        _paste(canvas, owner, sp, ox, oy, k, rng)

    canvas = _photograph(rng, canvas)
    img = Image.fromarray(canvas)
    if rng.random() < 0.5:  # focus varies
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))

    counts = np.bincount(owner.ravel() + 1, minlength=len(drawn) + 1)[1:]
    objects, distractors = [], []
    for k, (what, which, box, total) in enumerate(drawn):
        cb = (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))
        cb = tuple(round(v, 2) for v in cb)
        if what == "part":
            objects.append(SceneObject(int(which), cb, round(float(counts[k]) / max(total, 1.0), 3)))
        else:
            distractors.append(Distractor(str(which), cb))
    return Scene(img, objects, distractors)


def _paste(canvas: np.ndarray, owner: np.ndarray, sp: _Sprite, ox: int, oy: int, k: int, rng) -> None:
    """Soft shadow below-right, then the sprite, both clipped to the frame."""
    h, w = owner.shape
    shadow = np.asarray(Image.fromarray((sp.mask * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2.0)), dtype=np.float32) / 255.0
    for (m, dx, dy, is_shadow) in ((shadow, 3, 3, True), (sp.mask, 0, 0, False)):
        ph, pw = m.shape
        x0, y0 = ox + dx, oy + dy
        sx0, sy0 = max(0, -x0), max(0, -y0)
        sx1, sy1 = min(pw, w - x0), min(ph, h - y0)
        if sx1 <= sx0 or sy1 <= sy0:
            continue
        mm = m[sy0:sy1, sx0:sx1, None]
        region = canvas[y0 + sy0:y0 + sy1, x0 + sx0:x0 + sx1]
        if is_shadow:
            region *= 1 - 0.45 * mm
        else:
            region[:] = region * (1 - mm) + sp.colour[sy0:sy1, sx0:sx1] * mm
            owner[y0 + sy0:y0 + sy1, x0 + sx0:x0 + sx1][mm[:, :, 0] > 0.5] = k


def _photograph(rng, canvas: np.ndarray) -> np.ndarray:
    """Uneven light (a tilt plus a vignette), exposure and sensor noise, in place."""
    h, w, _ = canvas.shape
    x = np.linspace(-0.5, 0.5, w, dtype=np.float32)
    y = np.linspace(-0.5, 0.5, h, dtype=np.float32)
    gx, gy = rng.uniform(-0.25, 0.25, size=2)
    expo = np.float32(rng.uniform(0.8, 1.15))
    light = ((1 + gy * y - 0.25 * y * y)[:, None] + (gx * x - 0.25 * x * x)[None, :]) * expo
    canvas *= light[:, :, None]
    canvas += rng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(rng.uniform(2, 6))
    return np.clip(canvas, 0, 255, out=canvas).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx
