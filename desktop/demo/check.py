"""Demo progress: compare a project's current labels with the demo manifest.

Matching rule: a current label *matches* a box of the manifest when it has the same class and
IoU >= 0.8 with it (MATCH_IOU). The rule is loose enough for a box redrawn by hand and tight
enough that a planted shifted box (IoU 0.3-0.7 with the truth) never passes for the truth.

Each planted mistake is then:
- fixed   when it is gone from the current labels:
    missing / localization / class: a current label matches the clean box and class;
    duplicate:  at most one current label matches the clean box;
    spurious:   no current label (any class) overlaps the planted box at IoU >= 0.8;
    degenerate: no current label lies within 1 px of the planted box on every side;
- missed  when it is still there although the image was marked reviewed;
- open    when it is still there and the image was not reviewed yet (or was skipped).

correct_changed counts the true parts whose imported label was right (every part except the
targets of missing / localization / class) and that no current label matches any more: good
labels a reviewer broke. extra_labels counts current labels that match no true part and are
not an unfixed planted mistake: boxes a reviewer added wrongly.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from desktop.core.geometry import iou_matrix
from desktop.core.model import ReviewStatus

MATCH_IOU = 0.8
DEGENERATE_TOL = 1.0
KINDS = ("missing", "localization", "class", "spurious", "duplicate", "degenerate")
_TRUTH_FIXED_BY_MATCH = ("missing", "localization", "class")


def _matches(cur_boxes: np.ndarray, cur_cls: np.ndarray, box, cls: int | None) -> np.ndarray:
    """Bool mask over current labels: IoU >= MATCH_IOU with `box` (and same class unless None)."""
    if len(cur_boxes) == 0:
        return np.zeros(0, dtype=bool)
    ok = iou_matrix(cur_boxes, np.asarray(box, dtype=np.float64)[None])[:, 0] >= MATCH_IOU
    return ok if cls is None else ok & (cur_cls == cls)


def _is_fixed(m: dict, boxes: np.ndarray, cls: np.ndarray) -> bool:
    kind = m["kind"]
    if kind in _TRUTH_FIXED_BY_MATCH:
        return bool(_matches(boxes, cls, m["clean"]["box"], m["clean"]["cls"]).any())
    if kind == "duplicate":
        return int(_matches(boxes, cls, m["clean"]["box"], m["clean"]["cls"]).sum()) <= 1
    if kind == "spurious":
        return not bool(_matches(boxes, cls, m["planted"]["box"], None).any())
    if kind == "degenerate":
        if len(boxes) == 0:
            return True
        near = np.abs(boxes - np.asarray(m["planted"]["box"], dtype=np.float64)[None]).max(axis=1) <= DEGENERATE_TOL
        return not bool(near.any())
    raise ValueError(f"unknown mistake kind {kind!r} in the demo manifest")


def _unfixed_planted_mask(m: dict, boxes: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Current labels that are this (still unfixed) planted mistake, so not 'extra'."""
    p = m.get("planted")
    if not p:
        return np.zeros(len(boxes), dtype=bool)
    if m["kind"] == "degenerate":
        return np.abs(boxes - np.asarray(p["box"], dtype=np.float64)[None]).max(axis=1) <= DEGENERATE_TOL
    return _matches(boxes, cls, p["box"], None if m["kind"] == "spurious" else p["cls"])


def _image_lookup(store) -> tuple[dict, dict]:
    images = store.images()
    by_path = {im.path: im for im in images}
    by_name: dict[str, list] = {}
    for im in images:
        by_name.setdefault(os.path.basename(im.path), []).append(im)
    return by_path, by_name


def check_progress(store, manifest_path: str | os.PathLike) -> dict:
    """Return {total, fixed, missed, open, correct_changed, extra_labels, by_kind, mistakes,
    images_not_in_project, match_rule}. `mistakes` lists each planted mistake with its
    status ('fixed' | 'missed' | 'open'). Reads only; never writes to the store."""
    manifest = json.loads(Path(manifest_path).read_text())
    by_path, by_name = _image_lookup(store)
    per_image: dict[str, list[dict]] = {}
    for m in manifest["mistakes"]:
        per_image.setdefault(m["image"], []).append(m)

    results: list[dict] = []
    correct_changed = extra = not_in_project = 0
    for rel, info in manifest["images"].items():
        im = by_path.get(rel)
        if im is None:  # an importer that keeps other relative paths: fall back to the file name
            cands = by_name.get(os.path.basename(rel), [])
            im = cands[0] if len(cands) == 1 else None
        mistakes = per_image.get(rel, [])
        if im is None:
            not_in_project += 1
            results += [dict(_brief(m), status="open") for m in mistakes]
            continue
        labels = store.labels(im.id)
        boxes = np.array([lab.box.as_tuple() for lab in labels], dtype=np.float64).reshape(-1, 4)
        cls = np.array([lab.cls for lab in labels], dtype=np.int64)
        reviewed = im.status == ReviewStatus.REVIEWED or im.status == ReviewStatus.REVIEWED.value
        not_extra = np.zeros(len(labels), dtype=bool)
        for m in mistakes:
            fixed = _is_fixed(m, boxes, cls)
            if not fixed:
                not_extra |= _unfixed_planted_mask(m, boxes, cls)
            results.append(dict(_brief(m), status="fixed" if fixed else ("missed" if reviewed else "open")))
        wrong_targets = {m["truth_index"] for m in mistakes if m["kind"] in _TRUTH_FIXED_BY_MATCH}
        for t, truth in enumerate(info["truth"]):
            hit = _matches(boxes, cls, truth["box"], truth["cls"])
            not_extra |= hit
            if t not in wrong_targets and not hit.any():
                correct_changed += 1
        extra += int((~not_extra).sum())

    by_kind = {k: {"total": 0, "fixed": 0, "missed": 0, "open": 0} for k in KINDS}
    for r in results:
        b = by_kind.setdefault(r["kind"], {"total": 0, "fixed": 0, "missed": 0, "open": 0})
        b["total"] += 1
        b[r["status"]] += 1
    count = lambda s: sum(r["status"] == s for r in results)  # noqa: E731
    return {
        "total": len(results),
        "fixed": count("fixed"),
        "missed": count("missed"),
        "open": count("open"),
        "correct_changed": correct_changed,
        "extra_labels": extra,
        "by_kind": by_kind,
        "mistakes": results,
        "images_not_in_project": not_in_project,
        "match_rule": f"same class and IoU >= {MATCH_IOU}",
    }


def _brief(m: dict) -> dict:
    return {"id": m.get("id"), "image": m["image"], "kind": m["kind"]}
