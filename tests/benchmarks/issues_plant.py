"""Plant known label mistakes in a copy of a dataset's labels (seeded), for the benchmark.

Kinds planted (one per chosen image, cycling so every kind appears):
  missing       a label is dropped
  localization  a label is shifted and rescaled so that its IoU with the truth is 0.3-0.7
  class         a label gets another class (datasets with 2+ classes only)
  spurious      a box is added where there is no object (no overlap with any label)
"""
from __future__ import annotations

import numpy as np

from desktop.core.geometry import iou_matrix

PLANTED_KINDS = ("missing", "localization", "class", "spurious")


def plant(l_img, l_cls, l_box, width, height, images, nc: int, share: float = 0.06, seed: int = 0):
    """Return (new l_img, l_cls, l_box, truth) where truth maps image index -> planted kind.
    Only images listed in `images` are eligible; the arrays are copied, never modified."""
    rng = np.random.default_rng(seed)
    kinds = [k for k in PLANTED_KINDS if k != "class" or nc > 1]
    labelled = np.unique(l_img)
    eligible = np.intersect1d(np.asarray(images), labelled)
    n = max(len(kinds), int(round(share * len(images))))
    chosen = rng.choice(eligible, size=min(n, len(eligible)), replace=False)
    keep = np.ones(len(l_img), bool)
    new_cls = l_cls.copy()
    new_box = l_box.copy()
    add_img, add_cls, add_box = [], [], []
    truth: dict[int, str] = {}
    sizes = np.c_[l_box[:, 2] - l_box[:, 0], l_box[:, 3] - l_box[:, 1]]
    for j, img in enumerate(chosen):
        kind = kinds[(j + seed) % len(kinds)]
        idx = np.flatnonzero(l_img == img)
        w, h = width[img], height[img]
        t = rng.choice(idx)
        if kind == "missing":
            keep[t] = False
        elif kind == "class":
            new_cls[t] = (l_cls[t] + rng.integers(1, nc)) % nc
        elif kind == "localization":
            box = _perturb(l_box[t], w, h, rng)
            if box is None:
                continue
            new_box[t] = box
        else:
            box = _empty_spot(l_box[idx], sizes, w, h, rng)
            if box is None:
                continue
            add_img.append(img)
            add_cls.append(rng.integers(0, nc))
            add_box.append(box)
        truth[int(img)] = kind
    out_img = np.r_[l_img[keep], np.asarray(add_img, np.int64)]
    out_cls = np.r_[new_cls[keep], np.asarray(add_cls, np.int64)]
    out_box = np.r_[new_box[keep], np.asarray(add_box, float).reshape(-1, 4)]
    order = np.argsort(out_img, kind="stable")
    return out_img[order], out_cls[order], out_box[order], truth


def _perturb(box, w, h, rng, lo=0.3, hi=0.7):
    bw, bh = box[2] - box[0], box[3] - box[1]
    for _ in range(200):
        s = np.exp(rng.uniform(-0.7, 0.7, 2))
        d = rng.uniform(-0.6, 0.6, 2) * (bw, bh)
        cx, cy = (box[0] + box[2]) / 2 + d[0], (box[1] + box[3]) / 2 + d[1]
        nw, nh = bw * s[0], bh * s[1]
        cand = np.array([max(0, cx - nw / 2), max(0, cy - nh / 2), min(w, cx + nw / 2), min(h, cy + nh / 2)])
        if cand[2] - cand[0] < 3 or cand[3] - cand[1] < 3:
            continue
        iou = iou_matrix(box[None], cand[None])[0, 0]
        if lo <= iou <= hi:
            return cand
    return None


def _empty_spot(boxes, sizes, w, h, rng):
    for _ in range(200):
        bw, bh = sizes[rng.integers(0, len(sizes))]
        bw, bh = min(bw, w - 1), min(bh, h - 1)
        x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        cand = np.array([x0, y0, x0 + bw, y0 + bh])
        if len(boxes) == 0 or iou_matrix(cand[None], boxes).max() < 0.05:
            return cand
    return None
