"""Every edit in the project's history as CSV, one row per edit (undo and redo included, as
they happened): when, image, the boxes it touched, kind, and compact before/after JSON."""
from __future__ import annotations

import csv as _csv
import io
import json
import time
from typing import TextIO

from . import queries

COLUMNS = ("when", "edit_id", "image_id", "image", "box", "kind", "before", "after")


def _compact(state: dict) -> str:
    """Only the parts of a before/after state that hold something, boxes as [x0,y0,x1,y1]."""
    out = {}
    labels = [x for x in state.get("labels", []) if x]
    if labels:
        out["labels"] = [{"id": x["id"], "cls": x["cls"],
                          "box": [round(float(x[k]), 2) for k in ("x0", "y0", "x1", "y1")]} for x in labels]
    for key in ("classes", "statuses", "issues"):
        vals = [x for x in state.get(key, []) if x]
        if vals:
            out[key] = vals
    return json.dumps(out, separators=(",", ":"), sort_keys=True) if out else ""


def write_csv(store, fh: TextIO) -> int:
    """Write the edits to an open text file (newline=''). Returns the number of rows."""
    paths = queries.image_paths(store)
    w = _csv.writer(fh)
    w.writerow(COLUMNS)
    n = 0
    for row in queries.history_rows(store):
        before = json.loads(row["before"] or "null") or {}
        after = json.loads(row["after"] or "null") or {}
        ids = sorted({x["id"] for x in before.get("labels", []) + after.get("labels", []) if x})
        w.writerow([
            time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(row["time"])) + f".{int(row['time'] % 1 * 1000):03d}",
            row["id"], "" if row["image_id"] is None else row["image_id"], paths.get(row["image_id"], ""),
            " ".join(map(str, ids)), row["kind"], _compact(before), _compact(after),
        ])
        n += 1
    return n


def render_csv(store) -> str:
    buf = io.StringIO(newline="")
    write_csv(store, buf)
    return buf.getvalue()
