"""How many planted demo mistakes the review queue puts in front of a reviewer.

A reviewer walks the queue (issues by score, highest first) and opens each issue's image;
we stop once they have opened `budget` (default 10%) of the dataset's images. A planted
mistake is *found* when one of the opened images holds an open issue whose box (the label's
box, or the prediction's / suggested box) overlaps the mistake's clean or planted box at
IoU >= 0.5. The kind of the issue is not required to match (a shifted box flagged as
'spurious' still sends the reviewer to it), but the share of kind matches is reported too.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from desktop.core.geometry import iou_matrix

CORE_KINDS = ("missing", "localization", "class")


def queue_recall(store, manifest_path: Path, budget: float = 0.10, kinds=CORE_KINDS) -> dict:
    manifest = json.loads(Path(manifest_path).read_text())
    mistakes = [m for m in manifest["mistakes"] if m["kind"] in kinds]
    n_images = store.image_count()
    limit = max(1, math.ceil(budget * n_images))
    opened: list[int] = []
    for issue in store.issues(status="open"):
        if issue.image_id not in opened:
            if len(opened) == limit:
                break
            opened.append(issue.image_id)
    opened_set = set(opened)
    by_path = {im.path: im.id for im in store.images()}
    found = kind_ok = 0
    details = []
    for m in mistakes:
        image_id = by_path.get(m["image"])
        hit, same_kind = False, False
        if image_id in opened_set:
            targets = [np.array(x["box"], float) for x in (m.get("clean"), m.get("planted")) if x]
            for issue in store.issues(status="open", image_id=image_id):
                boxes = []
                if issue.label_id:
                    lab = store.label(issue.label_id)
                    if lab:
                        boxes.append(lab.box.as_tuple())
                if issue.suggested_box is not None:
                    boxes.append(issue.suggested_box.as_tuple())
                if issue.pred_id:
                    pred = store.prediction(issue.pred_id)
                    if pred:
                        boxes.append(pred.box.as_tuple())
                if boxes and targets and iou_matrix(np.array(boxes), np.array(targets)).max() >= 0.5:
                    hit = True
                    same_kind = same_kind or issue.kind.value == m["kind"]
        found += hit
        kind_ok += same_kind
        details.append({"image": m["image"], "kind": m["kind"], "found": hit, "same_kind": same_kind})
    total = len(mistakes)
    return {
        "budget_images": limit,
        "mistakes": total,
        "found": found,
        "recall": found / total if total else 1.0,
        "kind_matched": kind_ok,
        "details": details,
    }
