"""A long day in the review window: thousands of scripted review actions (navigate, select,
nudge, resize, accept, dismiss, mark reviewed, undo, redo) on a real project file, through the
real MainWindow's session.

The model of the expected state: undoing every step must give back exactly the project as
opened, and redoing every step exactly the state before the undos, as committed in the file
(read through a separate read-only Store). Along the way: no Qt warning about deleted C++
objects, and RSS growth is printed (run with -s to see it).
"""
from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore

from tests.ui.conftest import make_project

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _snapshot(path) -> dict:
    """What is committed in the file (not what the window holds)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "labels": con.execute("SELECT id, image_id, x0, y0, x1, y1, cls, iscrowd, origin FROM labels "
                                  "ORDER BY id").fetchall(),
            "status": con.execute("SELECT id, status FROM images ORDER BY id").fetchall(),
            "issues": con.execute("SELECT key, status FROM issues ORDER BY key").fetchall(),
        }
    finally:
        con.close()


def _soak(qtbot, tmp_path, n_actions: int, seed: int = 7) -> None:
    from desktop.app import build_services, build_window

    proj = make_project(tmp_path)
    services = build_services()
    services.rescore = None  # keep the fixture's issues: the model below tracks them by key
    win = build_window(proj.path, settings_path=tmp_path / "settings.ini", services=services)
    win.setProperty("quiet_dialogs", True)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    s = win.session

    warnings: list[str] = []

    def handler(mode, context, message):
        warnings.append(message)

    previous = QtCore.qInstallMessageHandler(handler)
    try:
        start = _snapshot(proj.path)
        rng = random.Random(seed)
        actions = [
            ("next image", 10, lambda: s.step_image(1)),
            ("prev image", 4, lambda: s.step_image(-1)),
            ("next issue", 4, lambda: s.step_issue(1)),
            ("select", 10, lambda: s.cycle_selection(1)),
            ("nudge", 20, lambda: s.move_selected(rng.choice((-1, 1)), rng.choice((-1, 0, 1)))),
            ("resize", 6, lambda: s.resize_selected(rng.choice(("left", "right", "top", "bottom")),
                                                    rng.choice((-1, 1)))),
            ("accept", 3, lambda: s.accept_issue()),
            ("dismiss", 3, lambda: s.dismiss_issue()),
            ("reviewed", 4, lambda: s.mark_reviewed_next()),
            ("undo", 3, lambda: s.undo()),
            ("redo", 2, lambda: s.redo()),
        ]
        names, weights, funcs = zip(*actions)
        rss0 = _rss_kb()
        for i in range(n_actions):
            k = rng.choices(range(len(funcs)), weights)[0]
            funcs[k]()
            if i % 200 == 0:
                QtCore.QCoreApplication.processEvents()
        QtCore.QCoreApplication.processEvents()
        rss1 = _rss_kb()
        assert s.writer.pending == 0, s.writer.last_error
        end = _snapshot(proj.path)
        steps = s.undo_stack.index()
        while s.undo_stack.canUndo():
            s.undo()
        assert _snapshot(proj.path) == start, "undoing every step did not give back the project as opened"
        while s.undo_stack.canRedo():
            s.redo()
        assert _snapshot(proj.path) == end, "redoing every step did not give back the state before the undos"
        print(f"\nsoak: {n_actions} actions, {steps} undo steps, {len(end['labels'])} labels; "
              f"RSS {rss0 // 1024} MB -> {rss1 // 1024} MB (+{(rss1 - rss0) // 1024} MB)")
        assert end != start, "the soak changed nothing: it tested nothing"
        con = sqlite3.connect(proj.path)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    finally:
        QtCore.qInstallMessageHandler(previous)
        win.close()
    bad = [w for w in warnings if "deleted" in w.lower() or "Internal C++ object" in w]
    assert not bad, bad[:5]


# The soak runs in a child pytest: a crash inside Qt (see the xfail below) must fail this test,
# not abort the whole test session.
def _in_child(n: int, seed: int, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOXFIX_SOAK_N": str(n), "BOXFIX_SOAK_SEED": str(seed)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           f"{__file__}::test_soak_child", "--basetemp", str(tmp_path / "child")],
                          cwd=str(REPO), env=env, capture_output=True, text=True)


@pytest.mark.skipif("BOXFIX_SOAK_N" not in os.environ, reason="run by the soak tests in a child process")
def test_soak_child(qtbot, tmp_path):
    _soak(qtbot, tmp_path, int(os.environ["BOXFIX_SOAK_N"]), int(os.environ["BOXFIX_SOAK_SEED"]))


def _check(res: subprocess.CompletedProcess) -> None:
    tail = (res.stdout + res.stderr)[-3000:]
    print("\n".join(line for line in res.stdout.splitlines() if line.startswith("soak:")))
    assert res.returncode == 0, tail


def test_review_actions_keep_file_and_undo_history_consistent(tmp_path):
    _check(_in_child(600, 7, tmp_path))


@pytest.mark.slow
# PySide6 6.12.0 aborted this soak ('bool_dealloc': a reference lost on every forwarded emit);
# pyproject.toml pins PySide6 below 6.12.
def test_soak_10000_review_actions(tmp_path):
    _check(_in_child(10_000, 11, tmp_path))
