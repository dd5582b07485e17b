"""One-to-one matching of labels and predictions, per image, greedy by confidence.

Everything works on flat column arrays for the whole dataset at once (no per-image Python
loop), so that a million boxes match in about a second:

1. `candidate_pairs` lists every (label, prediction) pair that lies in the same image and
   overlaps at IoU >= a floor, using sort-by-image block boundaries and np.repeat.
2. `greedy_match` reproduces COCO's greedy rule exactly: predictions are taken in order of
   decreasing confidence and each takes the still-free label it overlaps most (IoU >=
   threshold). It runs in vectorised rounds instead of one prediction at a time: in a round,
   prediction p takes its best free label l when p is the most confident free prediction
   among all those that could still take l. No prediction ahead of p in the greedy order can
   then ever take l, and every label p prefers to l is already taken, so the sequential rule
   would give p the same label. The most confident free prediction always qualifies, so each
   round makes progress; in practice a handful of rounds suffice.

Defaults: IoU threshold 0.5 (COCO/VOC's usual definition of "the same object");
class-aware matching restricts pairs to equal classes, class-agnostic matching (used to
catch a wrong class) ignores them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_IOU = 0.5
# Upper bound on pairs held in memory at once while listing candidates.
_PAIR_CHUNK = 4_000_000


@dataclass(frozen=True)
class Pairs:
    """Overlapping (label, prediction) pairs: indices into the label / prediction arrays."""

    label: np.ndarray  # int64
    pred: np.ndarray  # int64
    iou: np.ndarray  # float64


def _pair_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU of two (N, 4) xyxy arrays (same semantics as geometry.iou_matrix:
    degenerate boxes give 0, never NaN)."""
    ix = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    iy = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def block_pairs(a_img: np.ndarray, b_img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with a_img[i] == b_img[j], as two index arrays, without a Python loop over
    images. Inputs need not be sorted."""
    a_img = np.asarray(a_img, np.int64)
    b_img = np.asarray(b_img, np.int64)
    if len(a_img) == 0 or len(b_img) == 0:
        e = np.zeros(0, np.int64)
        return e, e
    b_order = np.argsort(b_img, kind="stable")
    b_sorted = b_img[b_order]
    start = np.searchsorted(b_sorted, a_img, side="left")
    stop = np.searchsorted(b_sorted, a_img, side="right")
    count = stop - start
    total = int(count.sum())
    ai = np.repeat(np.arange(len(a_img)), count)
    # position inside each a-row's block of b: global arange minus the block's first offset
    first = np.cumsum(count) - count
    within = np.arange(total) - np.repeat(first, count)
    bj = b_order[np.repeat(start, count) + within]
    return ai, bj


def candidate_pairs(l_img, l_boxes, p_img, p_boxes, min_iou: float = 1e-9) -> Pairs:
    """Every same-image (label, prediction) pair with IoU >= min_iou (default: any overlap).
    Works in chunks of predictions so memory stays bounded on dense images."""
    l_img = np.asarray(l_img, np.int64)
    p_img = np.asarray(p_img, np.int64)
    l_boxes = np.asarray(l_boxes, float).reshape(-1, 4)
    p_boxes = np.asarray(p_boxes, float).reshape(-1, 4)
    if len(l_img) == 0 or len(p_img) == 0:
        e = np.zeros(0, np.int64)
        return Pairs(e, e, np.zeros(0))
    # how many labels each prediction faces, to size chunks
    l_sorted = np.sort(l_img)
    per_pred = np.searchsorted(l_sorted, p_img, "right") - np.searchsorted(l_sorted, p_img, "left")
    cum = np.cumsum(per_pred)
    out_l, out_p, out_iou = [], [], []
    start = 0
    while start < len(p_img):
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + _PAIR_CHUNK, "right"))
        stop = max(stop, start + 1)
        pj, li = block_pairs(p_img[start:stop], l_img)
        pj = pj + start
        iou = _pair_iou(l_boxes[li], p_boxes[pj])
        keep = iou >= min_iou
        out_l.append(li[keep])
        out_p.append(pj[keep])
        out_iou.append(iou[keep])
        start = stop
    return Pairs(np.concatenate(out_l), np.concatenate(out_p), np.concatenate(out_iou))


def _first_per_group(group: np.ndarray) -> np.ndarray:
    """Index of the first element of each run in an already grouped (sorted) array."""
    if len(group) == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, group[1:] != group[:-1]])


def greedy_match(pairs: Pairs, conf: np.ndarray, n_labels: int, n_preds: int,
                 iou_threshold: float = DEFAULT_IOU, allowed: np.ndarray | None = None,
                 label_free: np.ndarray | None = None, pred_free: np.ndarray | None = None):
    """COCO-style greedy one-to-one matching (see module doc for why rounds are exact).

    pairs: candidate pairs (any images; pairs never cross images by construction).
    conf: (n_preds,) prediction confidences; ties are broken by prediction index.
    allowed: optional bool mask over pairs (e.g. equal classes for class-aware matching).
    label_free / pred_free: optional bool masks; only free boxes take part (used to chain
      matching passes over what earlier passes left).
    Returns (label_to_pred, pred_to_label, label_iou): -1 where unmatched; label_iou is the IoU
    of each label's match (0 where unmatched).
    """
    conf = np.asarray(conf, float)
    l2p = np.full(n_labels, -1, np.int64)
    p2l = np.full(n_preds, -1, np.int64)
    l_iou = np.zeros(n_labels)
    keep = pairs.iou >= iou_threshold
    if allowed is not None:
        keep &= allowed
    if label_free is not None:
        keep &= label_free[pairs.label]
    if pred_free is not None:
        keep &= pred_free[pairs.pred]
    li, pj, iou = pairs.label[keep], pairs.pred[keep], pairs.iou[keep]
    if len(li) == 0:
        return l2p, p2l, l_iou
    # rank 0 = most confident prediction; stable on index for ties
    order = np.lexsort((np.arange(n_preds), -conf))
    rank = np.empty(n_preds, np.int64)
    rank[order] = np.arange(n_preds)
    while len(li):
        r = rank[pj]
        # each prediction's best free label: sort by (pred, -iou, label)
        o = np.lexsort((li, -iou, pj))
        first = o[_first_per_group(pj[o])]
        best_label = np.full(n_preds, -1, np.int64)
        best_label[pj[first]] = li[first]
        # each label's most confident free candidate prediction
        min_rank = np.full(n_labels, np.iinfo(np.int64).max)
        np.minimum.at(min_rank, li, r)
        win = (best_label[pj] == li) & (min_rank[li] == r)
        wl, wp, wi = li[win], pj[win], iou[win]
        l2p[wl] = wp
        p2l[wp] = wl
        l_iou[wl] = wi
        alive = (l2p[li] < 0) & (p2l[pj] < 0)
        li, pj, iou = li[alive], pj[alive], iou[alive]
    return l2p, p2l, l_iou


def match(l_img, l_cls, l_boxes, p_img, p_cls, p_conf, p_boxes, iou_threshold: float = DEFAULT_IOU,
          class_aware: bool = True):
    """Convenience: candidate pairs + greedy matching in one call.
    Returns (label_to_pred, pred_to_label, label_iou) as in greedy_match."""
    pairs = candidate_pairs(l_img, l_boxes, p_img, p_boxes, min_iou=max(iou_threshold, 1e-9))
    allowed = None
    if class_aware:
        allowed = np.asarray(l_cls)[pairs.label] == np.asarray(p_cls)[pairs.pred]
    return greedy_match(pairs, p_conf, len(l_img), len(p_img), iou_threshold, allowed)


def greedy_match_reference(ious: np.ndarray, conf: np.ndarray, iou_threshold: float = DEFAULT_IOU):
    """Plain sequential greedy matching of one image (labels x predictions IoU matrix), kept
    as the specification the vectorised version is tested against."""
    n_l, n_p = ious.shape
    l2p = np.full(n_l, -1, np.int64)
    p2l = np.full(n_p, -1, np.int64)
    for p in np.lexsort((np.arange(n_p), -np.asarray(conf, float))):
        best, best_iou = -1, -1.0
        for lab in range(n_l):
            if l2p[lab] < 0 and ious[lab, p] >= iou_threshold and ious[lab, p] > best_iou:
                best, best_iou = lab, ious[lab, p]
        if best >= 0:
            l2p[best] = p
            p2l[p] = best
    return l2p, p2l
