"""Matching: the vectorised greedy rounds must equal the plain sequential greedy rule."""
import numpy as np
import pytest

from desktop.core.geometry import iou_matrix
from desktop.core.matching import (block_pairs, candidate_pairs, greedy_match, greedy_match_reference,
                                   match)


def _random_scene(rng, n_img, max_l, max_p, size=100.0):
    l_img, l_box, p_img, p_box, p_conf = [], [], [], [], []
    for i in range(n_img):
        nl, npred = rng.integers(0, max_l + 1), rng.integers(0, max_p + 1)
        xy = rng.uniform(0, size, (nl, 2))
        wh = rng.uniform(5, 40, (nl, 2))
        lb = np.c_[xy, xy + wh]
        # predictions: jittered copies of labels plus random boxes, so overlaps chain
        src = lb[rng.integers(0, max(nl, 1), npred)] if nl else rng.uniform(0, size, (npred, 4))
        pb = src + rng.normal(0, 6, (npred, 4))
        pb[:, 2:] = np.maximum(pb[:, 2:], pb[:, :2] + 1)
        l_img += [i] * nl
        p_img += [i] * npred
        l_box.append(lb)
        p_box.append(pb)
        p_conf.append(np.round(rng.uniform(0, 1, npred), 1))  # ties on purpose
    return (np.array(l_img, np.int64), np.concatenate(l_box).reshape(-1, 4), np.array(p_img, np.int64),
            np.concatenate(p_box).reshape(-1, 4), np.concatenate(p_conf))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("thr", [0.1, 0.5])
def test_vectorised_greedy_equals_sequential_reference(seed, thr):
    rng = np.random.default_rng(seed)
    l_img, l_box, p_img, p_box, conf = _random_scene(rng, 30, 12, 15)
    pairs = candidate_pairs(l_img, l_box, p_img, p_box, min_iou=1e-9)
    l2p, p2l, l_iou = greedy_match(pairs, conf, len(l_img), len(p_img), thr)
    for i in range(30):
        li, pi = np.flatnonzero(l_img == i), np.flatnonzero(p_img == i)
        ref_l2p, _ = greedy_match_reference(iou_matrix(l_box[li], p_box[pi]), conf[pi], thr)
        got = np.array([np.searchsorted(pi, v) if v >= 0 else -1 for v in l2p[li]])
        assert np.array_equal(got, ref_l2p), f"image {i}"
    # one-to-one and consistent
    m = l2p >= 0
    assert np.array_equal(p2l[l2p[m]], np.flatnonzero(m))
    assert len(np.unique(l2p[m])) == m.sum()
    assert (l_iou[m] >= thr).all()


def test_class_aware_vs_agnostic():
    l_img = np.array([0])
    box = np.array([[0, 0, 10, 10.0]])
    aware = match(l_img, [1], box, [0], [2], [0.9], box, class_aware=True)
    agnostic = match(l_img, [1], box, [0], [2], [0.9], box, class_aware=False)
    assert aware[0][0] == -1
    assert agnostic[0][0] == 0 and agnostic[2][0] == pytest.approx(1.0)


def test_higher_confidence_wins_contested_label():
    box = np.array([[0, 0, 10, 10.0]])
    preds = np.array([[0, 0, 10, 10.0], [0, 0, 10, 9.0]])
    l2p, p2l, _ = match([0], [0], box, [0, 0], [0, 0], [0.3, 0.8], preds)
    assert l2p[0] == 1 and p2l[0] == -1


def test_pairs_never_cross_images_and_empty_inputs():
    box = np.array([[0, 0, 10, 10.0]])
    pairs = candidate_pairs([0], box, [1], box)
    assert len(pairs.label) == 0
    pairs = candidate_pairs(np.zeros(0), np.zeros((0, 4)), [1], box)
    assert len(pairs.label) == 0
    a, b = block_pairs(np.array([3, 1, 3]), np.array([3, 3, 2]))
    assert sorted(zip(a.tolist(), b.tolist())) == [(0, 0), (0, 1), (2, 0), (2, 1)]
    l2p, p2l, _ = match([], [], np.zeros((0, 4)), [], [], [], np.zeros((0, 4)))
    assert len(l2p) == 0 and len(p2l) == 0


def test_threshold_is_configurable():
    lab = np.array([[0, 0, 10, 10.0]])
    pred = np.array([[0, 0, 10, 6.0]])  # IoU 0.6
    assert match([0], [0], lab, [0], [0], [0.9], pred, iou_threshold=0.5)[0][0] == 0
    assert match([0], [0], lab, [0], [0], [0.9], pred, iou_threshold=0.7)[0][0] == -1
