"""The demo: a procedurally drawn detection dataset (bolts, nuts, washers on a workbench)
with planted label mistakes, the manifest that records them, and a progress check.

Nothing here imports Qt, torch or ultralytics: generating the demo takes numpy + pillow only.
Entry points: `generate.generate_demo_dataset`, `generate.generate_clean_training_set`,
`check.check_progress`.
"""
from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = ("bolt", "nut", "washer")

# Bump when the drawing, planting or manifest format changes: a cached demo whose manifest
# carries another version is regenerated.
GENERATOR_VERSION = 2
