"""Forward migrations of the project file, one step per schema version.

MIGRATIONS[v](conn) turns a version-v file into version v+1, inside one transaction; the
store copies the file to NAME.boxfix.v{v}.bak before the first step.

Version 0 was the development format (before images.labelled and runs.source existed).
"""
from __future__ import annotations


def _v0_to_v1(conn) -> None:
    cols = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(images)").fetchall()}
    if "labelled" not in cols:
        conn.exec_driver_sql("ALTER TABLE images ADD COLUMN labelled BOOLEAN NOT NULL DEFAULT 1")
    cols = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(runs)").fetchall()}
    if "source" not in cols:
        conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT ''")


MIGRATIONS = {0: _v0_to_v1}
