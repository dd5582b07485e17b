"""Helpers shared by the window tests of the demo, dashboard, report and training menus."""
from __future__ import annotations

from pathlib import Path


def open_project_window(qtbot, path, settings: Path, demo: bool = False, services=None):
    """The real MainWindow over a project file, shown, quiet (no modal boxes)."""
    from desktop.app import build_window

    win = build_window(str(path), settings_path=settings, services=services, demo=demo)
    win.setProperty("quiet_dialogs", True)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    return win


def wait_idle(qtbot, session, timeout: int = 120_000) -> None:
    """Until the streamed re-scores and the final full re-score are applied."""
    qtbot.waitUntil(lambda: not session.busy(), timeout=timeout)
