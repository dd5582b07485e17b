"""The project file's tables (SQLAlchemy Core). Only store.py and migrations use these.

Schema history (SCHEMA_VERSION):
  1: first release.
Bump SCHEMA_VERSION and add a step to migrations.MIGRATIONS whenever a table changes.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

classes = Table(
    "classes",
    metadata,
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("name", String, nullable=False),
    Column("color", String, nullable=False, default=""),
    Column("source_id", Integer, nullable=True),
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", String, nullable=False, unique=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("split", String, nullable=False, default="none"),
    Column("status", String, nullable=False, default="unreviewed"),
    Column("error", Text, nullable=True),
    Column("source_id", Integer, nullable=True),
    Column("labelled", Boolean, nullable=False, default=True),
)


def _box_columns():
    return [Column(n, Float, nullable=False) for n in ("x0", "y0", "x1", "y1")]


# The labels exactly as imported. Never updated or deleted after import: every correction
# is diffed against this table (reports, demo check).
original_labels = Table(
    "original_labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False, index=True),
    *_box_columns(),
    Column("cls", Integer, nullable=False),
    Column("iscrowd", Boolean, nullable=False, default=False),
    Column("source_id", Integer, nullable=True),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False, index=True),
    *_box_columns(),
    Column("cls", Integer, nullable=False),
    Column("iscrowd", Boolean, nullable=False, default=False),
    Column("origin", String, nullable=False, default="imported"),
    Column("source_id", Integer, nullable=True),
    # The original_labels row this label started as (NULL for added boxes).
    Column("original_id", Integer, nullable=True),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("kind", String, nullable=False, default="model"),  # model | crossval | imported
    Column("model_path", Text, nullable=False, default=""),
    Column("model_hash", String, nullable=False, default=""),
    Column("params", Text, nullable=False, default="{}"),  # JSON, sorted keys
    Column("model_classes", Text, nullable=False, default="[]"),  # JSON list of names
    Column("class_map", Text, nullable=False, default="{}"),  # JSON {model idx: project idx | null}
    Column("created", Float, nullable=False),
    Column("finished", Float, nullable=True),
    Column("source", Text, nullable=False, default=""),
)

# One row per (run, image) once the image was processed: the cache and the resume point.
run_images = Table(
    "run_images",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), primary_key=True),
    Column("error", Text, nullable=True),
)

predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    *_box_columns(),
    Column("cls", Integer, nullable=True),  # project class; NULL = model class unknown to project
    Column("conf", Float, nullable=False),
    Column("model_cls", Integer, nullable=False, default=-1),
)
Index("ix_predictions_run_image", predictions.c.run_id, predictions.c.image_id)

issues = Table(
    "issues",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("image_id", Integer, ForeignKey("images.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("run_id", Integer, nullable=True),
    Column("kind", String, nullable=False),
    Column("score", Float, nullable=False),
    Column("status", String, nullable=False, default="open"),
    Column("label_id", Integer, nullable=True),
    Column("label2_id", Integer, nullable=True),
    Column("pred_id", Integer, nullable=True),
    Column("cls", Integer, nullable=True),
    Column("suggested_cls", Integer, nullable=True),
    Column("sx0", Float, nullable=True),
    Column("sy0", Float, nullable=True),
    Column("sx1", Float, nullable=True),
    Column("sy1", Float, nullable=True),
    Column("confidence", Float, nullable=True),
    Column("iou", Float, nullable=True),
    Column("key", String, nullable=False, default=""),
)
Index("ix_issues_status_score", issues.c.status, issues.c.score)
Index("ix_issues_key", issues.c.key)

# Every edit, committed in the same transaction as the change it records.
history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("time", Float, nullable=False),
    Column("kind", String, nullable=False),
    Column("image_id", Integer, nullable=True, index=True),
    Column("before", Text, nullable=False, default="null"),  # JSON
    Column("after", Text, nullable=False, default="null"),  # JSON
    Column("undo_of", Integer, nullable=True),  # history id this entry reverts, for undo
)
