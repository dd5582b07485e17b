"""Never lose an edit: a process holding the review window makes an edit with a real key
press, says so, and is SIGKILLed (no close, no flush, no atexit). Reopened, the project
file has the edit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop.core.model import Box
from desktop.core.store import Store
from tests.ui.conftest import make_project

pytestmark = pytest.mark.gui

CHILD = textwrap.dedent("""
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from desktop.app import build_services, build_window

    app = QApplication([])
    services = build_services()
    services.rescore = None
    win = build_window(sys.argv[1], settings_path=sys.argv[2], services=services)
    win.show()
    win.activateWindow()
    QTest.qWaitForWindowExposed(win)
    win.canvas.setFocus()
    win.canvas.zoom_100()
    QTest.keyClick(win.canvas, Qt.Key_Tab)
    QTest.keyClick(win.canvas, Qt.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(win.canvas, Qt.Key_2)
    app.processEvents()
    print("READY", win.session.selection.id, flush=True)
    while True:
        app.processEvents()
        time.sleep(0.05)
""")


def test_sigkill_right_after_an_edit_loses_nothing(tmp_path):
    project = make_project(tmp_path)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(project.path), str(tmp_path / "s.ini")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = child.stdout.readline()
        assert line.startswith("READY"), child.stderr.read() if child.poll() is not None else line
        label_id = int(line.split()[1])
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    with Store.open(project.path) as store:  # a writer open: the dead process's lock is gone
        lab = store.label(label_id)
        assert lab.box == Box(30, 20, 90, 80) and lab.cls == 1
