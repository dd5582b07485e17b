"""SIGKILL while the detector writes predictions, during an import, and during an export.

Each test runs the work in a child process that reports progress on stdout only after the
work it reports has returned, kills it with SIGKILL at a chosen point, and then checks the
file on disk the way the next BoxFix start would see it.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord
from desktop.core.store import ProjectError, Store

N_IMAGES = 3000


def _n_preds(image_id: int) -> int:
    """How many predictions the scripted detector writes for an image (0..4, some empty)."""
    return image_id % 5


def _project(tmp_path: Path, n: int = N_IMAGES, with_files: bool = False) -> Path:
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True, exist_ok=True)
    if with_files:
        from PIL import Image

        Image.new("RGB", (8, 6), (1, 2, 3)).save(root / "images" / "im00000.png")
        data = (root / "images" / "im00000.png").read_bytes()
        for i in range(1, n):
            (root / "images" / f"im{i:05d}.png").write_bytes(data)
    recs = (ImageRecord(f"images/im{i:05d}.png", 8, 6, labels=(LabelRecord(Box(1, 1, 4, 4), i % 2),))
            for i in range(n))
    store = Store.create(tmp_path / "p.boxfix", root)
    store.import_dataset(DatasetRead(str(root), "yolo", [ClassInfo(0, "a"), ClassInfo(1, "b")], recs))
    store.close()
    return tmp_path / "p.boxfix"


def _run_until(script: str, args: list[str], stop_after: int, timeout: float = 180) -> tuple[int, list[str]]:
    """Run `script`, read its progress lines until `stop_after` of them, SIGKILL it.
    Returns (number of lines read, the lines)."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=str(Path(__file__).parents[2]))
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < stop_after and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return len(lines), lines


def _integrity_ok(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


# ----------------------------------------------------------------------------- predictions
PREDICTOR = textwrap.dedent(
    """
    import sys
    import numpy as np
    from desktop.core.store import Store

    store = Store.open(sys.argv[1])
    run = store.create_run("scripted", model_hash="h", params={"conf": 0.05}, model_classes=["a", "b"],
                           class_map={0: 0, 1: 1})
    print("run", run, flush=True)
    ids = [im.id for im in store.images()]
    # Images in batches of 4, as the runner writes them: one transaction per batch.
    for k in range(0, len(ids), 4):
        batch = []
        for image_id in ids[k:k + 4]:
            n = image_id % 5
            boxes = np.array([[i, i, i + 3.5, i + 2.5] for i in range(n)], dtype=float).reshape(-1, 4)
            batch.append((image_id, boxes, [i % 2 for i in range(n)], [0.1 + 0.1 * i for i in range(n)],
                          [i % 2 for i in range(n)], None))
        store.add_predictions(run, batch)
        print(ids[min(k + 3, len(ids) - 1)], flush=True)
    """
)


def test_sigkill_while_writing_predictions_keeps_whole_images(tmp_path):
    path = _project(tmp_path)
    n, lines = _run_until(PREDICTOR, [str(path)], stop_after=120)
    assert n >= 120, "the predictor did not get going"
    run_id = int(lines[0].split()[1])
    acknowledged = [int(x) for x in lines[1:]]
    _integrity_ok(path)
    store = Store.open(path)  # no stale lock, no refusal: a partial run is a resume point
    try:
        done = store.done_image_ids(run_id)
        # Everything acknowledged is there (maybe one more batch that committed before the kill).
        assert set(range(1, max(acknowledged) + 1)) <= done
        assert len(done) < N_IMAGES, "the run finished before the kill: the test proved nothing"
        arr = store.prediction_arrays(run_id)
        counts = {}
        for image_id in arr["image_id"].tolist():
            counts[image_id] = counts.get(image_id, 0) + 1
        # Each image marked done has all of its predictions, and no image has predictions
        # without being marked done (the two are written in one transaction).
        for image_id in done:
            assert counts.get(image_id, 0) == _n_preds(image_id), image_id
        assert set(counts) <= done
        # Resuming writes only the rest, and replacing an image never doubles its boxes.
        store.add_predictions(run_id, [(1, [[0, 0, 2, 2]], [0], [0.5], [0], None)])
        assert len(store.predictions(run_id, 1)) == 1
    finally:
        store.close()


# ----------------------------------------------------------------------------- import
IMPORTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord
    from desktop.core.store import Store

    n = 400_000
    recs = (ImageRecord(f"images/{i:07d}.jpg", 640, 480, labels=(LabelRecord(Box(1, 2, 30, 40), i % 3),))
            for i in range(n))
    store = Store.create(sys.argv[1], Path(sys.argv[1]).parent)
    done = 0
    def progress(k):
        global done
        done += k
        print(done, flush=True)
    store.import_dataset(DatasetRead(str(Path(sys.argv[1]).parent), "yolo",
                                     [ClassInfo(i, str(i)) for i in range(3)], recs),
                         batch_size=2000, progress=progress)
    print("finished", flush=True)
    """
)


def test_sigkill_during_import_is_refused_not_shortened(tmp_path):
    path = tmp_path / "big.boxfix"
    n, lines = _run_until(IMPORTER, [str(path)], stop_after=5)
    assert n == 5 and "finished" not in lines, "the import did not get going, or finished before the kill"
    _integrity_ok(path)
    with pytest.raises(ProjectError, match="half-made import"):
        Store.open(path)
    with pytest.raises(ProjectError, match="half-made import"):
        Store.open(path, readonly=True)  # read-only must not show a shortened project either
    # The refusal released the lock: the user can import again over it.
    store = Store.create(path, tmp_path, overwrite=True)
    store.close()


def test_import_project_failure_removes_the_file(tmp_path):
    """A reader that fails half-way (here: an exception out of the record stream) leaves no
    project file behind, so there is nothing half-made to open."""
    from desktop.core import formats

    def records():
        yield ImageRecord("a.jpg", 10, 10)
        raise OSError("disk went away")

    original = formats.read_dataset
    formats.read_dataset = lambda *a, **k: DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a")], records())
    try:
        with pytest.raises(OSError):
            formats.import_project(tmp_path, tmp_path / "q.boxfix")
    finally:
        formats.read_dataset = original
    assert not (tmp_path / "q.boxfix").exists()


# ----------------------------------------------------------------------------- export
EXPORTER = textwrap.dedent(
    """
    import sys, time
    from desktop.core.formats.export import ExportOptions, export_project
    from desktop.core.store import Store

    store = Store.open(sys.argv[1], readonly=True)
    def progress(k):
        print(k, flush=True)
        time.sleep(3600)  # hold here, half-way through the export, until killed
    export_project(store, sys.argv[2], sys.argv[3], ExportOptions(images=sys.argv[4]), progress=progress)
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_sigkill_mid_export_leaves_no_finished_looking_folder(tmp_path, fmt):
    from desktop.core.formats.export import MARKER, ExportOptions, export_project

    path = _project(tmp_path, n=1100, with_files=True)
    out = tmp_path / "out"
    n, lines = _run_until(EXPORTER, [str(path), fmt, str(out), "list"], stop_after=1)
    # The progress callback holds the exporter inside its write loop, before the rename.
    assert n == 1 and int(lines[0]) > 0, "the export did not reach its first progress point"
    assert not out.exists(), "a half-written export took the chosen name"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.boxfix-tmp-")]
    assert leftovers, "expected the staging folder to be where the kill left it"

    # An earlier, finished export survives a killed re-export unchanged.
    with Store.open(path, readonly=True) as store:
        export_project(store, fmt, out, ExportOptions(images="list"))
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.is_symlink()}
    assert (out / MARKER).is_file()
    n, _ = _run_until(EXPORTER, [str(path), fmt, str(out), "list"], stop_after=1)
    assert n == 1
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before
