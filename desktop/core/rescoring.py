"""Glue between the issue finder and the project store: load columns, find, replace.

`rescore` re-scores the whole project (after a prediction run) or only some images (after
an edit). The model calibration (what the finder learns from the model's agreement with the
labels) is learnt on a full re-score and kept in the project's meta table, so an incremental
re-score of a few images scores them exactly as a full one would, and takes milliseconds.
Dismissed issues stay dismissed: Store.replace_issues keeps any issue whose key matches one.
"""
from __future__ import annotations

import json
import time
from collections import Counter

from desktop.core.issues import Calibration, FinderParams, find_issues, to_records

_CALIBRATION_META = "issue_calibration:{run_id}"


def rescore(store, run_id: int | None = None, image_ids=None, params: FinderParams | None = None) -> dict:
    """Find issues for all images (image_ids=None) or the given ones, using prediction run
    `run_id` (default: the active run; with no run only model-free kinds are found), and
    store them. Returns a summary: {'run_id', 'images', 'issues', 'by_kind', 'seconds'}."""
    t0 = time.perf_counter()
    params = params or FinderParams()
    if run_id is None:
        run_id = store.active_run()
    ids = None if image_ids is None else sorted({int(i) for i in image_ids})
    labels = store.label_arrays(ids)
    sizes = store.image_sizes(ids)
    predictions = None
    model_classes = None
    calibration = None
    if run_id is not None:
        predictions = store.prediction_arrays(run_id, ids)
        info = store.run_info(run_id)
        project = {c.idx for c in store.classes()}
        model_classes = project - set(info.missing_classes)
        if ids is not None:
            calibration = _load_calibration(store, run_id)
            if calibration is None:  # never scored in full: learn on everything once
                _learn_calibration(store, run_id, model_classes, params)
                calibration = _load_calibration(store, run_id)
    found, calib = find_issues(labels, predictions, sizes, model_classes=model_classes, params=params,
                               return_calibration=True, calibration=calibration)
    if ids is None and calib is not None and run_id is not None:
        store.set_meta(_CALIBRATION_META.format(run_id=run_id), json.dumps(calib.to_json()))
    records = to_records(found)
    stored = store.replace_issues(ids, run_id, records)
    return {"run_id": run_id, "images": len(sizes["id"]), "issues": len(records), "stored_open": stored,
            "by_kind": dict(Counter(r["kind"] for r in records)), "seconds": time.perf_counter() - t0}


def _load_calibration(store, run_id: int) -> Calibration | None:
    raw = store.get_meta(_CALIBRATION_META.format(run_id=run_id))
    if not raw:
        return None
    try:
        return Calibration.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: relearn


def _learn_calibration(store, run_id: int, model_classes, params: FinderParams) -> None:
    _, calib = find_issues(store.label_arrays(), store.prediction_arrays(run_id), store.image_sizes(),
                           model_classes=model_classes, params=params, return_calibration=True)
    if calib is not None:
        store.set_meta(_CALIBRATION_META.format(run_id=run_id), json.dumps(calib.to_json()))
