"""The issue finder on hand-made scenes: one test per kind, plus edge cases."""
import numpy as np
import pytest

from desktop.core.issues import FIELDS, FinderParams, find_issues, image_scores, to_records


def _labels(rows):
    """rows: (id, image_id, cls, x0, y0, x1, y1[, iscrowd])"""
    a = np.array([r[:7] for r in rows], float).reshape(-1, 7)
    crowd = np.array([r[7] if len(r) > 7 else 0 for r in rows], bool)
    return {"id": a[:, 0].astype(int), "image_id": a[:, 1].astype(int), "cls": a[:, 2].astype(int),
            "boxes": a[:, 3:7], "iscrowd": crowd}


def _preds(rows):
    """rows: (id, image_id, cls, conf, x0, y0, x1, y1)"""
    a = np.array(rows, float).reshape(-1, 8)
    return {"id": a[:, 0].astype(int), "image_id": a[:, 1].astype(int), "cls": a[:, 2].astype(int),
            "conf": a[:, 3], "boxes": a[:, 4:8]}


def _sizes(ids, w=640, h=480):
    return {"id": np.array(ids), "width": np.full(len(ids), w), "height": np.full(len(ids), h)}


def _background(n_img=20, start_id=1000):
    """Images where the model agrees with the labels, so calibration has something to learn."""
    lab, pred = [], []
    k = start_id
    for i in range(n_img):
        for j in range(3):
            x = 20 + 150 * j
            lab.append((k, 100 + i, j % 2, x, 50, x + 60, 110))
            pred.append((k, 100 + i, j % 2, 0.9, x + 1, 51, x + 61, 111))
            k += 1
    return lab, pred


def _find(lab_rows, pred_rows, image_ids, params=None, **kw):
    bl, bp = _background()
    labels = _labels(lab_rows + bl)
    preds = _preds(pred_rows + bp) if pred_rows is not None else None
    ids = sorted(set(image_ids) | {100 + i for i in range(20)})
    return find_issues(labels, preds, _sizes(ids), params=params or FinderParams(min_score=0.0), **kw)


def _of(out, kind, **eq):
    sel = out["kind"] == kind
    for k, v in eq.items():
        sel &= out[k] == v
    return {k: v[sel] for k, v in out.items()}


def _check_wellformed(out):
    assert set(FIELDS) <= set(out)
    n = len(out["score"])
    assert all(len(out[f]) == n for f in FIELDS)
    assert np.isfinite(out["score"]).all()
    assert ((out["score"] >= 0) & (out["score"] <= 1)).all()
    assert np.all(np.diff(out["score"]) <= 0)  # sorted, highest first


def test_missing_label_is_flagged_with_the_prediction_box():
    out = _find([(1, 1, 0, 10, 10, 60, 60)], [(1, 1, 0, 0.9, 10, 10, 60, 60), (2, 1, 0, 0.9, 300, 300, 360, 360)], [1])
    _check_wellformed(out)
    miss = _of(out, "missing", image_id=1)
    assert list(miss["pred_id"]) == [2]
    assert miss["score"][0] > 0.5
    assert np.allclose(miss["suggested_box"][0], [300, 300, 360, 360])
    assert out["kind"][0] == "missing" or out["score"][0] >= miss["score"][0]


def test_spurious_label_without_support_and_unknown_class_exempt():
    rows = [(1, 1, 0, 10, 10, 60, 60), (2, 1, 0, 300, 300, 360, 360), (3, 1, 5, 400, 10, 460, 60)]
    out = _find(rows, [(1, 1, 0, 0.9, 10, 10, 60, 60)], [1], model_classes={0, 1})
    sp = _of(out, "spurious", image_id=1)
    assert 2 in sp["label_id"] and 1 not in sp["label_id"]
    assert 3 not in out["label_id"][out["kind"] == "spurious"]  # class 5 unknown to the model
    assert sp["score"][sp["label_id"] == 2][0] > 0.5


def test_localization_carries_suggested_box_and_ranks_by_iou():
    rows = [(1, 1, 0, 10, 10, 60, 60), (2, 2, 0, 10, 10, 60, 60)]
    preds = [(1, 1, 0, 0.9, 30, 10, 80, 60),  # IoU 0.43: badly drawn
             (2, 2, 0, 0.9, 12, 10, 62, 60)]  # IoU 0.92: fine
    out = _find(rows, preds, [1, 2])
    loc = _of(out, "localization")
    s1 = loc["score"][loc["label_id"] == 1][0]
    s2 = loc["score"][loc["label_id"] == 2]
    assert s1 > 0.3 and (len(s2) == 0 or s2[0] < s1)
    raw = _of(_find(rows, preds, [1, 2], params=FinderParams(min_score=0.0, rarity="off")), "localization")
    r1 = raw["score"][raw["label_id"] == 1][0]
    r2 = raw["score"][raw["label_id"] == 2]
    assert r1 > 0.3 and (len(r2) == 0 or r2[0] < r1 / 3)
    assert np.allclose(loc["suggested_box"][loc["label_id"] == 1][0], [30, 10, 80, 60])
    assert not (_of(out, "missing", image_id=1)["score"] > 0.3).any()


def test_wrong_class_suggests_the_predicted_class():
    out = _find([(1, 1, 0, 10, 10, 60, 60)], [(1, 1, 1, 0.95, 11, 10, 61, 60)], [1])
    cl = _of(out, "class", image_id=1)
    assert list(cl["label_id"]) == [1] and list(cl["suggested_cls"]) == [1]
    assert cl["score"][0] > 0.5
    # the prediction is explained by the class issue, not reported as a missing label
    assert not (_of(out, "missing", image_id=1)["score"] > 0.3).any()


def test_duplicate_and_degenerate_need_no_model():
    rows = [(1, 1, 0, 10, 10, 60, 60), (2, 1, 0, 11, 11, 60, 60), (3, 1, 1, 10, 10, 60, 60),
            (4, 1, 0, 100, 100, 100, 150), (5, 1, 0, 100, 100, 101.5, 150), (6, 1, 0, 600, 400, 700, 470),
            (7, 1, 0, 5, 5, 3, 3)]
    out = find_issues(_labels(rows), None, _sizes([1]))
    _check_wellformed(out)
    dup = _of(out, "duplicate")
    assert list(zip(dup["label_id"], dup["label2_id"])) == [(2, 1)]  # class 1 label is no duplicate
    deg = _of(out, "degenerate")
    assert sorted(deg["label_id"]) == [4, 5, 6, 7]
    s = dict(zip(deg["label_id"], deg["score"]))
    assert s[4] == 1.0 and s[7] == 1.0 and s[5] == pytest.approx(0.9)
    box6 = deg["suggested_box"][deg["label_id"] == 6][0]
    assert np.allclose(box6, [600, 400, 640, 470])
    assert np.isnan(deg["suggested_box"][deg["label_id"] == 4][0]).all()


def test_unlabeled_image_gets_one_image_level_flag():
    out = _find([], [(1, 7, 0, 0.9, 10, 10, 60, 60), (2, 7, 0, 0.8, 100, 10, 160, 60)], [7])
    img = out["image_id"] == 7
    assert list(out["kind"][img]) == ["unlabeled-image"]
    assert out["score"][img][0] > 0.5


def test_empty_inputs_and_all_degenerate():
    empty_l = _labels([])
    out = find_issues(empty_l, None, _sizes([]))
    _check_wellformed(out)
    assert len(out["score"]) == 0
    out = find_issues(empty_l, _preds([]), _sizes([1]))
    assert len(out["score"]) == 0
    rows = [(i, 1, 0, 5, 5, 5, 5) for i in range(1, 6)]
    out = find_issues(_labels(rows), _preds([(1, 1, 0, 0.9, 5, 5, 5, 5)]), _sizes([1]))
    _check_wellformed(out)
    assert set(out["kind"]) >= {"degenerate"}
    recs = to_records(out)
    assert all(r["score"] == r["score"] for r in recs)  # no NaN


def test_crowd_labels_are_never_spurious_and_cover_predictions():
    rows = [(1, 1, 0, 0, 0, 300, 300, 1)]
    out = _find(rows, [(1, 1, 0, 0.9, 10, 10, 40, 40)], [1])
    assert not ((out["image_id"] == 1) & (out["score"] > 0.3)).any()


def test_keys_are_stable_across_runs_with_new_prediction_ids():
    rows = [(1, 1, 0, 10, 10, 60, 60), (2, 1, 0, 200, 200, 260, 260)]
    run1 = [(1, 1, 0, 0.9, 10, 10, 60, 60), (2, 1, 0, 0.9, 400, 300, 460, 360), (3, 1, 1, 0.9, 201, 200, 261, 260)]
    run2 = [(11, 1, 0, 0.85, 10, 10, 60, 60), (12, 1, 0, 0.88, 400.4, 300.2, 460.3, 359.9),
            (13, 1, 1, 0.91, 200, 201, 260, 261)]
    k1 = set(_find(rows, run1, [1])["key"])
    k2 = set(_find(rows, run2, [1])["key"])
    assert {"class:l2:c1"} <= k1 & k2
    miss1 = [k for k in k1 if k.startswith("missing:i1:")]
    assert miss1 and set(miss1) <= k2
    assert len(k1) == len(_find(rows, run1, [1])["key"])  # unique


def test_image_scores_pooling():
    issues = {"image_id": np.array([1, 1, 2, 3, 3, 3]), "score": np.array([0.9, 0.1, 0.9, 0.3, 0.3, 0.3])}
    ids, s = image_scores(issues)
    assert list(ids[:2]) == [1, 2] and s[0] > s[1]  # same max, more evidence breaks the tie
    assert ids[-1] == 3 and s[-1] == pytest.approx(0.3, abs=1e-5)
    ids, s = image_scores(issues, "noisy-or")
    assert s[list(ids).index(3)] == pytest.approx(1 - 0.7 ** 3)
    assert (s <= 1).all() and (s >= 0).all()


def test_confidence_calibration_is_per_class():
    # class 1: the model is always right at 0.3; class 0: 0.3 predictions are never right.
    lab, pred = [], []
    k = 1
    for i in range(40):
        lab.append((k, 500 + i, 1, 10, 10, 60, 60))
        pred.append((k, 500 + i, 1, 0.3, 10, 10, 60, 60))
        pred.append((k + 10000, 500 + i, 0, 0.3, 300, 300, 360, 360))
        k += 1
    lab.append((k, 9, 1, 10, 10, 60, 60))
    pred += [(k, 9, 1, 0.3, 300, 10, 360, 60)]
    out = _find(lab, pred, [9] + [500 + i for i in range(40)])
    miss9 = _of(out, "missing", image_id=9)["score"][0]
    miss_cls0 = _of(out, "missing", cls=0)["score"]
    assert miss9 > 0.5 > miss_cls0.max()


def test_calibration_round_trips_and_reuse_gives_the_same_scores():
    import json

    from desktop.core.issues import Calibration

    rows = [(1, 1, 0, 10, 10, 60, 60), (2, 1, 0, 200, 200, 260, 260)]
    preds = [(1, 1, 0, 0.9, 30, 10, 80, 60), (2, 1, 1, 0.9, 201, 200, 261, 260), (3, 1, 0, 0.8, 400, 300, 460, 360)]
    bl, bp = _background()
    labels, pr, sizes = _labels(rows + bl), _preds(preds + bp), _sizes([1] + [100 + i for i in range(20)])
    params = FinderParams(min_score=0.0)
    full, calib = find_issues(labels, pr, sizes, params=params, return_calibration=True)
    assert calib.rarity and set(calib.rarity) >= {"missing", "localization"}
    again = Calibration.from_json(json.loads(json.dumps(calib.to_json())))
    # score image 1 alone with the stored calibration: same scores as in the full pass
    one = {k: v[labels["image_id"] == 1] for k, v in labels.items()}
    one_p = {k: v[pr["image_id"] == 1] for k, v in pr.items()}
    inc = find_issues(one, one_p, _sizes([1]), params=params, calibration=again)
    want = {k: s for k, s, i in zip(full["key"], full["score"], full["image_id"]) if i == 1}
    got = dict(zip(inc["key"], inc["score"]))
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-9 for k in got)
