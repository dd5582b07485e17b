"""The detection job, Qt-free: one generator that predicts, writes and reports.

`run_detection(store, request, should_stop)` yields a `DetectionEvent` after the model loads
and after each batch; each event carries the batch's per-image results and the progress, so
progress, partial results and cancellation share one shape (as superqt's thread workers
do). The Qt runner (runner.py) and the `boxfix predict` command both drive it.

The cache: a run is identified by the model file's sha256 plus the parameters (and the class
map). prepare_request() reuses a matching run; run_detection() predicts only the images not
yet in `store.done_image_ids(run_id)`, so a full cache hit never loads the model, and a run
cancelled half-way resumes with no image done twice (each batch's results are committed in
one transaction, after which the images count as done).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from .classmap import ClassMapError, build_class_map, map_classes
from .detector import (
    DetectParams,
    Detections,
    Detector,
    DetectorError,
    ImageReadError,
    check_model_path,
    load_image_bgr,
    model_hash,
    read_model_classes,
)

__all__ = ["DetectionRequest", "DetectionEvent", "ImageResult", "Progress", "ImageQueue", "prepare_request",
           "run_detection"]


@dataclass(frozen=True)
class DetectionRequest:
    """Everything the worker needs, frozen: it never reads live UI state."""

    run_id: int
    model_path: str
    params: DetectParams
    class_map: dict
    image_ids: tuple[int, ...]
    device: str = "auto"


@dataclass(frozen=True)
class Progress:
    run_id: int
    done: int  # images done for this request (cached ones included)
    total: int
    images_per_s: float  # over the images predicted in this job (0 until the first batch)
    eta_s: float | None  # None while unknown


@dataclass(frozen=True)
class ImageResult:
    image_id: int
    n_predictions: int
    error: str | None = None


@dataclass(frozen=True)
class DetectionEvent:
    """state: 'loading' (before the model loads), 'running' (a batch is done),
    'finished' (all images done) or 'cancelled' (should_stop said so)."""

    run_id: int
    state: str
    progress: Progress
    results: tuple[ImageResult, ...] = ()
    cache_hits: int = 0
    predictions: int = 0  # stored by this job so far


# ---------------------------------------------------------------------------- the queue
class ImageQueue:
    """Pending image ids in priority order; thread-safe. prioritize() moves the given ids
    (on-screen image first, then the next ones in review order) to the front; the others keep
    their relative order. Ids not pending are ignored."""

    def __init__(self, image_ids: Sequence[int]):
        self._lock = threading.Lock()
        self._order: list[int] = list(dict.fromkeys(int(i) for i in image_ids))
        self._priority: list[int] = []
        self.version = 0  # bumped by prioritize(): a batch taken earlier may now be the wrong one

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def prioritize(self, image_ids: Sequence[int]) -> None:
        with self._lock:
            wanted = list(dict.fromkeys(int(i) for i in image_ids))
            if wanted == self._priority:
                return
            # Kept whole (not only the pending ids): an id taken ahead and given back by
            # requeue() then still lands in its place.
            self._priority = wanted
            self.version += 1
            self._reorder()

    def _reorder(self) -> None:
        pending = set(self._order)
        front = [i for i in self._priority if i in pending]
        chosen = set(front)
        self._order = front + [i for i in self._order if i not in chosen]

    def take(self, n: int) -> list[int]:
        with self._lock:
            head, self._order = self._order[:n], self._order[n:]
            return head

    def discard(self, image_ids) -> None:
        with self._lock:
            gone = set(image_ids)
            self._order = [i for i in self._order if i not in gone]

    def requeue(self, image_ids: Sequence[int]) -> None:
        """Put taken-but-not-done ids back: after the prioritized ids, before the rest."""
        with self._lock:
            back = [int(i) for i in image_ids if int(i) not in set(self._order)]
            self._order = back + self._order
            self._reorder()

    def snapshot(self) -> list[int]:
        with self._lock:
            return list(self._order)


# ---------------------------------------------------------------------------- preparing
def prepare_request(store, model_path, params: DetectParams | None = None, device: str = "auto",
                    class_map_override: Mapping | None = None, image_ids: Sequence[int] | None = None
                    ) -> DetectionRequest:
    """Check the model, hash it, map its classes, and create or reuse the run (made active).
    Raises DetectorError (one clear sentence) for a missing/broken model or a bad remap.
    A model already seen in this project (same sha256) is not loaded again here."""
    path = check_model_path(model_path)
    if params is None:
        from .detector import default_batch, resolve_device

        params = DetectParams(batch=default_batch(resolve_device(device)))
    digest = model_hash(path)
    known = [r for r in store.runs() if r.model_hash == digest and r.model_classes]
    model_classes = list(known[-1].model_classes) if known else read_model_classes(path)
    try:
        class_map = build_class_map(model_classes, store.classes(), class_map_override)
    except ClassMapError as exc:
        raise DetectorError(str(exc)) from None
    identity = dict(params.identity(), class_map={str(k): v for k, v in sorted(class_map.items())})
    run_id = store.find_run(digest, identity)
    if run_id is None:
        name = f"{path.stem} (conf {params.conf:g}, iou {params.iou:g}, {params.imgsz}px)"
        run_id = store.create_run(name, kind="model", model_path=str(path), model_hash=digest, params=identity,
                                  model_classes=model_classes, class_map=class_map, source="ultralytics",
                                  activate=True)
    else:
        store.set_active_run(run_id)
    ids = tuple(im.id for im in store.images()) if image_ids is None else tuple(int(i) for i in image_ids)
    return DetectionRequest(run_id, str(path), params, dict(class_map), ids, device)


# ---------------------------------------------------------------------------- running
def _default_detector(request: DetectionRequest) -> Detector:
    from .detector import UltralyticsDetector

    return UltralyticsDetector(request.model_path, request.params, device=request.device)


def _load_batch(paths: Sequence) -> list[np.ndarray | ImageReadError]:
    out = []
    for p in paths:
        try:
            out.append(load_image_bgr(p))
        except ImageReadError as exc:
            out.append(exc)
    return out


def run_detection(store, request: DetectionRequest, should_stop: Callable[[], bool] = lambda: False,
                  queue: ImageQueue | None = None,
                  detector_factory: Callable[[DetectionRequest], Detector] = _default_detector,
                  ) -> Iterator[DetectionEvent]:
    """Predict the request's images not yet done for its run, a batch at a time.

    should_stop is polled before each batch (the runner's pause blocks inside it). queue, if
    given, must hold the pending ids; the caller may reorder it while the job runs. Images are
    decoded one batch ahead on a helper thread, overlapping the model's work. Raises
    DetectorError when the model cannot load or fails on a whole batch and on each image.
    """
    run_id = request.run_id
    total = len(request.image_ids)
    done_before = store.done_image_ids(run_id)
    wanted = [i for i in request.image_ids if i not in done_before]
    cache_hits = total - len(wanted)
    if queue is None:
        queue = ImageQueue(wanted)
    else:
        queue.discard(done_before)
    done = cache_hits
    stored = 0

    def progress(rate: float = 0.0) -> Progress:
        left = total - done
        eta = (left / rate) if rate > 0 else (0.0 if left == 0 else None)
        return Progress(run_id, done, total, rate, eta)

    if not wanted:
        store.finish_run(run_id)
        yield DetectionEvent(run_id, "finished", progress(), cache_hits=cache_hits)
        return
    if should_stop():
        yield DetectionEvent(run_id, "cancelled", progress(), cache_hits=cache_hits)
        return
    yield DetectionEvent(run_id, "loading", progress(), cache_hits=cache_hits)
    detector = detector_factory(request)
    paths = {im.id: store.image_path(im) for im in store.images()}
    batch = max(1, request.params.batch)
    class_map = {int(k): v for k, v in request.class_map.items()}

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="boxfix-decode")

    def submit():
        version = queue.version
        ids = queue.take(batch)
        return (ids, pool.submit(_load_batch, [paths.get(i, f"<image {i} not in project>") for i in ids]),
                version) if ids else None

    t0 = time.perf_counter()
    predicted = 0
    try:
        nxt = submit()
        while nxt is not None:
            if should_stop():
                # The prefetched batch is not done: put it back so a resume starts with it.
                queue.requeue(nxt[0])
                yield DetectionEvent(run_id, "cancelled", progress(predicted / max(time.perf_counter() - t0, 1e-9)),
                                     cache_hits=cache_hits, predictions=stored)
                return
            ids, fut, version = nxt
            if version != queue.version:
                # The user navigated after this batch was taken ahead: give it back and take
                # the images now wanted first (a wasted decode is cheap next to the model).
                fut.cancel()
                queue.requeue(ids)
                nxt = submit()
                continue
            images = fut.result()
            nxt = submit()  # decode the next batch while the model works on this one
            rows, results = _predict_batch(detector, ids, images, class_map)
            n_stored = store.add_predictions(run_id, rows)
            for image_id, _b, _c, _f, _m, error in rows:
                if error:
                    store.set_image_error(image_id, error)
            stored += n_stored
            done += len(ids)
            predicted += len(ids)
            rate = predicted / max(time.perf_counter() - t0, 1e-9)
            state = "running"
            yield DetectionEvent(run_id, state, progress(rate), tuple(results), cache_hits, stored)
        store.finish_run(run_id)
        yield DetectionEvent(run_id, "finished", progress(predicted / max(time.perf_counter() - t0, 1e-9)),
                             cache_hits=cache_hits, predictions=stored)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _predict_batch(detector: Detector, ids: list[int], images: list, class_map: dict):
    """Rows for store.add_predictions and ImageResults. A batch that fails is retried image
    by image, so one image the model chokes on is marked and the others still count."""
    good = [k for k, im in enumerate(images) if not isinstance(im, ImageReadError)]
    dets: dict[int, Detections | str] = {k: str(images[k]) for k in range(len(ids)) if k not in good}
    if good:
        try:
            for k, d in zip(good, detector.predict([images[k] for k in good])):
                dets[k] = d
        except DetectorError:
            raise
        except Exception:  # noqa: BLE001 - find the image at fault
            for k in good:
                try:
                    dets[k] = detector.predict([images[k]])[0]
                except Exception as exc:  # noqa: BLE001
                    dets[k] = f"image {ids[k]}: the model failed on it ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            if all(isinstance(dets[k], str) for k in good):
                raise DetectorError(f"the model fails on every image ({dets[good[0]]})") from None
    rows, results = [], []
    for k, image_id in enumerate(ids):
        d = dets[k]
        if isinstance(d, str):
            rows.append((image_id, np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64), d))
            results.append(ImageResult(image_id, 0, d))
        else:
            cls = map_classes(d.model_cls, class_map)
            rows.append((image_id, d.boxes, cls, d.conf, d.model_cls, None))
            results.append(ImageResult(image_id, len(d.boxes)))
    return rows, results
