"""Plant label mistakes into clean demo truth and write the YOLO dataset plus its manifest.

The mistakes are the kinds BoxFix's issue finder knows (`IssueKind` values):
- missing:      a true box is dropped from the label file;
- localization: a true box is shifted and/or rescaled so that its IoU with the truth is
                between 0.3 and 0.7 ("shifted box");
- class:        a true box keeps its geometry but gets another class;
- spurious:     a box on no part (on a distractor such as a coin when there is one);
- duplicate:    a second, near-identical box (corners within 0.6 px) of the same class on a part;
- degenerate:   exactly one zero-width box (a mis-click), in the whole dataset.

About 6% of the images carry them (some carry two). missing / localization / class /
duplicate are planted only on parts that are clearly visible (>= 80% unoccluded, both sides
>= 16 px): a demo should show mistakes a reviewer can judge, not ones on parts hidden under
others.

Manifest (`demo_truth.json`, written beside the dataset folder so that no importer mistakes
it for an annotation file): the clean truth of every image and each planted mistake with the
image path (relative to the dataset root, posix, as the store keeps it), its kind, the clean
box/class and the planted box/class. Boxes are absolute pixels xyxy, like BoxFix's `Box`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from desktop.core.geometry import iou_matrix

from . import CLASS_NAMES, GENERATOR_VERSION
from .scene import Scene

MANIFEST_NAME = "demo_truth.json"
JPEG_QUALITY = 88

# Mistakes planted in a 200-image demo; scaled linearly for other sizes (at least one of
# each kind, exactly one degenerate box).
KIND_COUNTS_200 = {"missing": 4, "localization": 4, "class": 4, "spurious": 3, "duplicate": 2, "degenerate": 1}
IMAGE_SHARE = 0.06
MIN_VISIBLE, MIN_SIDE = 0.8, 16.0
SHIFT_IOU_RANGE = (0.3, 0.7)  # what the spec asks of a shifted box
SHIFT_IOU_TARGET = (0.4, 0.62)  # what we aim for, inside the range even after clipping


@dataclass(frozen=True)
class DemoImage:
    """One image to write: its relative path, split, clean truth and the written labels."""

    path: str  # e.g. "images/train/bench_0003.jpg"
    split: str
    scene: Scene
    labels: list[tuple[int, tuple[float, float, float, float]]]


def mistake_counts(n_images: int) -> dict[str, int]:
    counts = {k: max(1, round(v * n_images / 200)) for k, v in KIND_COUNTS_200.items()}
    counts["degenerate"] = 1
    return counts


def _truth(scene: Scene) -> list[tuple[int, tuple[float, float, float, float]]]:
    return [(o.cls, tuple(o.box)) for o in scene.objects]


def _eligible(scene: Scene, used: set[int]) -> list[int]:
    return [
        i for i, o in enumerate(scene.objects)
        if i not in used and o.visible >= MIN_VISIBLE
        and o.box[2] - o.box[0] >= MIN_SIDE and o.box[3] - o.box[1] >= MIN_SIDE
    ]


def _iou(a, b) -> float:
    return float(iou_matrix(np.asarray(a)[None], np.asarray(b)[None])[0, 0])


def _shifted(rng, box, width: int, height: int):
    """A box whose IoU with `box` lies in SHIFT_IOU_RANGE: rescale a little, then slide it
    along a random direction until the IoU reaches a random target (bisection)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    for _ in range(50):
        target = rng.uniform(*SHIFT_IOU_TARGET)
        s = rng.uniform(0.8, 1.25)
        cx, cy, sw, sh = (x0 + x1) / 2, (y0 + y1) / 2, w * s, h * rng.uniform(0.85, 1.15) * s
        phi = rng.uniform(0, 2 * math.pi)
        dx, dy = math.cos(phi) * w, math.sin(phi) * h

        def make(t):
            c = (cx + t * dx, cy + t * dy)
            return (c[0] - sw / 2, c[1] - sh / 2, c[0] + sw / 2, c[1] + sh / 2)

        if _iou(make(0.0), box) < target:
            continue  # the rescale alone went too far; draw again
        lo, hi = 0.0, 1.5
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _iou(make(mid), box) > target else (lo, mid)
        b = make(hi)
        b = (max(0.0, b[0]), max(0.0, b[1]), min(float(width), b[2]), min(float(height), b[3]))
        b = tuple(round(v, 2) for v in b)
        if b[2] - b[0] >= 6 and b[3] - b[1] >= 6 and SHIFT_IOU_RANGE[0] <= _iou(b, box) <= SHIFT_IOU_RANGE[1]:
            return b
    raise RuntimeError("could not shift a box into the IoU range")  # not reached in practice


def _spurious_box(rng, scene: Scene, labels, width: int, height: int):
    """Prefer a distractor (someone labelled a coin as a washer); else an empty patch. It
    overlaps no true part and no label already in the image."""
    truth = np.asarray([o.box for o in scene.objects] + [b for _, b in labels]).reshape(-1, 4)
    for d in rng.permutation(len(scene.distractors)):
        b = scene.distractors[int(d)].box
        if min(b[2] - b[0], b[3] - b[1]) >= 12 and iou_matrix(np.asarray(b)[None], truth).max(initial=0) < 0.1:
            return tuple(b), scene.distractors[int(d)].kind
    for _ in range(200):
        s = rng.uniform(24, 56)
        x, y = rng.uniform(0, width - s), rng.uniform(0, height - s)
        b = (round(x, 2), round(y, 2), round(x + s, 2), round(y + s * rng.uniform(0.8, 1.2), 2))
        if b[3] <= height and iou_matrix(np.asarray(b)[None], truth).max(initial=0) < 0.05:
            return b, "background"
    raise RuntimeError("no room for a spurious box")


def plant(images: list[DemoImage], rng: np.random.Generator, width: int, height: int) -> tuple[list[DemoImage], list[dict]]:
    """Return the images with planted labels and the list of planted mistakes."""
    counts = mistake_counts(len(images))
    kinds = [k for k, n in counts.items() for _ in range(n)]
    n_carriers = min(len(images), max(math.ceil(len(kinds) / 2), round(IMAGE_SHARE * len(images))))
    # carriers need room for two target parts
    candidates = [i for i in rng.permutation(len(images)) if len(_eligible(images[i].scene, set())) >= 2]
    carriers = [int(i) for i in candidates[:n_carriers]]
    if len(carriers) < n_carriers:
        raise RuntimeError("too few images with clearly visible parts to plant mistakes")
    rng.shuffle(kinds)
    # the first len(carriers) kinds go one per image; the rest to distinct other carriers
    extra = rng.permutation(len(carriers))
    assignment = [carriers[j] for j in range(len(carriers))] + [carriers[int(extra[j % len(carriers)])] for j in range(len(kinds) - len(carriers))]

    labels = {i: list(_truth(im.scene)) for i, im in enumerate(images)}
    drop: dict[int, set[int]] = {}
    used: dict[int, set[int]] = {}
    mistakes: list[dict] = []
    for kind, i in sorted(zip(kinds, assignment), key=lambda t: t[1]):
        im = images[i]
        scene = im.scene
        u = used.setdefault(i, set())
        entry = {"image": im.path, "kind": kind, "truth_index": None, "clean": None, "planted": None}
        if kind in ("missing", "localization", "class", "duplicate"):
            free = _eligible(scene, u)
            t = int(rng.choice(free))
            u.add(t)
            cls, box = labels[i][t]
            entry.update(truth_index=t, clean={"cls": cls, "box": list(box)})
            if kind == "missing":
                drop.setdefault(i, set()).add(t)
            elif kind == "localization":
                nb = _shifted(rng, box, width, height)
                labels[i][t] = (cls, nb)
                entry["planted"] = {"cls": cls, "box": list(nb)}
            elif kind == "class":
                # nuts and washers get confused with each other more than with bolts
                other = {0: [1, 2], 1: [2, 2, 0], 2: [1, 1, 0]}[cls]
                nc = int(rng.choice(other))
                labels[i][t] = (nc, box)
                entry["planted"] = {"cls": nc, "box": list(box)}
            else:
                j = rng.uniform(-0.6, 0.6, size=4)
                nb = tuple(round(float(v + d), 2) for v, d in zip(box, j))
                labels[i].append((cls, nb))
                entry["planted"] = {"cls": cls, "box": list(nb)}
        elif kind == "spurious":
            b, on = _spurious_box(rng, scene, labels[i], width, height)
            c = int(rng.integers(0, len(CLASS_NAMES)))
            labels[i].append((c, b))
            entry["planted"] = {"cls": c, "box": list(b), "on": on}
        else:  # degenerate: a zero-width box, as a stray click leaves
            x = round(float(rng.uniform(20, width - 20)), 2)
            y = float(rng.uniform(20, height - 60))
            b = (x, round(y, 2), x, round(y + rng.uniform(12, 30), 2))
            c = int(rng.integers(0, len(CLASS_NAMES)))
            labels[i].append((c, b))
            entry["planted"] = {"cls": c, "box": list(b)}
        mistakes.append(entry)

    out = []
    for i, im in enumerate(images):
        keep = [lab for k, lab in enumerate(labels[i]) if k not in drop.get(i, set())]
        # shuffle rows of carriers so that appended boxes are not always last
        if i in used:
            keep = [keep[int(k)] for k in rng.permutation(len(keep))]
        out.append(DemoImage(im.path, im.split, im.scene, keep))
    for n, m in enumerate(mistakes):
        m["id"] = n
    return out, mistakes


# ---------------------------------------------------------------- writing


def yolo_row(cls: int, box, width: int, height: int) -> str:
    x0, y0, x1, y1 = box
    return f"{cls} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} {(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}"


def write_dataset(root: Path, images: list[DemoImage], mistakes: list[dict] | None, meta: dict) -> Path | None:
    """Write images/{split}, labels/{split}, data.yaml under `root`; with `mistakes` given,
    also the manifest beside `root`. Returns the manifest path (None without mistakes)."""
    root.mkdir(parents=True, exist_ok=True)
    for im in images:
        img_path = root / im.path
        img_path.parent.mkdir(parents=True, exist_ok=True)
        im.scene.image.save(img_path, "JPEG", quality=JPEG_QUALITY)
        lab_path = root / ("labels/" + im.path.split("/", 1)[1]).rsplit(".", 1)[0]
        lab_path = lab_path.with_suffix(".txt")
        lab_path.parent.mkdir(parents=True, exist_ok=True)
        w, h = im.scene.image.size
        lab_path.write_text("".join(yolo_row(c, b, w, h) + "\n" for c, b in im.labels))
    splits = sorted({im.split for im in images})
    # No `path:` key: ultralytics then takes the yaml's own folder as the root, so the
    # dataset stays valid wherever the data folder lives.
    data = {s: f"images/{s}" for s in splits}
    data["nc"] = len(CLASS_NAMES)
    data["names"] = {i: n for i, n in enumerate(CLASS_NAMES)}
    (root / "data.yaml").write_text(
        "# BoxFix demo dataset, generated; see docs/demo.md\n" + yaml.safe_dump(data, sort_keys=False)
    )
    if mistakes is None:
        return None
    manifest = {
        **meta,
        "classes": list(CLASS_NAMES),
        "generator_version": GENERATOR_VERSION,
        "dataset_dir": root.name,
        "match_rule": "same class and IoU >= 0.8",
        "images": {
            im.path: {
                "split": im.split,
                "width": im.scene.image.size[0],
                "height": im.scene.image.size[1],
                "truth": [{"cls": o.cls, "box": list(o.box), "visible": o.visible} for o in im.scene.objects],
                "distractors": [{"kind": d.kind, "box": list(d.box)} for d in im.scene.distractors],
            }
            for im in images
        },
        "mistakes": mistakes,
    }
    path = root.parent / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=1))
    return path
