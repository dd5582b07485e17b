"""The correction report as JSON: every figure of Report plus the per-image changes, for
scripts and CI gates (e.g. fail a pipeline when more than 5% of images changed)."""
from __future__ import annotations

import json

from .diff import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n"
