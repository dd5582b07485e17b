"""`boxfix predict PROJECT --model PATH`: run an Ultralytics model over every image.

    boxfix predict PROJECT --model PATH [--conf 0.05] [--iou 0.7] [--imgsz 640]
                   [--device auto|cpu|cuda:0|mps] [--batch N] [--map MODEL=PROJECT ...] [--json]

Predictions are stored in the project as a run keyed by the model's sha256 and the
parameters: the same command again is a cache hit and costs nothing. Ctrl+C stops cleanly
after the batch in flight (press it twice to abort at once); the same command resumes where
it stopped, with no image done twice. Exit codes: 0 done, 1 a user error, 130 stopped.
"""
from __future__ import annotations

import signal
import sys
import time

from desktop.commands.common import UserError, emit_json, open_store, progress


def register(sub) -> None:
    p = sub.add_parser("predict", help="run a detector over the project's images (cached, resumable)",
                       description="Run an Ultralytics detection model (.pt, .onnx, ...) over the project's "
                       "images and store its predictions as a run. Same model and parameters again: a cache hit. "
                       "Ctrl+C stops cleanly; run the command again to resume.")
    p.add_argument("project", help="the project file (NAME.boxfix)")
    p.add_argument("--model", required=True, metavar="PATH", help="the model file (.pt, .onnx, ...) or exported folder")
    p.add_argument("--conf", type=float, default=0.05,
                   help="confidence floor stored (default 0.05; the window's slider filters above it)")
    p.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold (default 0.7)")
    p.add_argument("--imgsz", type=int, default=640, help="inference image size (default 640)")
    p.add_argument("--max-det", type=int, default=300, help="most detections per image (default 300)")
    p.add_argument("--device", default="auto", help="auto (cuda, else mps, else cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--batch", type=int, default=None, help="images per model call (default 16 on a GPU, 2 on the CPU)")
    p.add_argument("--map", action="append", default=[], metavar="MODEL=PROJECT",
                   help="map a model class (name or index) to a project class (name or index), or to nothing "
                   "with MODEL=; repeatable. Classes are otherwise matched by name.")
    p.add_argument("--json", action="store_true", help="print a summary as JSON on stdout")
    p.set_defaults(func=run)


def _parse_map(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--map {item!r}: expected MODEL=PROJECT (e.g. --map person=pedestrian)")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip() or None
    return out


class _StopOnInterrupt:
    """First Ctrl+C: finish the batch in flight, store it, stop. Second: abort at once."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, _sig, _frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nboxfix: stopping after this batch (Ctrl+C again to abort)", file=sys.stderr)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._old)


def _all_cores_detector(request):
    """No window to keep responsive here: use every CPU core."""
    from desktop.detect.detector import UltralyticsDetector

    return UltralyticsDetector(request.model_path, request.params, device=request.device, reserve_core=False)


def run(args) -> int:
    from desktop.detect.detector import DetectorError, DetectParams, default_batch, resolve_device
    from desktop.detect.jobs import prepare_request, run_detection

    try:
        device = resolve_device(args.device)
        batch = args.batch or default_batch(device)
        params = DetectParams(conf=args.conf, iou=args.iou, imgsz=args.imgsz, max_det=args.max_det, batch=batch)
    except (ValueError, DetectorError) as exc:
        raise UserError(str(exc)) from None
    store = open_store(args.project)
    t0 = time.perf_counter()
    try:
        try:
            request = prepare_request(store, args.model, params, device=device,
                                      class_map_override=_parse_map(args.map))
        except DetectorError as exc:
            raise UserError(str(exc)) from None
        last = None
        with _StopOnInterrupt() as stop, progress(len(request.image_ids), "predicting", enabled=not args.json) as bar:
            try:
                for ev in run_detection(store, request, should_stop=lambda: stop.requested,
                                        detector_factory=_all_cores_detector):
                    if last is None:
                        bar.update(ev.cache_hits)
                    bar.update(len(ev.results))
                    last = ev
            except DetectorError as exc:
                raise UserError(str(exc)) from None
        info = store.run_info(request.run_id)
        errors = store.run_errors(request.run_id)
        summary = {
            "run_id": request.run_id, "images": len(request.image_ids), "images_done": last.progress.done,
            "predictions": info.predictions, "seconds": round(time.perf_counter() - t0, 3),
            "cache_hits": last.cache_hits, "predicted": last.progress.done - last.cache_hits,
            "errors": len(errors), "stopped": last.state == "cancelled", "model_classes": info.model_classes,
            "unmapped_model_classes": [info.model_classes[k] for k, v in sorted(info.class_map.items()) if v is None],
            "missing_project_classes": sorted(info.missing_classes),
        }
    finally:
        store.close()
    if args.json:
        emit_json(summary)
    else:
        _print_summary(summary, errors)
    return 130 if summary["stopped"] else 0


def _print_summary(s: dict, errors: dict) -> None:
    if s["stopped"]:
        print(f"stopped: {s['images_done']} of {s['images']} images done; run the same command again to resume",
              file=sys.stderr)
    print(f"run {s['run_id']}: {s['images_done']}/{s['images']} images ({s['predicted']} predicted, "
          f"{s['cache_hits']} from cache), {s['predictions']} predictions, {s['seconds']:.1f} s")
    if s["unmapped_model_classes"]:
        print(f"  model classes not in the project (kept as unknown): {', '.join(s['unmapped_model_classes'])}")
    if s["missing_project_classes"]:
        print(f"  project classes the model lacks (never flagged spurious): "
              f"{', '.join(map(str, s['missing_project_classes']))}")
    for image_id, msg in list(errors.items())[:20]:
        print(f"  image {image_id}: {msg}", file=sys.stderr)
    if len(errors) > 20:
        print(f"  ... and {len(errors) - 20} more unreadable images", file=sys.stderr)
