"""Two BoxFix processes on one project, a project on a read-only folder, a full disk.

The read-only and disk-full cases need `mount` (a read-only bind mount, a 2 MB tmpfs): they
run as root on Linux and skip, saying why, anywhere else.
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from desktop.core import edits
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord
from desktop.core.store import ProjectError, ProjectLockedError, Store

REPO = Path(__file__).resolve().parents[2]


def _project(folder: Path, n_images: int = 3) -> Path:
    store = Store.create(folder / "p.boxfix", folder)
    recs = [ImageRecord(f"im{i}.jpg", 2000, 100, labels=(LabelRecord(Box(0, 0, 10, 10), 0),)) for i in range(n_images)]
    store.import_dataset(DatasetRead(str(folder), "yolo", [ClassInfo(0, "a")], iter(recs)))
    store.close()
    return folder / "p.boxfix"


def _nudge(store: Store, label_id: int = 1) -> int:
    row = store.label_rows([label_id])[0]
    store.apply_edit(edits.set_geometry(row, Box(row["x0"] + 1, row["y0"], row["x1"] + 1, row["y1"])))
    return int(row["x0"]) + 1


WRITER = textwrap.dedent(
    """
    import sys
    from desktop.core import edits
    from desktop.core.model import Box
    from desktop.core.store import Store

    store = Store.open(sys.argv[1])
    print("open", flush=True)
    n = int(sys.argv[2])
    for i in range(n):
        row = store.label_rows([1])[0]
        store.apply_edit(edits.set_geometry(row, Box(row["x0"] + 1, row["y0"], row["x1"] + 1, row["y1"])))
        print(i, flush=True)
    print("done", flush=True)
    sys.stdin.readline()  # hold the project open until told to exit
    """
)


def _start_writer(path: Path, n_edits: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(n_edits)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=str(REPO),
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout.readline().strip() == "open"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=60)
    except (BrokenPipeError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
    proc.stdout.close()
    proc.stdin.close()


def test_second_writer_is_refused_naming_the_pid_and_may_open_read_only(tmp_path):
    path = _project(tmp_path)
    proc = _start_writer(path, 0)
    try:
        assert proc.stdout.readline().strip() == "done"
        with pytest.raises(ProjectLockedError) as info:
            Store.open(path)
        assert info.value.pid == proc.pid
        assert f"open in another BoxFix (pid {proc.pid})" in str(info.value)
        # Creating over it (import --overwrite) is refused the same way: no file is removed.
        with pytest.raises(ProjectLockedError):
            Store.create(path, tmp_path, overwrite=True)
        assert path.is_file()
        # Read-only is the documented way in, and it says so on the first write.
        with Store.open(path, readonly=True) as ro:
            assert ro.readonly
            assert ro.labels(1)
            with pytest.raises(ProjectError, match="read-only"):
                _nudge(ro)
    finally:
        _stop(proc)
    # Once the first one exits, the project opens for writing again.
    with Store.open(path) as store:
        assert not store.readonly


def test_cli_refuses_a_project_open_elsewhere(tmp_path, capsys):
    """A `boxfix` command while a window holds the project: one sentence, exit 1, no traceback."""
    from desktop.cli import main

    path = _project(tmp_path)
    proc = _start_writer(path, 0)
    try:
        assert proc.stdout.readline().strip() == "done"
        rc = main(["issues", str(path), "--rescore"]) if _has_flag("issues", "--rescore") else None
        if rc is None:
            pytest.skip("no boxfix command here writes to a project with a known flag")
        err = capsys.readouterr().err
        assert rc == 1
        assert "Traceback" not in err
        assert f"pid {proc.pid}" in err
    finally:
        _stop(proc)


def _has_flag(command: str, flag: str) -> bool:
    from desktop.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices.get(command)
    return sub is not None and any(flag in a.option_strings for a in sub._actions)


def test_reader_sees_consistent_states_while_the_writer_writes(tmp_path):
    """A read-only BoxFix (or a report) reading while the window writes: every state it sees
    is a committed one (label and history agree), it never errors, and the file stays sound."""
    path = _project(tmp_path)
    proc = _start_writer(path, 400)
    seen = []
    try:
        with Store.open(path, readonly=True) as ro:
            while True:
                x0 = ro.labels(1)[0].box.x0
                n_hist = len([h for h in ro.history() if h["kind"] == "set-geometry"])
                # The label is read first, history second: history can only be ahead.
                assert n_hist >= x0
                seen.append(x0)
                if x0 >= 400:
                    break
                if proc.poll() is not None:
                    break
        assert proc.stdout.readline()  # the writer is alive and still writing or done
    finally:
        _stop(proc)
    assert seen == sorted(seen), "a reader went back in time"
    assert len(set(seen)) > 3, "the reader did not overlap the writer"
    with Store.open(path) as store:
        assert store.labels(1)[0].box.x0 == 400
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


# ----------------------------------------------------------------------------- mounts
def _can_mount() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0 or not shutil.which("mount"):
        return "needs root on Linux with `mount` (read-only bind mounts, tmpfs)"
    probe = Path(f"/tmp/boxfix-mount-probe-{uuid.uuid4().hex[:8]}")
    probe.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
        if r.returncode != 0:
            return f"mount is not permitted here ({r.stderr.decode(errors='replace').strip()})"
        subprocess.run(["umount", str(probe)], check=True)
    finally:
        probe.rmdir()
    return None


_NO_MOUNT = _can_mount()
needs_mount = pytest.mark.skipif(_NO_MOUNT is not None, reason=_NO_MOUNT or "")


@pytest.fixture
def ro_view(tmp_path):
    """(writable folder, the same folder bind-mounted read-only)."""
    src, view = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    view.mkdir()
    mounted = False

    def mount():
        nonlocal mounted
        subprocess.run(["mount", "--bind", str(src), str(view)], check=True)
        mounted = True
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)

    yield src, view, mount
    if mounted:
        subprocess.run(["umount", str(view)], check=True)


@needs_mount
def test_read_only_folder_opens_read_only_and_says_so(ro_view):
    src, view, mount = ro_view
    path = _project(src)
    with Store.open(path) as store:
        _nudge(store)
    mount()
    ro_path = view / "p.boxfix"
    with Store.open(ro_path) as store:
        assert store.readonly
        assert store.labels(1)[0].box.x0 == 1
        with pytest.raises(ProjectError, match="read-only"):
            _nudge(store)


@needs_mount
def test_read_only_folder_after_a_crash_still_shows_the_last_edits(ro_view):
    """A writer killed with SIGKILL leaves its last commits in the -wal file. Opened from a
    read-only folder, those edits must still be shown (not the older main file)."""
    src, view, mount = ro_view
    path = _project(src)
    proc = _start_writer(path, 5)
    for _ in range(6):
        proc.stdout.readline()  # 0..4, done
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stdin.close()
    assert Path(str(path) + "-wal").exists()
    mount()
    with Store.open(view / "p.boxfix") as store:
        assert store.readonly
        assert store.labels(1)[0].box.x0 == 5


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
        except OSError:
            pass
    return filler


@needs_mount
def test_disk_full_gives_a_clear_error_and_keeps_what_was_saved(small_disk):
    path = _project(small_disk, n_images=50)
    store = Store.open(path)
    try:
        saved = 0
        for _ in range(20):
            saved = _nudge(store)
        filler = _fill(small_disk)
        with pytest.raises(ProjectError, match="disk is full") as info:
            for _ in range(100_000):  # big edits (many labels at once) until the disk says no
                rows = store.label_rows(range(1, 51))
                store.apply_edit(edits.Edit("bulk", None, labels=tuple(
                    (r, dict(r, x1=r["x1"] + 1, origin="edited")) for r in rows)))
                saved_bulk = store.label_rows([2])[0]["x1"]
        assert str(path) in str(info.value) or "p.boxfix" in str(info.value)
        filler.unlink()
        # After space is freed the same store goes on working.
        saved = _nudge(store)
        saved_bulk = store.label_rows([2])[0]["x1"]
    finally:
        store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    with Store.open(path) as store:
        assert store.labels(1)[0].box.x0 == saved == 21
        assert store.label_rows([2])[0]["x1"] == saved_bulk
