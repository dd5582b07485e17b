"""Run Python's cyclic garbage collector on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate. If that is a worker
(training, detection) and the garbage holds Qt wrappers (a closed dialog, an old window),
their C++ destructors run off the GUI thread; we have seen this deadlock on shiboken's GIL
handling while a training thread built its model. So, as pyqtgraph's GarbageCollector does,
automatic collection is switched off and a GUI-thread timer collects instead, by the same
generation thresholds. Reference counting still frees everything that is not in a cycle
at once; only cycles wait for the timer (at most `interval_ms`).
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

_installed: "MainThreadGarbageCollector | None" = None


class MainThreadGarbageCollector(QObject):
    def __init__(self, interval_ms: int = 500, parent=None):
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        if gc.isenabled():  # a library switched it back on (ultralytics does): off again
            gc.disable()
        l0, l1, l2 = gc.get_count()
        if l0 > self.threshold[0]:
            gen = 0
            if l1 > self.threshold[1]:
                gen = 1
                if l2 > self.threshold[2]:
                    gen = 2
            gc.collect(gen)


def install(app) -> MainThreadGarbageCollector:
    """Idempotent: one collector per process, owned by the QApplication."""
    global _installed
    if _installed is None:
        _installed = MainThreadGarbageCollector(parent=app)
    return _installed
