"""Run slow store work (full re-score, model preparation, dashboard figures) off the GUI thread.

`Background` owns one QThreadPool with ONE thread: jobs run in submission order, never two at
once, so two re-scores can never interleave their replace_issues() writes. The result (or
the exception's message) comes back through a queued signal, so the callbacks always run on
the GUI thread, where widgets may be touched.

    bg = Background(parent)
    bg.submit(lambda: rescore(store), on_done=apply, on_error=show)
"""
from __future__ import annotations

import itertools
from typing import Callable

from PySide6.QtCore import QEventLoop, QObject, QRunnable, QThreadPool, Signal


class _Relay(QObject):
    done = Signal(int, object)  # job id, result
    failed = Signal(int, object)  # job id, exception


class _Job(QRunnable):
    def __init__(self, job_id: int, fn: Callable, relay: _Relay):
        super().__init__()
        self.setAutoDelete(True)
        self._id, self._fn, self._relay = job_id, fn, relay

    def run(self):  # the worker thread
        try:
            result = self._fn()
        except BaseException as exc:  # noqa: BLE001 - a worker must report, never die silently
            self._relay.failed.emit(self._id, exc)
            return
        self._relay.done.emit(self._id, result)


class Background(QObject):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # serialised: jobs write to one SQLite file
        self._relay = _Relay(self)  # lives on the GUI thread: its signals are queued there
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple] = {}

    def submit(self, fn: Callable, on_done: Callable | None = None, on_error: Callable | None = None) -> int:
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_done, on_error)
        self.pool.start(_Job(job_id, fn, self._relay))
        return job_id

    def busy(self) -> bool:
        return bool(self._callbacks)

    def call(self, fn: Callable):
        """Run fn in the worker and wait for it while the GUI keeps painting (a local event
        loop): for callers that need the answer now, e.g. Model > Load's result. Raises what
        fn raised."""
        box: dict = {}
        loop = QEventLoop()

        def done(result):
            box["result"] = result
            loop.quit()

        def failed(exc):
            box["error"] = exc
            loop.quit()

        self.submit(fn, done, failed)
        if "result" not in box and "error" not in box:
            loop.exec()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def wait_idle(self, msecs: int = -1) -> None:
        """Wait for queued jobs (closing the project: none may outlive the store)."""
        self.pool.waitForDone(msecs)

    def discard(self) -> None:
        """Forget the callbacks of jobs not yet reported (their target is going away)."""
        self._callbacks.clear()

    def _on_done(self, job_id: int, result) -> None:
        on_done, _ = self._callbacks.pop(job_id, (None, None))
        if on_done is not None:
            on_done(result)

    def _on_failed(self, job_id: int, exc) -> None:
        _, on_error = self._callbacks.pop(job_id, (None, None))
        if on_error is not None:
            on_error(exc)
        else:
            import sys

            print(f"boxfix: background job failed: {exc!r}", file=sys.stderr)
