"""The SQLite project file. The only module that speaks SQL.

A project is one file, NAME.boxfix (SQLite, WAL mode, foreign keys on). Every edit is
committed in its own transaction the moment it is made, together with its history row,
so a crash loses nothing that was applied. See schema.py for the tables.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from . import schema as S
from .edits import Edit
from .lock import ProjectLock, ProjectLockedError
from .model import (
    Box,
    ClassInfo,
    DatasetRead,
    ImageInfo,
    ImageRecord,
    Issue,
    IssueKind,
    IssueStatus,
    Label,
    Origin,
    Prediction,
    Problem,
    ReviewStatus,
    Split,
)

__all__ = ["Store", "ProjectError", "ProjectLockedError", "RunInfo", "ImportSummary"]

PALETTE = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c",
    "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000",
    "#ffd8b1", "#000075", "#808080", "#ffe119",
]


def default_color(idx: int) -> str:
    return PALETTE[idx % len(PALETTE)]


class ProjectError(RuntimeError):
    """A user-facing problem with a project file: the message is one clear sentence."""


@dataclass(frozen=True)
class RunInfo:
    id: int
    name: str
    kind: str
    model_path: str
    model_hash: str
    params: dict
    model_classes: list[str]
    class_map: dict  # model idx (int) -> project idx (int) | None
    created: float
    finished: float | None
    source: str
    images_done: int = 0
    predictions: int = 0

    @property
    def missing_classes(self) -> set[int]:
        """Project class indices no model class maps to: their labels must never be flagged
        as spurious for want of a prediction."""
        return set(self._project_classes) - {v for v in self.class_map.values() if v is not None}

    _project_classes: tuple[int, ...] = ()


@dataclass
class ImportSummary:
    images: int
    labels: int
    classes: int
    problems: list[Problem]


def _label_from_row(r) -> Label:
    return Label(id=r.id, image_id=r.image_id, box=Box(r.x0, r.y0, r.x1, r.y1), cls=r.cls,
                 iscrowd=bool(r.iscrowd), origin=Origin(r.origin) if hasattr(r, "origin") else Origin.IMPORTED,
                 source_id=r.source_id)


def _configure_sqlite(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # FULL: a commit survives power loss too, not only a process crash. Edits are small, so
    # the fsync per edit is cheap; bulk writes batch many rows per transaction.
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


class Store:
    def __init__(self, path: Path, engine: Engine, lock: ProjectLock | None, readonly: bool):
        self.path = Path(path)
        self.engine = engine
        self._lock = lock
        self.readonly = readonly

    # ------------------------------------------------------------------ open / create
    @classmethod
    def create(cls, path: str | os.PathLike, dataset_root: str | os.PathLike, name: str | None = None,
               overwrite: bool = False) -> "Store":
        path = Path(path)
        if path.exists():
            if not overwrite:
                raise ProjectError(f"{path} already exists; choose another name or remove it")
            probe_lock = ProjectLock(path)
            probe_lock.acquire()  # refuse to overwrite a project open elsewhere
            probe_lock.release()
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = ProjectLock(path)
        lock.acquire()
        engine = cls._engine(path, readonly=False)
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            S.metadata.create_all(conn)
            now = time.time()
            conn.execute(insert(S.meta), [
                {"key": "schema_version", "value": str(S.SCHEMA_VERSION)},
                {"key": "name", "value": name or path.stem},
                {"key": "dataset_root", "value": str(Path(dataset_root).resolve())},
                {"key": "created", "value": repr(now)},
                {"key": "import_state", "value": "empty"},
            ])
        return cls(path, engine, lock, readonly=False)

    @classmethod
    def open(cls, path: str | os.PathLike, readonly: bool = False) -> "Store":
        path = Path(path)
        if not path.is_file():
            raise ProjectError(f"{path}: no such project file")
        if not readonly and not os.access(path.parent, os.W_OK):
            readonly = True  # a read-only folder: open read-only and say so (store.readonly)
        if not readonly and not os.access(path, os.W_OK):
            readonly = True
        lock = None
        if not readonly:
            lock = ProjectLock(path)
            lock.acquire()
        try:
            cls._check_header(path)
            engine = cls._engine(path, readonly=readonly)
            store = cls(path, engine, lock, readonly)
            version = store._schema_version()
            if version > S.SCHEMA_VERSION:
                raise ProjectError(
                    f"{path} was written by a newer BoxFix (project schema {version}, this BoxFix reads up to "
                    f"{S.SCHEMA_VERSION}); update BoxFix to open it")
            if version < S.SCHEMA_VERSION:
                if readonly:
                    raise ProjectError(f"{path} uses an older schema ({version}) and is read-only here, so it cannot be migrated")
                store._migrate(version)
            if store.get_meta("import_state") == "in_progress":
                raise ProjectError(f"{path} is a half-made import (BoxFix stopped while importing); import the dataset again")
        except Exception:
            if lock:
                lock.release()
            raise
        return store

    @staticmethod
    def _check_header(path: Path) -> None:
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head != b"SQLite format 3\x00":
            raise ProjectError(f"{path} is not a BoxFix project file (not an SQLite database)")

    @staticmethod
    def _engine(path: Path, readonly: bool) -> Engine:
        if readonly:
            uri = f"file:{path.resolve()}?mode=ro"
            wal = Path(f"{path}-wal")
            if not os.access(path.parent, os.W_OK) and not (wal.is_file() and wal.stat().st_size > 0):
                # No -shm can be made in a read-only folder, so SQLite needs immutable=1 there;
                # but immutable ignores the -wal, and a writer that crashed leaves its last
                # commits in it. With a -wal (and its -shm) present, plain mode=ro reads them.
                uri += "&immutable=1"
            creator = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)  # noqa: E731
            engine = create_engine("sqlite://", creator=creator)
        else:
            engine = create_engine(f"sqlite:///{path.resolve()}",
                                   connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        return engine

    def _schema_version(self) -> int:
        try:
            with self.engine.connect() as conn:
                v = conn.execute(select(S.meta.c.value).where(S.meta.c.key == "schema_version")).scalar()
        except OperationalError as exc:
            raise ProjectError(f"{self.path} is not a BoxFix project file ({exc.orig})") from None
        if v is None:
            raise ProjectError(f"{self.path} is not a BoxFix project file (no schema version)")
        return int(v)

    def _migrate(self, version: int) -> None:
        from .migrations import MIGRATIONS

        backup = Path(f"{self.path}.v{version}.bak")
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy2(self.path, backup)
        with self.engine.begin() as conn:
            while version < S.SCHEMA_VERSION:
                MIGRATIONS[version](conn)
                version += 1
            conn.execute(update(S.meta).where(S.meta.c.key == "schema_version").values(value=str(version)))

    def close(self) -> None:
        self.engine.dispose()
        if self._lock:
            self._lock.release()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def _write(self):
        """One write transaction. SQLite's terse failures become one clear sentence; the
        transaction is rolled back, so everything committed before stays as it was."""
        if self.readonly:
            raise ProjectError(f"{self.path} is open read-only; changes cannot be saved")
        try:
            with self.engine.begin() as conn:
                yield conn
        except (OperationalError, sqlite3.OperationalError) as exc:
            raise self._write_error(exc) from None

    def _write_error(self, exc: Exception) -> Exception:
        text = str(getattr(exc, "orig", exc))
        if "disk is full" in text:
            return ProjectError(f"{self.path}: the disk is full, so this change was not saved (everything saved "
                                "before is kept); free some space and try again")
        if "readonly database" in text:
            return ProjectError(f"{self.path} cannot be written (read-only file or folder); changes cannot be saved")
        return exc

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            v = conn.execute(select(S.meta.c.value).where(S.meta.c.key == key)).scalar()
        return default if v is None else v

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            self._set_meta(conn, key, value)

    @staticmethod
    def _set_meta(conn, key: str, value: str) -> None:
        if conn.execute(update(S.meta).where(S.meta.c.key == key).values(value=value)).rowcount == 0:
            conn.execute(insert(S.meta).values(key=key, value=value))

    @property
    def name(self) -> str:
        return self.get_meta("name") or self.path.stem

    @property
    def dataset_root(self) -> Path:
        return Path(self.get_meta("dataset_root") or ".")

    def relocate(self, new_root: str | os.PathLike) -> int:
        """Point the project at a moved dataset. Returns how many images are missing there."""
        new_root = Path(new_root).resolve()
        if not new_root.is_dir():
            raise ProjectError(f"{new_root}: no such folder")
        self.set_meta("dataset_root", str(new_root))
        return sum(1 for im in self.images() if not (new_root / im.path).exists())

    def image_path(self, image: ImageInfo) -> Path:
        return self.dataset_root / image.path

    # ------------------------------------------------------------------ import
    def import_dataset(self, read: DatasetRead, batch_size: int = 5000, progress=None) -> ImportSummary:
        """Write a reader's classes and images in batched transactions. The project is marked
        'in_progress' until the last batch commits, so a killed import is refused on open
        rather than silently shortened."""
        # Readers may add problems while they yield records: read.problems is read at the end.
        problems: list[Problem] = []
        n_images = n_labels = 0
        with self._write() as conn:
            empty = not conn.execute(select(func.count()).select_from(S.images)).scalar()
            self._set_meta(conn, "import_state", "in_progress")
            self._set_meta(conn, "source_format", read.format)
            conn.execute(delete(S.classes))
            if read.classes:
                conn.execute(insert(S.classes), [
                    {"idx": c.idx, "name": c.name, "color": c.color or default_color(c.idx), "source_id": c.source_id}
                    for c in read.classes])
            next_image = (conn.execute(select(func.max(S.images.c.id))).scalar() or 0) + 1
            next_label = (conn.execute(select(func.max(S.original_labels.c.id))).scalar() or 0) + 1
            seen_paths = set(conn.execute(select(S.images.c.path)).scalars())
        known_classes = {c.idx for c in read.classes}
        batch: list[ImageRecord] = []

        raw = self.engine.raw_connection()  # executemany on the DBAPI cursor: the bulk path
        # The import is flagged in_progress until its end, so per-commit fsyncs buy nothing
        # here: NORMAL for the bulk, FULL again before the connection goes back to the pool.
        raw.execute("PRAGMA synchronous=NORMAL")
        if empty:
            # Into an empty project, build the image_id indexes once at the end: maintaining
            # them row by row doubles the cost of a million-box import.
            raw.execute("DROP INDEX IF EXISTS ix_labels_image_id")
            raw.execute("DROP INDEX IF EXISTS ix_original_labels_image_id")
            raw.commit()

        def flush():
            nonlocal next_image, next_label, n_images, n_labels
            image_rows, label_rows = [], []
            for rec in batch:
                image_rows.append((next_image, rec.path, int(rec.width), int(rec.height), Split(rec.split).value,
                                   ReviewStatus.UNREVIEWED.value, rec.error, rec.source_id, bool(rec.labelled)))
                for lab in rec.labels:
                    b = lab.box
                    label_rows.append((next_label, next_image, float(b.x0), float(b.y0), float(b.x1), float(b.y1),
                                       int(lab.cls), bool(lab.iscrowd), lab.source_id))
                    next_label += 1
                next_image += 1
            cur = raw.cursor()
            try:
                cur.executemany(
                    "INSERT INTO images (id, path, width, height, split, status, error, source_id, labelled) "
                    "VALUES (?,?,?,?,?,?,?,?,?)", image_rows)
                if label_rows:
                    cur.executemany(
                        "INSERT INTO original_labels (id, image_id, x0, y0, x1, y1, cls, iscrowd, source_id) "
                        "VALUES (?,?,?,?,?,?,?,?,?)", label_rows)
                    # The current labels start as a copy of the originals: one SQL statement,
                    # no second pass of Python tuples.
                    cur.execute(
                        "INSERT INTO labels (id, image_id, x0, y0, x1, y1, cls, iscrowd, source_id, origin, original_id) "
                        "SELECT id, image_id, x0, y0, x1, y1, cls, iscrowd, source_id, 'imported', id "
                        "FROM original_labels WHERE id >= ? AND id <= ?", (label_rows[0][0], label_rows[-1][0]))
                raw.commit()
            except Exception:
                raw.rollback()
                raise
            finally:
                cur.close()
            n_images += len(image_rows)
            n_labels += len(label_rows)
            if progress:
                progress(len(image_rows))
            batch.clear()

        def for_each_record():
            for rec in read.images:
                if rec.path in seen_paths:
                    problems.append(Problem(rec.path, "image listed twice", "kept the first"))
                    continue
                seen_paths.add(rec.path)
                unknown = {lab.cls for lab in rec.labels} - known_classes
                for cls_idx in sorted(unknown):
                    # Never drop a box for its class: keep it under an explicit placeholder class.
                    with self._write() as conn:
                        conn.execute(insert(S.classes).values(idx=cls_idx, name=f"unknown class {cls_idx}",
                                                              color=default_color(cls_idx), source_id=None))
                    known_classes.add(cls_idx)
                batch.append(rec)
                if len(batch) >= batch_size:
                    flush()
        try:
            for_each_record()
            if batch:
                flush()
        finally:
            if empty:
                raw.execute("CREATE INDEX IF NOT EXISTS ix_labels_image_id ON labels (image_id)")
                raw.execute("CREATE INDEX IF NOT EXISTS ix_original_labels_image_id ON original_labels (image_id)")
                raw.commit()
            raw.execute("PRAGMA synchronous=FULL")
            raw.close()
        problems = list(read.problems) + problems
        with self._write() as conn:
            self._set_meta(conn, "import_state", "complete")
            self._set_meta(conn, "import_problems", json.dumps([p.__dict__ for p in problems]))
        return ImportSummary(n_images, n_labels, len(known_classes), problems)

    def import_problems(self) -> list[Problem]:
        raw = self.get_meta("import_problems")
        return [Problem(**p) for p in json.loads(raw)] if raw else []

    # ------------------------------------------------------------------ classes
    def classes(self) -> list[ClassInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.classes).order_by(S.classes.c.idx)).all()
        return [ClassInfo(r.idx, r.name, r.color, r.source_id) for r in rows]

    def class_row(self, idx: int) -> dict:
        with self.engine.connect() as conn:
            r = conn.execute(select(S.classes).where(S.classes.c.idx == idx)).one()
        return dict(r._mapping)

    def next_class_idx(self) -> int:
        with self.engine.connect() as conn:
            return (conn.execute(select(func.max(S.classes.c.idx))).scalar() or -1) + 1

    # ------------------------------------------------------------------ images
    def image_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(S.images)).scalar()

    def images(self, split: str | None = None) -> list[ImageInfo]:
        q = select(S.images).order_by(S.images.c.id)
        if split:
            q = q.where(S.images.c.split == split)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [self._image(r) for r in rows]

    @staticmethod
    def _image(r) -> ImageInfo:
        return ImageInfo(r.id, r.path, r.width, r.height, Split(r.split), ReviewStatus(r.status), r.error, r.source_id)

    def image(self, image_id: int) -> ImageInfo:
        with self.engine.connect() as conn:
            r = conn.execute(select(S.images).where(S.images.c.id == image_id)).one_or_none()
        if r is None:
            raise ProjectError(f"no image with id {image_id}")
        return self._image(r)

    def image_by_path(self, path: str) -> ImageInfo | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(S.images).where(S.images.c.path == path)).one_or_none()
        return self._image(r) if r else None

    def image_labelled_flags(self) -> dict[int, bool]:
        with self.engine.connect() as conn:
            return {r.id: bool(r.labelled) for r in conn.execute(select(S.images.c.id, S.images.c.labelled))}

    def set_image_error(self, image_id: int, error: str | None) -> None:
        with self._write() as conn:
            conn.execute(update(S.images).where(S.images.c.id == image_id).values(error=error))

    def status_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.images.c.status, func.count()).group_by(S.images.c.status)).all()
        return {r[0]: r[1] for r in rows}

    def split_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.images.c.split, func.count()).group_by(S.images.c.split)).all()
        return {r[0]: r[1] for r in rows}

    def image_sizes(self, image_ids: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        q = select(S.images.c.id, S.images.c.width, S.images.c.height).order_by(S.images.c.id)
        if image_ids is not None:
            q = q.where(S.images.c.id.in_(list(image_ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return {"id": arr[:, 0], "width": arr[:, 1], "height": arr[:, 2]}

    # ------------------------------------------------------------------ labels
    def labels(self, image_id: int) -> list[Label]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.labels).where(S.labels.c.image_id == image_id).order_by(S.labels.c.id)).all()
        return [_label_from_row(r) for r in rows]

    def label(self, label_id: int) -> Label | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(S.labels).where(S.labels.c.id == label_id)).one_or_none()
        return _label_from_row(r) if r else None

    def label_rows(self, label_ids: Iterable[int]) -> list[dict]:
        """Full row states (as edits.Edit wants them) for the given labels."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.labels).where(S.labels.c.id.in_(list(label_ids))).order_by(S.labels.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def label_rows_of_class(self, cls: int) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.labels).where(S.labels.c.cls == cls).order_by(S.labels.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def original_labels(self, image_id: int) -> list[Label]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.original_labels).where(S.original_labels.c.image_id == image_id)
                                .order_by(S.original_labels.c.id)).all()
        return [_label_from_row(r) for r in rows]

    def next_label_id(self) -> int:
        # Label ids are never reused, even after a delete, so history and undo stay unambiguous.
        with self.engine.connect() as conn:
            a = conn.execute(select(func.max(S.labels.c.id))).scalar() or 0
            b = conn.execute(select(func.max(S.original_labels.c.id))).scalar() or 0
            c = int(self.get_meta("max_label_id") or 0)
        return max(a, b, c) + 1

    def label_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(S.labels)).scalar()

    def class_counts(self, original: bool = False) -> dict[int, int]:
        t = S.original_labels if original else S.labels
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.cls, func.count()).group_by(t.c.cls)).all()
        return {r[0]: r[1] for r in rows}

    def label_arrays(self, image_ids: Sequence[int] | None = None, original: bool = False) -> dict[str, np.ndarray]:
        """All (or some images') labels as numpy columns: id, image_id, cls, boxes (N,4), iscrowd,
        sorted by (image_id, id). Read with the raw DBAPI cursor and sorted in numpy: at a
        million rows an ORDER BY through the image_id index costs a random seek per row."""
        t = "original_labels" if original else "labels"
        sql = f"SELECT id, image_id, cls, iscrowd, x0, y0, x1, y1 FROM {t}"
        if image_ids is not None:
            sql += f" WHERE image_id IN ({','.join(map(str, map(int, image_ids))) or 'NULL'})"
        arr = self._fetch_array(sql, (), 8)
        order = np.lexsort((arr[:, 0], arr[:, 1]))
        arr = arr[order]
        return {"id": arr[:, 0].astype(np.int64), "image_id": arr[:, 1].astype(np.int64),
                "cls": arr[:, 2].astype(np.int64), "iscrowd": arr[:, 3].astype(bool), "boxes": arr[:, 4:8].copy()}

    def _fetch_array(self, sql: str, params: tuple, ncols: int) -> np.ndarray:
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql, params)
            chunks = []
            while True:
                rows = cur.fetchmany(200_000)
                if not rows:
                    break
                chunks.append(np.array(rows, dtype=np.float64).reshape(-1, ncols))
            cur.close()
        finally:
            raw.close()
        return np.concatenate(chunks) if chunks else np.zeros((0, ncols))

    # ------------------------------------------------------------------ edits and history
    def apply_edit(self, edit: Edit) -> int:
        """Apply one edit and record it in history, in one transaction. Returns the history id."""
        with self._write() as conn:
            for before, after in edit.labels:
                if after is None:
                    conn.execute(delete(S.labels).where(S.labels.c.id == before["id"]))
                elif before is None:
                    conn.execute(insert(S.labels).values(**after))
                else:
                    conn.execute(update(S.labels).where(S.labels.c.id == before["id"]).values(**after))
            for before, after in edit.classes:
                if after is None:
                    conn.execute(delete(S.classes).where(S.classes.c.idx == before["idx"]))
                elif before is None:
                    conn.execute(insert(S.classes).values(**after))
                else:
                    conn.execute(update(S.classes).where(S.classes.c.idx == before["idx"]).values(**after))
            for image_id, _before, after in edit.statuses:
                conn.execute(update(S.images).where(S.images.c.id == image_id).values(status=after))
            for issue_id, _before, after in edit.issues:
                conn.execute(update(S.issues).where(S.issues.c.id == issue_id).values(status=after))
            max_id = max([(b or a)["id"] for b, a in edit.labels] or [0])
            if max_id:
                cur = int(conn.execute(select(S.meta.c.value).where(S.meta.c.key == "max_label_id")).scalar() or 0)
                if max_id > cur:
                    self._set_meta(conn, "max_label_id", str(max_id))
            res = conn.execute(insert(S.history).values(
                time=time.time(), kind=edit.kind, image_id=edit.image_id,
                before=json.dumps({"labels": [b for b, _ in edit.labels], "classes": [b for b, _ in edit.classes],
                                   "statuses": [[i, b] for i, b, _ in edit.statuses],
                                   "issues": [[i, b] for i, b, _ in edit.issues]}),
                after=json.dumps({"labels": [a for _, a in edit.labels], "classes": [a for _, a in edit.classes],
                                  "statuses": [[i, a] for i, _, a in edit.statuses],
                                  "issues": [[i, a] for i, _, a in edit.issues]}),
            ))
            return res.inserted_primary_key[0]

    def history(self, image_id: int | None = None, label_id: int | None = None, limit: int | None = None) -> list[dict]:
        q = select(S.history).order_by(S.history.c.id)
        if image_id is not None:
            q = q.where(S.history.c.image_id == image_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q).all()]
        for r in rows:
            r["before"] = json.loads(r["before"])
            r["after"] = json.loads(r["after"])
        if label_id is not None:
            rows = [r for r in rows
                    if any(x and x.get("id") == label_id for x in r["before"].get("labels", []) + r["after"].get("labels", []))]
        return rows[-limit:] if limit else rows

    # ------------------------------------------------------------------ runs and predictions
    def create_run(self, name: str, kind: str = "model", model_path: str = "", model_hash: str = "",
                   params: dict | None = None, model_classes: Sequence[str] = (), class_map: dict | None = None,
                   source: str = "", activate: bool = True) -> int:
        with self._write() as conn:
            res = conn.execute(insert(S.runs).values(
                name=name, kind=kind, model_path=str(model_path), model_hash=model_hash,
                params=json.dumps(params or {}, sort_keys=True), model_classes=json.dumps(list(model_classes)),
                class_map=json.dumps({str(k): v for k, v in (class_map or {}).items()}, sort_keys=True),
                created=time.time(), source=source))
            run_id = res.inserted_primary_key[0]
            if activate:
                self._set_meta(conn, "active_run", str(run_id))
        return run_id

    def find_run(self, model_hash: str, params: dict) -> int | None:
        """The run made by this exact model file and parameters, if any (the prediction cache)."""
        with self.engine.connect() as conn:
            return conn.execute(select(S.runs.c.id).where(S.runs.c.model_hash == model_hash,
                                                         S.runs.c.params == json.dumps(params, sort_keys=True))
                                .order_by(S.runs.c.id.desc())).scalar()

    def runs(self) -> list[RunInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.runs).order_by(S.runs.c.id)).all()
            done = dict(conn.execute(select(S.run_images.c.run_id, func.count()).group_by(S.run_images.c.run_id)).all())
            preds = dict(conn.execute(select(S.predictions.c.run_id, func.count()).group_by(S.predictions.c.run_id)).all())
            project = tuple(conn.execute(select(S.classes.c.idx)).scalars())
        return [self._run(r, done.get(r.id, 0), preds.get(r.id, 0), project) for r in rows]

    @staticmethod
    def _run(r, done: int, preds: int, project: tuple) -> RunInfo:
        return RunInfo(r.id, r.name, r.kind, r.model_path, r.model_hash, json.loads(r.params),
                       json.loads(r.model_classes), {int(k): v for k, v in json.loads(r.class_map).items()},
                       r.created, r.finished, r.source, done, preds, project)

    def run_info(self, run_id: int) -> RunInfo:
        for r in self.runs():
            if r.id == run_id:
                return r
        raise ProjectError(f"no prediction run {run_id} in {self.path}")

    def active_run(self) -> int | None:
        v = self.get_meta("active_run")
        return int(v) if v else None

    def set_active_run(self, run_id: int) -> None:
        self.run_info(run_id)
        self.set_meta("active_run", str(run_id))

    def finish_run(self, run_id: int) -> None:
        with self._write() as conn:
            conn.execute(update(S.runs).where(S.runs.c.id == run_id).values(finished=time.time()))

    def done_image_ids(self, run_id: int) -> set[int]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(S.run_images.c.image_id).where(S.run_images.c.run_id == run_id)).scalars())

    def add_predictions(self, run_id: int, results: Iterable[tuple]) -> int:
        """Store per-image results in one transaction. Each result is
        (image_id, boxes (N,4), cls (N,) project idx or -1/None, conf (N,), model_cls (N,), error|None).
        An image already done for this run is replaced, never doubled."""
        pred_rows, done_rows, image_ids = [], [], []
        for image_id, boxes, cls, conf, model_cls, error in results:
            image_ids.append(int(image_id))
            done_rows.append((run_id, int(image_id), error))
            boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            n = len(boxes)
            if not n:
                continue
            # Column-wise conversion (numpy .tolist()), not per-box Python: a million
            # predictions is a hot path for imported runs.
            cls_arr = np.array([-1 if c is None else int(c) for c in cls], dtype=np.int64) if not isinstance(
                cls, np.ndarray) else np.asarray(cls, dtype=np.int64)
            cls_list = [None if c < 0 else c for c in cls_arr.tolist()]
            conf_list = np.asarray(conf, dtype=np.float64).tolist()
            mcls_list = np.asarray(model_cls, dtype=np.int64).tolist()
            b = boxes.tolist()
            img = int(image_id)
            pred_rows.extend((run_id, img, *b[i], cls_list[i], conf_list[i], mcls_list[i]) for i in range(n))
        with self._write() as conn:
            ids = ",".join(map(str, image_ids))
            if ids:
                conn.exec_driver_sql(f"DELETE FROM predictions WHERE run_id = {int(run_id)} AND image_id IN ({ids})")
                conn.exec_driver_sql(f"DELETE FROM run_images WHERE run_id = {int(run_id)} AND image_id IN ({ids})")
            if pred_rows:
                conn.exec_driver_sql("INSERT INTO predictions (run_id, image_id, x0, y0, x1, y1, cls, conf, model_cls) "
                                     "VALUES (?,?,?,?,?,?,?,?,?)", pred_rows)
            conn.exec_driver_sql("INSERT INTO run_images (run_id, image_id, error) VALUES (?,?,?)", done_rows)
        return len(pred_rows)

    def update_run_classes(self, run_id: int, model_classes: Sequence[str], class_map: dict) -> None:
        """Set a run's model classes and class map after the fact (an imported predictions
        file only knows its classes once it has been read)."""
        with self._write() as conn:
            conn.execute(update(S.runs).where(S.runs.c.id == run_id).values(
                model_classes=json.dumps(list(model_classes)),
                class_map=json.dumps({str(k): v for k, v in class_map.items()}, sort_keys=True)))

    def predictions(self, run_id: int, image_id: int, min_conf: float = 0.0) -> list[Prediction]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.predictions).where(S.predictions.c.run_id == run_id,
                                                           S.predictions.c.image_id == image_id,
                                                           S.predictions.c.conf >= min_conf)
                                .order_by(S.predictions.c.conf.desc())).all()
        return [Prediction(r.id, r.run_id, r.image_id, Box(r.x0, r.y0, r.x1, r.y1), r.cls, r.conf, r.model_cls)
                for r in rows]

    def prediction(self, pred_id: int) -> Prediction | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(S.predictions).where(S.predictions.c.id == pred_id)).one_or_none()
        return Prediction(r.id, r.run_id, r.image_id, Box(r.x0, r.y0, r.x1, r.y1), r.cls, r.conf, r.model_cls) if r else None

    def prediction_arrays(self, run_id: int, image_ids: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """A run's predictions as numpy columns (id, image_id, cls (-1 = unknown to the project),
        conf, boxes), sorted by (image_id, id)."""
        sql = "SELECT id, image_id, COALESCE(cls, -1), conf, x0, y0, x1, y1 FROM predictions WHERE run_id = ?"
        if image_ids is not None:
            sql += f" AND image_id IN ({','.join(map(str, map(int, image_ids))) or 'NULL'})"
        arr = self._fetch_array(sql, (int(run_id),), 8)
        arr = arr[np.lexsort((arr[:, 0], arr[:, 1]))]
        return {"id": arr[:, 0].astype(np.int64), "image_id": arr[:, 1].astype(np.int64),
                "cls": arr[:, 2].astype(np.int64), "conf": arr[:, 3].copy(), "boxes": arr[:, 4:8].copy()}

    def run_errors(self, run_id: int) -> dict[int, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.run_images.c.image_id, S.run_images.c.error)
                                .where(S.run_images.c.run_id == run_id, S.run_images.c.error.is_not(None))).all()
        return {r[0]: r[1] for r in rows}

    # ------------------------------------------------------------------ issues
    _ISSUE_FIELDS = ("image_id", "run_id", "kind", "score", "label_id", "label2_id", "pred_id", "cls",
                     "suggested_cls", "confidence", "iou", "key")

    def replace_issues(self, image_ids: Sequence[int] | None, run_id: int | None, issues: Iterable[dict]) -> int:
        """Replace the OPEN issues of `image_ids` (all images when None) with `issues`.
        Fixed and dismissed issues stay. A new issue whose key matches a dismissed one is
        stored as dismissed: a human's "this label is right" survives re-scoring."""
        rows = []
        with self._write() as conn:
            if image_ids is None:
                conn.execute(delete(S.issues).where(S.issues.c.status == IssueStatus.OPEN.value))
                dismissed = set(conn.execute(select(S.issues.c.key).where(
                    S.issues.c.status == IssueStatus.DISMISSED.value)).scalars())
            else:
                ids = list(map(int, image_ids))
                conn.execute(delete(S.issues).where(S.issues.c.status == IssueStatus.OPEN.value,
                                                    S.issues.c.image_id.in_(ids)))
                dismissed = set(conn.execute(select(S.issues.c.key).where(
                    S.issues.c.status == IssueStatus.DISMISSED.value, S.issues.c.image_id.in_(ids))).scalars())
            for it in issues:
                key = it.get("key", "")
                if key and key in dismissed:
                    continue  # already stored as dismissed; do not bring it back
                sb = it.get("suggested_box")
                sb = None if sb is None or any(v != v for v in sb) else [float(v) for v in sb]
                rows.append((int(it["image_id"]), run_id if it.get("run_id") is None else int(it["run_id"]),
                             IssueKind(it["kind"]).value, float(it["score"]), IssueStatus.OPEN.value,
                             _opt_int(it.get("label_id")), _opt_int(it.get("label2_id")), _opt_int(it.get("pred_id")),
                             _opt_int(it.get("cls")), _opt_int(it.get("suggested_cls")),
                             *(sb or (None,) * 4), _opt_float(it.get("confidence")), _opt_float(it.get("iou")), key))
            if rows:
                conn.exec_driver_sql(
                    "INSERT INTO issues (image_id, run_id, kind, score, status, label_id, label2_id, pred_id, cls, "
                    "suggested_cls, sx0, sy0, sx1, sy1, confidence, iou, key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows)
        return len(rows)

    def issues(self, status: str | None = "open", kinds: Sequence[str] | None = None, image_id: int | None = None,
               cls: int | None = None, split: str | None = None, min_score: float = 0.0, max_score: float = 1.0,
               limit: int | None = None) -> list[Issue]:
        """Issues ordered by score (desc), then id: a stable order, so 'next issue' is well defined."""
        t = S.issues
        q = select(t)
        if status:
            q = q.where(t.c.status == status)
        if kinds:
            q = q.where(t.c.kind.in_(list(kinds)))
        if image_id is not None:
            q = q.where(t.c.image_id == image_id)
        if cls is not None:
            q = q.where((t.c.cls == cls) | (t.c.suggested_cls == cls))
        if split:
            q = q.where(t.c.image_id.in_(select(S.images.c.id).where(S.images.c.split == split)))
        q = q.where(t.c.score >= min_score, t.c.score <= max_score).order_by(t.c.score.desc(), t.c.id)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [_issue(r) for r in rows]

    def issue(self, issue_id: int) -> Issue | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(S.issues).where(S.issues.c.id == issue_id)).one_or_none()
        return _issue(r) if r else None

    def issue_counts(self, status: str = "open") -> dict[int, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(S.issues.c.image_id, func.count()).where(S.issues.c.status == status)
                                .group_by(S.issues.c.image_id)).all()
        return {r[0]: r[1] for r in rows}

    def issue_summary(self, status: str = "open") -> dict:
        with self.engine.connect() as conn:
            by_kind = dict(conn.execute(select(S.issues.c.kind, func.count()).where(S.issues.c.status == status)
                                        .group_by(S.issues.c.kind)).all())
            by_class = dict(conn.execute(select(func.coalesce(S.issues.c.cls, S.issues.c.suggested_cls), func.count())
                                         .where(S.issues.c.status == status).group_by(
                                             func.coalesce(S.issues.c.cls, S.issues.c.suggested_cls))).all())
            n_images = conn.execute(select(func.count(func.distinct(S.issues.c.image_id)))
                                    .where(S.issues.c.status == status)).scalar()
        total = self.image_count()
        return {"by_kind": by_kind, "by_class": by_class, "images_with_issues": n_images,
                "images": total, "share": (n_images / total) if total else 0.0}


def _opt_int(v):
    if v is None:
        return None
    try:
        if v != v:  # NaN
            return None
        v = int(v)
    except (TypeError, ValueError):
        return None
    return None if v < 0 else v


def _opt_float(v):
    if v is None:
        return None
    v = float(v)
    return None if v != v else v


def _issue(r) -> Issue:
    sb = Box(r.sx0, r.sy0, r.sx1, r.sy1) if r.sx0 is not None else None
    return Issue(id=r.id, image_id=r.image_id, kind=IssueKind(r.kind), score=r.score, status=IssueStatus(r.status),
                 run_id=r.run_id, label_id=r.label_id, label2_id=r.label2_id, pred_id=r.pred_id, cls=r.cls,
                 suggested_cls=r.suggested_cls, suggested_box=sb, confidence=r.confidence, iou=r.iou, key=r.key)
