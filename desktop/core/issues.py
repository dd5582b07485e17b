"""The issue finder: flag likely label mistakes from labels + a detector's predictions.

Pure numpy on flat column arrays for the whole dataset (no Qt, no SQL, no per-box Python
loop). Every formula is documented in docs/issue-finder.md; the short version:

Calibration (per class, from the model's own agreement with the labels):
  P_k(c)  probability that a class-k prediction of confidence c is a real object, estimated
          as the precision of class k in confidence bin c: the share of its predictions that
          the class-aware greedy matching (IoU >= 0.5) pairs with a label. Shrunk towards the
          all-class curve for rare classes, made non-decreasing in c.
  R_k     how much support a labelled class-k object usually gets from the model: the mean
          of `support` (below) over class-k labels.
  U_k     typical IoU of the model on class k: the median IoU of its good matches.

Per label l (class k), with `support(l)` = max over predictions p overlapping l of
P_{k_p}(c_p) * min(1, IoU(l, p) / 0.5):
  spurious      R_k * (1 - support(l))                        label no prediction backs
  localization  P_k(c) * clip((U_k - u) / (U_k - u_min), 0, 1) ** loc_power
                with (c, u) the same-class partner's confidence and IoU
  class         P_k'(c') * (1 - P_k(c_same)) where c' is the best other-class prediction
                (class k') at IoU >= 0.5 and c_same the confidence of the same-class match
Per unmatched prediction p (class k, confidence c):
  missing       P_k(c) * clip(1 - maxIoU(p, any label) / 0.5, 0, 1) ** 0.5
Model-free:
  degenerate    1 for zero/negative/NaN area, 0.9 for a side <= 2 px, 0.5 + 0.5 * (share
                of the box outside the image) for a box outside the image
  duplicate     0.5 + 0.5 * (IoU - t) / (1 - t) for same-class label pairs with IoU >= t
Rarity (cross-kind calibration): each model kind's raw score s becomes 1 - r(s), where r(s)
  is the share of the dataset's images whose strongest issue of that kind scores >= s. Raw
  scores of different kinds are not comparable (an imperfect model leaves a 0.6 "missing" in
  half the clean images, while a 0.4 "class" occurs in 1% of them); rarity makes them so.
Image level:
  unlabeled-image  max over the image's predictions of the raw missing score, for an image
                   with no labels.
  image score      the maximum of its issue scores (see `image_scores`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.core.matching import candidate_pairs, greedy_match
from desktop.core.model import IssueKind

KINDS = tuple(k.value for k in IssueKind)
FIELDS = ("image_id", "kind", "score", "label_id", "label2_id", "pred_id", "cls", "suggested_cls",
          "suggested_box", "confidence", "iou", "key")


@dataclass(frozen=True)
class FinderParams:
    """Thresholds of the finder. The defaults are meant for a model the finder has never
    seen: everything that depends on the model's behaviour is calibrated from the data."""

    match_iou: float = 0.5  # IoU at which a prediction and a label are the same object (COCO)
    loc_min_iou: float = 0.1  # below this a same-class prediction is no longer "the same box"
    loc_power: float = 1.0  # sharpening of the localization ramp
    duplicate_iou: float = 0.8  # two same-class labels overlapping this much are one object twice
    min_side_px: float = 2.0  # a box with a side <= this is degenerate
    outside_tol_px: float = 1.0  # how far a box may poke out of the image before it is flagged
    conf_bins: int = 20  # confidence bins of the per-class precision curve
    prior_strength: float = 10.0  # pseudo-counts pulling a class's curve towards all classes
    # Issues below this score are not stored. Scores are rank-calibrated (see docs), so 0.2
    # drops the weakest fifth of each kind: noise no reviewer reaches, that only inflated counts.
    min_score: float = 0.2
    key_grid_px: float = 4.0  # grid the prediction's geometry is rounded to in issue keys
    # Model kinds are rescaled by how rare their evidence is in the dataset (see _apply_rarity):
    # final = raw ** (1 - w) * (1 - r) ** w. "off" keeps the raw scores.
    rarity: str = "on"
    rarity_weight: float = 1.0
    rarity_floor: float = 0.02  # raw scores below this are scaled down by raw / floor
    # Experimental, off by default: > 0 turns raw scores into Bayes posteriors with this prior
    # share of wrong labels (no gain measured on the benchmark once rarity is on).
    prior: float = 0.0
    shape_weight: float = 0.5  # how much an odd size for the class adds to spurious evidence
    loc_odds: float = 1.0
    class_odds: float = 1.0


@dataclass(frozen=True)
class Calibration:
    """What the finder learnt about the model from its agreement with the labels."""

    bin_edges: np.ndarray  # (B+1,)
    precision: np.ndarray  # (K, B) P_k(c) at bin centres, non-decreasing in c
    recall_support: np.ndarray  # (K,) R_k
    typical_iou: np.ndarray  # (K,) U_k
    # per model kind: ascending quantiles of the per-image maximum raw score over all images
    rarity: dict | None = None
    # (K,) 99th percentile of each class's prediction confidence: what "confident" means for
    # this model on this class, however weak or strong the model is overall
    conf_scale: np.ndarray | None = None

    def relative_conf(self, cls: np.ndarray, conf: np.ndarray) -> np.ndarray:
        if self.conf_scale is None or len(self.conf_scale) == 0:
            return np.asarray(conf, float)
        scale = _per_class(self.conf_scale, np.asarray(cls, np.int64), 1.0)
        return np.clip(np.asarray(conf, float) / np.maximum(scale, 1e-6), 0.0, 1.0)

    def to_json(self) -> dict:
        return {"bin_edges": self.bin_edges.tolist(), "precision": self.precision.tolist(),
                "recall_support": self.recall_support.tolist(), "typical_iou": self.typical_iou.tolist(),
                "rarity": {k: v.tolist() for k, v in (self.rarity or {}).items()},
                "conf_scale": None if self.conf_scale is None else self.conf_scale.tolist()}

    @classmethod
    def from_json(cls, d: dict) -> "Calibration":
        return cls(np.asarray(d["bin_edges"], float), np.asarray(d["precision"], float).reshape(-1, len(d["bin_edges"]) - 1),
                   np.asarray(d["recall_support"], float), np.asarray(d["typical_iou"], float),
                   {k: np.asarray(v, float) for k, v in d.get("rarity", {}).items()} or None,
                   None if d.get("conf_scale") is None else np.asarray(d["conf_scale"], float))

    def prob(self, cls: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """P_k(c): piecewise-linear between bin centres, per class."""
        cls = np.asarray(cls, np.int64)
        conf = np.clip(np.asarray(conf, float), 0.0, 1.0)
        if len(cls) == 0:
            return np.zeros(0)
        b = len(self.bin_edges) - 1
        pos = np.clip(conf * b - 0.5, 0, b - 1)  # position in bin-centre coordinates
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, b - 1)
        frac = pos - lo
        k = np.clip(cls, 0, len(self.precision) - 1)
        return self.precision[k, lo] * (1 - frac) + self.precision[k, hi] * frac


def _empty_issues() -> dict:
    return {
        "image_id": np.zeros(0, np.int64), "kind": np.zeros(0, "<U16"), "score": np.zeros(0),
        "label_id": np.zeros(0, np.int64), "label2_id": np.zeros(0, np.int64),
        "pred_id": np.zeros(0, np.int64), "cls": np.zeros(0, np.int64),
        "suggested_cls": np.zeros(0, np.int64), "suggested_box": np.zeros((0, 4)),
        "confidence": np.zeros(0), "iou": np.zeros(0), "_pred_box": np.zeros((0, 4)),
    }


def _part(kind: str, image_id, score, label_id=None, label2_id=None, pred_id=None, cls=None,
          suggested_cls=None, suggested_box=None, confidence=None, iou=None, pred_box=None) -> dict:
    n = len(score)

    def ints(a):
        return np.full(n, -1, np.int64) if a is None else np.asarray(a, np.int64)

    def floats(a):
        return np.full(n, np.nan) if a is None else np.asarray(a, float)

    def boxes(a):
        return np.full((n, 4), np.nan) if a is None else np.asarray(a, float).reshape(-1, 4)

    return {
        "image_id": np.asarray(image_id, np.int64), "kind": np.full(n, kind, "<U16"),
        "score": np.clip(np.nan_to_num(np.asarray(score, float), nan=0.0), 0.0, 1.0),
        "label_id": ints(label_id), "label2_id": ints(label2_id), "pred_id": ints(pred_id),
        "cls": ints(cls), "suggested_cls": ints(suggested_cls), "suggested_box": boxes(suggested_box),
        "confidence": floats(confidence), "iou": floats(iou), "_pred_box": boxes(pred_box),
    }


def _concat(parts: list[dict]) -> dict:
    if not parts:
        return _empty_issues()
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# ---------------------------------------------------------------- model-free checks

def degenerate_issues(l_id, l_img, l_cls, l_box, img_w, img_h, params: FinderParams) -> dict:
    """Zero / negative / NaN area, a side <= min_side_px, or a box outside the image.
    img_w / img_h are per label (the size of the label's image; NaN when unknown)."""
    b = l_box
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    bad_area = ~np.isfinite(b).all(axis=1) | ~(w > 0) | ~(h > 0)
    tiny = ~bad_area & ((w <= params.min_side_px) | (h <= params.min_side_px))
    tol = params.outside_tol_px
    known = np.isfinite(img_w) & np.isfinite(img_h)
    with np.errstate(invalid="ignore"):
        poke = known & ((b[:, 0] < -tol) | (b[:, 1] < -tol) | (b[:, 2] > img_w + tol) | (b[:, 3] > img_h + tol))
    clipped = np.stack([np.clip(b[:, 0], 0, img_w), np.clip(b[:, 1], 0, img_h),
                        np.clip(b[:, 2], 0, img_w), np.clip(b[:, 3], 0, img_h)], axis=1)
    inside_area = np.clip(clipped[:, 2] - clipped[:, 0], 0, None) * np.clip(clipped[:, 3] - clipped[:, 1], 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        out_share = np.where(bad_area, 1.0, 1.0 - inside_area / np.where(w * h > 0, w * h, 1.0))
    outside = poke & ~bad_area & ~tiny
    score = np.where(bad_area, 1.0, np.where(tiny, 0.9, 0.5 + 0.5 * np.clip(out_share, 0, 1)))
    sel = bad_area | tiny | outside
    cw = clipped[:, 2] - clipped[:, 0]
    ch = clipped[:, 3] - clipped[:, 1]
    usable = outside & (cw > params.min_side_px) & (ch > params.min_side_px)
    suggestion = np.where(usable[:, None], clipped, np.nan)
    return _part(IssueKind.DEGENERATE.value, l_img[sel], score[sel], label_id=l_id[sel], cls=l_cls[sel],
                 suggested_box=suggestion[sel])


def duplicate_issues(l_id, l_img, l_cls, l_box, params: FinderParams) -> dict:
    """Same-class label pairs with IoU >= duplicate_iou. The issue sits on the newer label
    (higher id: the one to delete); label2_id is the one it duplicates."""
    # pair within (image, class) blocks only: cross-class pairs can never be duplicates
    block = l_img * (int(l_cls.max(initial=0)) + 2) + (l_cls + 1)
    pairs = candidate_pairs(block, l_box, block, l_box, min_iou=params.duplicate_iou)
    a, b, iou = pairs.label, pairs.pred, pairs.iou
    keep = l_id[a] < l_id[b]
    a, b, iou = a[keep], b[keep], iou[keep]
    t = params.duplicate_iou
    score = 0.5 + 0.5 * (iou - t) / max(1.0 - t, 1e-9)
    return _part(IssueKind.DUPLICATE.value, l_img[b], score, label_id=l_id[b], label2_id=l_id[a],
                 cls=l_cls[b], iou=iou)


# ---------------------------------------------------------------- calibration

def calibrate(n_classes: int, p_cls, p_conf, p_matched, l_cls, l_support, match_cls, match_iou,
              params: FinderParams) -> Calibration:
    """Per-class precision-by-confidence curve, recall support and typical IoU (module doc)."""
    bins = params.conf_bins
    edges = np.linspace(0, 1, bins + 1)
    k = max(n_classes, 1)
    b = np.clip((np.asarray(p_conf) * bins).astype(np.int64), 0, bins - 1)
    cls = np.clip(p_cls, 0, k - 1)
    n = np.bincount(cls * bins + b, minlength=k * bins).reshape(k, bins).astype(float)
    m = np.bincount(cls * bins + b, weights=p_matched.astype(float), minlength=k * bins).reshape(k, bins)
    centres = (edges[:-1] + edges[1:]) / 2
    # all-class curve, itself pulled towards the diagonal (a calibrated model) when empty
    g = (m.sum(0) + 2 * centres) / (n.sum(0) + 2)
    a = params.prior_strength
    prec = (m + a * g[None, :]) / (n + a)
    prec = np.maximum.accumulate(prec, axis=1)  # more confident never means less precise
    # R_k: mean support of class-k labels (0.5 when the class has no labels)
    cnt = np.bincount(np.clip(l_cls, 0, k - 1), minlength=k).astype(float)
    tot = np.bincount(np.clip(l_cls, 0, k - 1), weights=l_support, minlength=k)
    rec = np.where(cnt > 0, (tot + 0.5) / (cnt + 1), 0.5)
    # U_k: median IoU of good matches (0.8 with no matches), one sort for all classes
    typical = np.full(k, 0.8)
    if len(match_iou):
        order = np.lexsort((match_iou, match_cls))
        sc, si = match_cls[order], match_iou[order]
        starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
        ends = np.r_[starts[1:], len(sc)]
        typical[sc[starts]] = si[(starts + ends - 1) // 2]
    scale = np.ones(k)
    cls_all = np.asarray(p_cls, np.int64)
    conf_all = np.asarray(p_conf, float)
    for c in np.unique(cls_all[(cls_all >= 0) & (cls_all < k)]):
        scale[c] = max(float(np.quantile(conf_all[cls_all == c], 0.99)), 1e-3)
    return Calibration(edges, prec, rec, typical, conf_scale=scale)


# ---------------------------------------------------------------- the finder

def find_issues(labels: dict, predictions: dict | None, image_sizes: dict,
                model_classes=None, params: FinderParams | None = None,
                return_calibration: bool = False, calibration: Calibration | None = None):
    """Flag likely label mistakes.

    labels: {'id', 'image_id', 'cls', 'boxes' (N,4 xyxy px), 'iscrowd' (optional)}
    predictions: {'id', 'image_id', 'cls' (-1 = class unknown to the project), 'conf', 'boxes'}
      or None (then only degenerate and duplicate issues are found).
    image_sizes: {'id', 'width', 'height'}
    model_classes: project class indices the model knows; labels of other classes never
      become spurious / localization / class issues. None = every class.
    calibration: reuse a Calibration learnt on the whole dataset (incremental re-scoring of a
      few images must not learn the model's behaviour from those few images alone).
    Returns a dict of column arrays, FIELDS (suggested_box (N,4) NaN where none; -1 for
    absent ids/classes; NaN for absent confidence/iou), sorted by score, highest first.
    """
    params = params or FinderParams()
    l_id = np.asarray(labels["id"], np.int64)
    l_img = np.asarray(labels["image_id"], np.int64)
    l_cls = np.asarray(labels["cls"], np.int64)
    l_box = np.asarray(labels["boxes"], float).reshape(-1, 4)
    crowd = np.asarray(labels.get("iscrowd", np.zeros(len(l_id))), bool).reshape(-1)
    if len(crowd) != len(l_id):
        crowd = np.zeros(len(l_id), bool)
    s_id = np.asarray(image_sizes["id"], np.int64)
    s_order = np.argsort(s_id)
    s_id_sorted = s_id[s_order]
    pos = np.clip(np.searchsorted(s_id_sorted, l_img), 0, max(len(s_id) - 1, 0))
    has = (s_id_sorted[pos] == l_img) if len(s_id) else np.zeros(len(l_img), bool)
    w_l = np.where(has, np.asarray(image_sizes["width"], float)[s_order][pos] if len(s_id) else np.nan, np.nan)
    h_l = np.where(has, np.asarray(image_sizes["height"], float)[s_order][pos] if len(s_id) else np.nan, np.nan)

    parts = [degenerate_issues(l_id, l_img, l_cls, l_box, w_l, h_l, params),
             duplicate_issues(l_id, l_img, l_cls, l_box, params)]
    calib = None
    if predictions is not None and len(np.asarray(predictions["id"])):
        model_parts, calib = _model_issues(l_id, l_img, l_cls, l_box, crowd, predictions, model_classes, params,
                                           calibration)
        if params.rarity != "off":
            # images of the run: those with a size (all of them, from the store), else those seen
            n_images = len(s_id) or len(np.unique(np.r_[l_img, np.asarray(predictions["image_id"], np.int64)]))
            model_parts, calib = _apply_rarity(model_parts, calib, n_images, params,
                                               learn=calibration is None or calibration.rarity is None)
        parts += model_parts
    out = _concat(parts)
    keep = (out["score"] >= params.min_score) & (out["score"] > 0)  # a zero score is no issue
    out = {k: v[keep] for k, v in out.items()}
    order = np.lexsort((out["label_id"], out["image_id"], -out["score"]))
    out = {k: v[order] for k, v in out.items()}
    out["key"] = issue_keys(out, params)
    del out["_pred_box"]
    return (out, calib) if return_calibration else out


def _model_issues(l_id, l_img, l_cls, l_box, crowd, predictions, model_classes, params, fixed=None):
    p_id = np.asarray(predictions["id"], np.int64)
    p_img = np.asarray(predictions["image_id"], np.int64)
    p_cls = np.asarray(predictions["cls"], np.int64)
    p_conf = np.clip(np.nan_to_num(np.asarray(predictions["conf"], float)), 0, 1)
    p_box = np.asarray(predictions["boxes"], float).reshape(-1, 4)
    n_l, n_p = len(l_id), len(p_id)
    n_classes = int(max(l_cls.max(initial=-1), p_cls.max(initial=-1))) + 1
    if fixed is not None:
        n_classes = max(n_classes, len(fixed.precision))
    known_cls = np.ones(max(n_classes, 1), bool)
    if model_classes is not None:
        known_cls[:] = False
        mc = np.asarray(list(model_classes), np.int64)
        known_cls[mc[(mc >= 0) & (mc < len(known_cls))]] = True
    p_ok = p_cls >= 0  # predictions of classes the project does not have are ignored
    l_known = known_cls[np.clip(l_cls, 0, len(known_cls) - 1)] & (l_cls >= 0) & ~crowd

    pairs = candidate_pairs(l_img, l_box, p_img, p_box, min_iou=params.loc_min_iou)
    pl, pp, piou = pairs.label, pairs.pred, pairs.iou
    usable = p_ok[pp]
    pl, pp, piou = pl[usable], pp[usable], piou[usable]
    same = l_cls[pl] == p_cls[pp]
    l_free = ~crowd
    # pass 1: class-aware at match_iou: the model agrees with the label
    l2p, p2l, l_iou = greedy_match(pairs_of(pl, pp, piou), p_conf, n_l, n_p, params.match_iou, same,
                                   label_free=l_free)
    matched_l = l2p >= 0
    matched_p = p2l >= 0
    # calibration from the model's agreement with the labels
    m_lab = np.flatnonzero(matched_l)
    calib0 = fixed or calibrate(n_classes, p_cls[p_ok], p_conf[p_ok], matched_p[p_ok], l_cls[l_known],
                       np.zeros(int(l_known.sum())), l_cls[m_lab], l_iou[m_lab], params)
    prob_pair = calib0.prob(p_cls[pp], p_conf[pp])
    # support(l): max over overlapping predictions of P(c) * min(1, IoU / match_iou)
    # backing counts a box as sure when P_k(c) is high, or when c is high for what this model
    # ever gives the class (a weak model's best boxes still back labels)
    backing = np.maximum(prob_pair, calib0.relative_conf(p_cls[pp], p_conf[pp]))
    support = np.zeros(n_l)
    np.maximum.at(support, pl, backing * np.minimum(1.0, piou / params.match_iou))
    calib = fixed or calibrate(n_classes, p_cls[p_ok], p_conf[p_ok], matched_p[p_ok], l_cls[l_known],
                               support[l_known], l_cls[m_lab], l_iou[m_lab], params)
    prob_p = calib.prob(p_cls, p_conf)
    parts = []

    # pass 2: class-agnostic at match_iou over what pass 1 left: a wrong class
    other = ~same & (piou >= params.match_iou)
    # best other-class evidence per label (not one-to-one: any confident other-class box on it)
    ev = np.where(other, prob_pair, -1.0)
    o = np.lexsort((-piou, -ev, pl))
    first = o[np.flatnonzero(np.r_[True, pl[o][1:] != pl[o][:-1]])] if len(o) else o
    first = first[ev[first] > 0]
    cl = pl[first]
    cp = pp[first]
    same_prob = np.where(matched_l[cl], prob_p[np.maximum(l2p[cl], 0)], 0.0)
    s_class = prob_pair[first] * (1.0 - same_prob)
    if params.prior > 0:
        pi = params.prior
        s_class = pi * s_class / (pi * s_class + (1 - s_class) * params.class_odds)
    sel = l_known[cl] & known_cls[np.clip(p_cls[cp], 0, len(known_cls) - 1)]
    cl, cp, s_class = cl[sel], cp[sel], s_class[sel]
    parts.append(_part(IssueKind.CLASS.value, l_img[cl], s_class, label_id=l_id[cl], pred_id=p_id[cp],
                       cls=l_cls[cl], suggested_cls=p_cls[cp], confidence=p_conf[cp], iou=piou[first][sel],
                       pred_box=p_box[cp]))
    explained_p = np.zeros(n_p, bool)
    explained_p[cp[s_class >= 0.5 * prob_p[cp]]] = True

    # pass 3: class-aware at loc_min_iou over what pass 1 left: a badly drawn box
    l3, p3, iou3 = greedy_match(pairs_of(pl, pp, piou), p_conf, n_l, n_p, params.loc_min_iou, same,
                                label_free=~matched_l & l_free, pred_free=~matched_p)
    partner = np.where(matched_l, l2p, l3)
    part_iou = np.where(matched_l, l_iou, iou3)
    lab = np.flatnonzero((partner >= 0) & l_known)
    pj = partner[lab]
    u = part_iou[lab]
    uk = _per_class(calib.typical_iou, l_cls[lab], 0.8)
    ramp = np.clip((uk - u) / np.maximum(uk - params.loc_min_iou, 1e-6), 0, 1) ** params.loc_power
    s_loc = prob_p[pj] * ramp
    if params.prior > 0:
        pi = params.prior
        s_loc = pi * s_loc / (pi * s_loc + (1 - s_loc) * params.loc_odds)
    parts.append(_part(IssueKind.LOCALIZATION.value, l_img[lab], s_loc, label_id=l_id[lab], pred_id=p_id[pj],
                       cls=l_cls[lab], suggested_box=p_box[pj], confidence=p_conf[pj], iou=u, pred_box=p_box[pj]))

    # spurious: labels that nothing backs
    lab = np.flatnonzero(l_known & (partner < 0))
    r_k = _per_class(calib.recall_support, l_cls[lab], 0.5)
    if params.prior > 0:  # Bayes: P(spurious | unbacked) = pi / (pi + (1 - pi)(1 - R_k))
        pi = params.prior
        r_k = pi / (pi + (1 - pi) * (1 - r_k))
    s_sp = r_k * (1.0 - support[lab])
    if params.shape_weight > 0 and len(lab):
        # an unbacked box whose size is odd for its class is more likely drawn by mistake:
        # z^2 of log width / log height against the class's labels, odd = 1 - exp(-z^2 / 8)
        odd = _shape_oddness(l_cls, l_box, l_known, lab)
        s_sp = s_sp * (1 - params.shape_weight + params.shape_weight * odd)
    parts.append(_part(IssueKind.SPURIOUS.value, l_img[lab], s_sp, label_id=l_id[lab], cls=l_cls[lab]))

    # missing: confident predictions no label takes; an image without labels is one issue
    taken = matched_p | (p3 >= 0) | explained_p
    max_iou = np.zeros(n_p)
    np.maximum.at(max_iou, pairs.pred, pairs.iou)  # any label, any class, crowd included
    crowd_cover = np.zeros(n_p, bool)
    if crowd.any():  # a prediction mostly inside a crowd region is never a missing label
        ci = np.flatnonzero(crowd)
        cp_ = candidate_pairs(l_img[ci], l_box[ci], p_img, p_box)
        inter = _intersection(l_box[ci][cp_.label], p_box[cp_.pred])
        p_area = np.clip(p_box[cp_.pred, 2] - p_box[cp_.pred, 0], 0, None) * np.clip(
            p_box[cp_.pred, 3] - p_box[cp_.pred, 1], 0, None)
        crowd_cover[cp_.pred[inter >= 0.5 * p_area]] = True
    cand = np.flatnonzero(p_ok & ~taken & ~crowd_cover & known_cls[np.clip(p_cls, 0, len(known_cls) - 1)])
    factor = np.sqrt(np.clip(1.0 - max_iou[cand] / params.match_iou, 0, 1))
    s_miss = prob_p[cand] * factor
    if params.prior > 0:  # Bayes: P(label missing | unmatched real-looking box)
        pi = params.prior
        s_miss = pi * s_miss / (pi * s_miss + (1 - s_miss))
    labelled_imgs = np.unique(l_img)
    in_labelled = np.isin(p_img[cand], labelled_imgs)
    c1 = cand[in_labelled]
    parts.append(_part(IssueKind.MISSING.value, p_img[c1], s_miss[in_labelled], pred_id=p_id[c1],
                       cls=p_cls[c1], suggested_cls=p_cls[c1], suggested_box=p_box[c1], confidence=p_conf[c1],
                       pred_box=p_box[c1]))
    c2 = cand[~in_labelled]
    if len(c2):
        imgs, inv = np.unique(p_img[c2], return_inverse=True)
        best = np.zeros(len(imgs))
        np.maximum.at(best, inv, s_miss[~in_labelled])
        parts.append(_part(IssueKind.UNLABELED_IMAGE.value, imgs, best))
    return parts, calib


RARITY_KINDS = ("missing", "spurious", "localization", "class")
_RARITY_POINTS = 2001


def _apply_rarity(parts, calib, n_images, params, learn: bool):
    """Rescale each model kind by how rare its evidence is in this dataset.

    Raw scores of different kinds are not comparable: with an imperfect model, half the clean
    images hold an unmatched prediction of raw missing-score 0.6, while a raw class-score of
    0.4 may occur in 1% of images. For each kind, r(s) = share of images whose strongest
    issue of that kind has a raw score >= s (learnt once on the whole dataset, stored as
    quantiles). The final score is raw ** (1 - w) * (1 - r) ** w * min(1, raw / floor) with
    w = params.rarity_weight and floor = params.rarity_floor (rare but feeble evidence stays low).
    """
    import dataclasses

    if learn:
        table = {}
        for kind in RARITY_KINDS:
            per_img = _per_image_max(parts, kind)
            full = np.zeros(max(n_images, len(per_img)))
            full[:len(per_img)] = per_img
            table[kind] = np.quantile(full, np.linspace(0, 1, _RARITY_POINTS))
        calib = dataclasses.replace(calib, rarity=table)
    w = params.rarity_weight
    out = []
    for p in parts:
        kind = p["kind"][0] if len(p["kind"]) else ""
        q = calib.rarity.get(kind) if calib.rarity else None
        if q is None or len(p["score"]) == 0:
            out.append(p)
            continue
        raw = p["score"]
        # share of images at or above raw: 1 - (position of raw among the quantiles)
        below = np.searchsorted(q, raw, side="left") / len(q)
        exceed = 1.0 - below
        # below rarity_floor the raw evidence is too weak to trust however rare it is
        weak = np.minimum(1.0, raw / params.rarity_floor) if params.rarity_floor > 0 else 1.0
        p = dict(p, score=np.where(raw > 0, raw ** (1 - w) * (1.0 - exceed) ** w * weak, 0.0))
        out.append(p)
    return out, calib


def _per_image_max(parts, kind):
    imgs, scores = [], []
    for p in parts:
        if len(p["kind"]) and p["kind"][0] == kind:
            imgs.append(p["image_id"])
            scores.append(p["score"])
    if not imgs:
        return np.zeros(0)
    img = np.concatenate(imgs)
    sc = np.concatenate(scores)
    _, inv = np.unique(img, return_inverse=True)
    mx = np.zeros(inv.max() + 1 if len(inv) else 0)
    np.maximum.at(mx, inv, sc)
    return mx


def _shape_oddness(l_cls, l_box, ref, sel):
    w = np.log(np.clip(l_box[:, 2] - l_box[:, 0], 1e-3, None))
    h = np.log(np.clip(l_box[:, 3] - l_box[:, 1], 1e-3, None))
    k = int(l_cls.max(initial=0)) + 1
    c = np.clip(l_cls, 0, k - 1)
    n = np.bincount(c[ref], minlength=k).astype(float) + 1e-9
    z2 = np.zeros(len(sel))
    for v in (w, h):
        mu = np.bincount(c[ref], weights=v[ref], minlength=k) / n
        var = np.bincount(c[ref], weights=v[ref] ** 2, minlength=k) / n - mu ** 2
        sd = np.sqrt(np.maximum(var, 0.0)) + 0.05  # floor: classes of identical boxes
        z2 += ((v[sel] - mu[c[sel]]) / sd[c[sel]]) ** 2
    return 1.0 - np.exp(-z2 / 8.0)


def _per_class(values: np.ndarray, cls: np.ndarray, default: float) -> np.ndarray:
    """values[cls], with `default` for classes the calibration has not seen."""
    if len(values) == 0:
        return np.full(len(cls), default)
    ok = (cls >= 0) & (cls < len(values))
    return np.where(ok, values[np.clip(cls, 0, len(values) - 1)], default)


def _intersection(a, b):
    ix = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    iy = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    return np.clip(ix, 0, None) * np.clip(iy, 0, None)


def pairs_of(li, pj, iou):
    from desktop.core.matching import Pairs

    return Pairs(li, pj, iou)


# ---------------------------------------------------------------- keys, records, pooling

def issue_keys(issues: dict, params: FinderParams | None = None) -> np.ndarray:
    """A string naming "the same issue on the same label and prediction" across re-runs.
    Label-side issues are keyed by kind + label id(s) (+ suggested class for class issues);
    a prediction has a new id in every run, so missing issues are keyed by image, class and
    the prediction's geometry rounded to a key_grid_px grid."""
    params = params or FinderParams()
    g = params.key_grid_px
    kind = issues["kind"]
    img, lid, lid2 = issues["image_id"], issues["label_id"], issues["label2_id"]
    cls, scls = issues["cls"], issues["suggested_cls"]
    q = np.nan_to_num(np.round(issues["_pred_box"] / g), nan=-1).astype(np.int64)
    add = np.strings.add
    out = np.empty(len(kind), object)

    def txt(a):
        return np.asarray(a).astype(str)

    for k in np.unique(kind):
        sel = np.flatnonzero(kind == k)
        if k == "missing":
            box = add(add(add(add(add(add(txt(q[sel, 0]), ","), txt(q[sel, 1])), ","), txt(q[sel, 2])), ","),
                      txt(q[sel, 3]))
            key = add(add(add(add(add("missing:i", txt(img[sel])), ":c"), txt(cls[sel])), ":"), box)
        elif k == "unlabeled-image":
            key = add("unlabeled-image:i", txt(img[sel]))
        elif k == "duplicate":
            key = add(add(add("duplicate:l", txt(lid[sel])), ":l"), txt(lid2[sel]))
        elif k == "class":
            key = add(add(add("class:l", txt(lid[sel])), ":c"), txt(scls[sel]))
        else:
            key = add(f"{k}:l", txt(lid[sel]))
        out[sel] = key
    return out


def to_records(issues: dict) -> list[dict]:
    """Column arrays -> plain dicts (None for absent ids / classes / numbers, tuple boxes)."""
    n = len(issues["score"])
    recs = []
    for i in range(n):
        box = issues["suggested_box"][i]
        conf, iou = issues["confidence"][i], issues["iou"][i]
        recs.append({
            "image_id": int(issues["image_id"][i]),
            "kind": str(issues["kind"][i]),
            "score": float(issues["score"][i]),
            "label_id": _opt_int(issues["label_id"][i]),
            "label2_id": _opt_int(issues["label2_id"][i]),
            "pred_id": _opt_int(issues["pred_id"][i]),
            "cls": _opt_int(issues["cls"][i]),
            "suggested_cls": _opt_int(issues["suggested_cls"][i]),
            "suggested_box": tuple(float(v) for v in box) if np.isfinite(box).all() else None,
            "confidence": float(conf) if np.isfinite(conf) else None,
            "iou": float(iou) if np.isfinite(iou) else None,
            "key": str(issues["key"][i]),
        })
    return recs


def _opt_int(v) -> int | None:
    return None if v < 0 else int(v)


def image_scores(issues: dict, pooling: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """Pool issue scores per image -> (image_ids, scores), highest first.

    'max' (default): an image is as suspicious as its most suspicious box. Errors are rare
    and local, so one strong signal should surface the image; a sum or noisy-OR would rank
    dense images (hundreds of boxes, each with a small score) above sparse images holding
    one real mistake. Ties are broken by the noisy-OR 1 - prod(1 - s) (more independent
    evidence first), scaled to stay below the next distinct max.
    'noisy-or': 1 - prod(1 - s), the probability that at least one issue is real if the
    scores were independent probabilities.
    """
    img = np.asarray(issues["image_id"], np.int64)
    s = np.clip(np.asarray(issues["score"], float), 0, 1)
    if len(img) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    ids, inv = np.unique(img, return_inverse=True)
    log_keep = np.zeros(len(ids))
    np.add.at(log_keep, inv, np.log1p(-np.minimum(s, 1 - 1e-12)))
    nor = 1.0 - np.exp(log_keep)
    if pooling == "noisy-or":
        pooled = nor
    elif pooling == "max":
        mx = np.zeros(len(ids))
        np.maximum.at(mx, inv, s)
        pooled = mx + 1e-6 * nor
        pooled = np.minimum(pooled, 1.0)
    else:
        raise ValueError(f"unknown pooling {pooling!r}")
    order = np.argsort(-pooled, kind="stable")
    return ids[order], pooled[order]
