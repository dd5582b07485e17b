"""Read-only queries the report needs that Store does not offer (yet).

Store is the only place that speaks SQL in general; inside desktop/core a module may read the
project with SQLAlchemy Core selects over desktop.core.schema, which is what these do. They
return numpy columns so a 1,000,000-box project diffs without building a Python object per box.
"""
from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from .. import schema as S


def _matrix(conn, q, ncols: int) -> np.ndarray:
    """A select's rows as a float matrix, read through the DBAPI cursor as plain tuples.
    numpy probing SQLAlchemy Row objects for array attributes costs ~10 us per row (a minute
    at 1,000,000 boxes), and building Rows at all doubles the time of the fetch itself."""
    sql = str(q.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()
    try:
        rows = cur.execute(sql).fetchall()
    finally:
        cur.close()
    return np.array(rows, dtype=np.float64).reshape(-1, ncols)


def current_label_columns(store) -> dict[str, np.ndarray]:
    """Every current label: id, image_id, cls, original_id (-1 for added boxes), boxes (N,4)."""
    t = S.labels
    q = select(t.c.id, t.c.image_id, t.c.cls, func.coalesce(t.c.original_id, -1),
               t.c.x0, t.c.y0, t.c.x1, t.c.y1).order_by(t.c.id)
    with store.engine.connect() as conn:
        arr = _matrix(conn, q, 8)
    return {"id": arr[:, 0].astype(np.int64), "image_id": arr[:, 1].astype(np.int64),
            "cls": arr[:, 2].astype(np.int64), "original_id": arr[:, 3].astype(np.int64),
            "boxes": arr[:, 4:8].copy()}


def original_label_columns(store) -> dict[str, np.ndarray]:
    """Every original label, sorted by id: id, image_id, cls, boxes (N,4)."""
    t = S.original_labels
    q = select(t.c.id, t.c.image_id, t.c.cls, t.c.x0, t.c.y0, t.c.x1, t.c.y1).order_by(t.c.id)
    with store.engine.connect() as conn:
        arr = _matrix(conn, q, 7)
    return {"id": arr[:, 0].astype(np.int64), "image_id": arr[:, 1].astype(np.int64),
            "cls": arr[:, 2].astype(np.int64), "boxes": arr[:, 3:7].copy()}


def issue_counts_by_kind_and_status(store) -> dict[str, dict[str, int]]:
    """{kind: {status: count}} over every issue row, whatever its status."""
    t = S.issues
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.kind, t.c.status, func.count()).group_by(t.c.kind, t.c.status)).all()
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in rows:
        out.setdefault(kind, {})[status] = int(n)
    return out


def history_times(store) -> tuple[np.ndarray, list[str]]:
    """When each edit happened (seconds since the epoch, in history order) and its kind."""
    t = S.history
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.time, t.c.kind).order_by(t.c.id)).all()
    return np.array([r[0] for r in rows], dtype=np.float64), [r[1] for r in rows]


def history_rows(store, batch: int = 5000):
    """Every history row in order, streamed in batches (a long session has many edits)."""
    t = S.history
    last = 0
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.id > last).order_by(t.c.id).limit(batch)).all()
        if not rows:
            return
        for r in rows:
            yield dict(r._mapping)
        last = rows[-1].id


def image_paths(store) -> dict[int, str]:
    with store.engine.connect() as conn:
        return {r.id: r.path for r in conn.execute(select(S.images.c.id, S.images.c.path))}


def reviewed_image_ids(store) -> set[int]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(S.images.c.id).where(S.images.c.status == "reviewed")).scalars())
