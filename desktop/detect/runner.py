"""The background detection job for the window: one worker thread, QtCore only.

The worker runs jobs.run_detection() over a frozen DetectionRequest; it never reads live UI
state. The window talks to it through DetectionRunner's methods (all called on the GUI
thread) and hears back through its signals (always delivered on the GUI thread):

    runner = DetectionRunner(store)
    runner.image_done.connect(...)       # (run_id, image_id, n_predictions), per image
    runner.start(prepare_request(store, "best.pt"))
    runner.prioritize([on_screen_id, next_id, ...])   # whenever the user navigates

Every signal is tagged with the run id, and results of a run that is no longer the current
one (start() was called again) are dropped, never emitted. Pause and cancel take effect
between batches: the batch in the model finishes and is written first, so nothing is lost
and nothing is done twice.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from .detector import DetectorError, DetectParams
from .jobs import DetectionEvent, DetectionRequest, ImageQueue, Progress, prepare_request, run_detection

__all__ = ["DetectionRequest", "DetectionRunner", "DetectorError", "DetectParams", "Progress", "prepare_request"]

STATES = ("idle", "loading", "running", "paused", "cancelled", "finished", "failed")


class _Control:
    """Cancel and pause flags the worker polls between batches (thread-safe)."""

    def __init__(self):
        self._cond = threading.Condition()
        self.cancelled = False
        self.paused = False

    def should_stop(self) -> bool:
        with self._cond:
            while self.paused and not self.cancelled:
                self._cond.wait()
            return self.cancelled

    def set(self, *, cancelled: bool | None = None, paused: bool | None = None) -> None:
        with self._cond:
            if cancelled is not None:
                self.cancelled = cancelled
            if paused is not None:
                self.paused = paused
            self._cond.notify_all()


class _WorkerThread(QThread):
    """Runs one request. Signals carry a generation number so the runner can drop stale ones."""

    event = Signal(int, object)  # generation, DetectionEvent
    error = Signal(int, str)  # generation, message

    def __init__(self, store, request: DetectionRequest, queue: ImageQueue, control: _Control, generation: int,
                 detector_factory=None, parent=None):
        super().__init__(parent)
        self.setObjectName(f"boxfix-detect-{request.run_id}")
        self._store, self._request, self._queue = store, request, queue
        self._control, self.generation = control, generation
        self._factory = detector_factory

    def run(self):  # the worker thread
        kw = {"detector_factory": self._factory} if self._factory else {}
        try:
            for ev in run_detection(self._store, self._request, should_stop=self._control.should_stop,
                                    queue=self._queue, **kw):
                self.event.emit(self.generation, ev)
        except DetectorError as exc:
            self.error.emit(self.generation, str(exc))
        except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.error.emit(self.generation, f"detection stopped: {first}")


class DetectionRunner(QObject):
    image_done = Signal(int, int, int)  # run_id, image_id, n_predictions
    image_error = Signal(int, int, str)  # run_id, image_id, message (the image is also in image_done)
    progress = Signal(object)  # Progress
    finished = Signal(int)  # run_id
    failed = Signal(int, str)  # run_id, message
    state_changed = Signal(str)  # one of STATES

    def __init__(self, store, parent=None, detector_factory=None):
        super().__init__(parent)
        self._store = store
        self._factory = detector_factory  # tests may inject a detector; None = Ultralytics
        self._generation = 0
        self._thread: _WorkerThread | None = None
        self._threads: list[_WorkerThread] = []  # started, not yet collected
        self._control: _Control | None = None
        self._queue: ImageQueue | None = None
        self._request: DetectionRequest | None = None
        self._next: tuple | None = None  # (request, queue, control) waiting for the old thread to end
        self._state = "idle"

    # ------------------------------------------------------------------ control (GUI thread)
    @property
    def state(self) -> str:
        return self._state

    @property
    def request(self) -> DetectionRequest | None:
        return self._request

    def start(self, request: DetectionRequest) -> None:
        """Run `request`. A run in progress is cancelled and its later results dropped; the new
        one starts as soon as the old thread has written its last batch (one worker at a time)."""
        self._generation += 1
        self._request = request
        self._queue = ImageQueue(request.image_ids)
        self._control = _Control()
        nxt = (request, self._queue, self._control, self._generation)
        if self._next is not None:  # already waiting for an old thread: replace what comes next
            self._next = nxt
            return
        if self._thread is not None and self._thread.isRunning():
            self._old_control.set(cancelled=True)  # its later events are stale: generation differs
            self._next = nxt
            self._set_state("loading")
            return
        self._launch(*nxt)

    def cancel(self) -> None:
        if self._control is not None:
            self._control.set(cancelled=True)
        if self._next is not None:
            self._next = None
            self._set_state("cancelled")

    def pause(self) -> None:
        if self._control is not None and self.is_running():
            self._control.set(paused=True)
            self._set_state("paused")

    def resume(self) -> None:
        if self._control is not None and self._control.paused:
            self._control.set(paused=False)
            self._set_state("running")

    def prioritize(self, image_ids) -> None:
        """Do these images next, in this order (on-screen image first, then the next ones
        in review order); the rest keep their order. Safe to call on every navigation."""
        if self._queue is not None:
            self._queue.prioritize(list(image_ids))

    def is_running(self) -> bool:
        return self._next is not None or (self._thread is not None and self._thread.isRunning())

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker ends (for shutdown and tests). True if it ended."""
        if self._thread is None:
            return True
        return self._thread.wait() if msecs < 0 else self._thread.wait(msecs)

    def shutdown(self) -> None:
        """Cancel and wait: call before closing the store (the window's closeEvent)."""
        self._next = None
        self.cancel()
        if self._control is not None:
            self._control.set(paused=False)
        self.wait()

    # ------------------------------------------------------------------ internals
    def _launch(self, request, queue, control, generation) -> None:
        thread = _WorkerThread(self._store, request, queue, control, generation, self._factory, parent=self)
        thread.event.connect(self._on_event)
        thread.error.connect(self._on_error)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._old_control = thread, control
        self._threads.append(thread)
        self._set_state("loading")
        thread.start()

    @Slot()
    def _on_thread_finished(self) -> None:
        # Queued from the worker: its thread has ended (or is ending); collect every ended one.
        for t in [t for t in self._threads if t.isFinished()]:
            self._threads.remove(t)
            t.deleteLater()
        if self._thread is not None and self._thread not in self._threads:
            self._thread = None
        nxt, self._next = self._next, None
        if nxt is not None and self._thread is None:
            self._launch(*nxt)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    @Slot(int, object)
    def _on_event(self, generation: int, ev: DetectionEvent) -> None:
        if generation != self._generation:
            return  # a stale run
        for r in ev.results:
            self.image_done.emit(ev.run_id, r.image_id, r.n_predictions)
            if r.error:
                self.image_error.emit(ev.run_id, r.image_id, r.error)
        self.progress.emit(ev.progress)
        if ev.state in ("loading", "running"):
            if not (self._control is not None and self._control.paused):
                self._set_state(ev.state)
        elif ev.state == "finished":
            self._set_state("finished")
            self.finished.emit(ev.run_id)
        elif ev.state == "cancelled":
            self._set_state("cancelled")

    @Slot(int, str)
    def _on_error(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._set_state("failed")
        self.failed.emit(self._request.run_id if self._request else -1, message)
