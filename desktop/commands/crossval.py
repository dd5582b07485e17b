"""`boxfix crossval` (out-of-sample predictions by k-fold training) and `boxfix train`
(one final model on all current labels)."""
from __future__ import annotations

import sys
from pathlib import Path

from desktop.commands.common import UserError, emit_json, open_store


def register(sub) -> None:
    p = sub.add_parser("crossval", help="train K models on K-1 folds each; predict each image out-of-sample")
    _common(p)
    p.add_argument("--folds", type=int, default=4)
    p.set_defaults(func=run_crossval)
    t = sub.add_parser("train", help="train one model on all current (corrected) labels")
    _common(t)
    t.add_argument("-o", "--output", required=True, help="where to write the trained MODEL.pt")
    t.set_defaults(func=run_train)


def _common(p) -> None:
    p.add_argument("project")
    p.add_argument("--model", default="yolov8n.yaml", help="a model yaml (from scratch) or a .pt to fine-tune")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")


def _settings(args, folds: int = 4):
    from desktop.detect.crossval import TrainSettings

    if args.epochs < 1 or args.imgsz < 32:
        raise UserError("--epochs must be at least 1 and --imgsz at least 32")
    return TrainSettings(folds=folds, model=args.model, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
                         device=args.device, seed=args.seed)


def _report(ev, quiet: bool) -> None:
    if quiet:
        return
    if ev.stage == "fold":
        print(f"fold {ev.fold + 1}/{ev.folds}: training on {ev.extra['train']} images, "
              f"{ev.extra['held_out']} held out", file=sys.stderr)
    elif ev.stage == "epoch":
        m = f", mAP50 {ev.map50:.3f}" if ev.map50 is not None else ""
        loss = f", loss {ev.loss:.3f}" if ev.loss is not None else ""
        eta = f", {ev.eta_s:.0f} s left in this fold" if ev.eta_s is not None else ""
        print(f"  epoch {ev.epoch}/{ev.epochs}{loss}{m}{eta}", file=sys.stderr)
    elif ev.stage == "predict":
        print(f"  predicting held-out fold {ev.fold + 1}", file=sys.stderr)


def run_crossval(args) -> int:
    import time

    from desktop.detect.crossval import CrossvalError, crossval

    settings = _settings(args, args.folds)
    store = open_store(args.project)
    t0 = time.perf_counter()
    try:
        run_id = None
        for ev in crossval(store, settings):
            _report(ev, args.json)
            run_id = ev.extra.get("run_id", run_id)
    except CrossvalError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        print("boxfix: cross-validation stopped; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        store.close()
    out = {"run_id": run_id, "folds": settings.folds, "seconds": round(time.perf_counter() - t0, 1)}
    if args.json:
        emit_json(out)
    else:
        print(f"cross-validation run {run_id} done in {out['seconds']} s; it is now the active run")
    return 0


def run_train(args) -> int:
    from desktop.detect.crossval import CrossvalError, train_final

    settings = _settings(args)
    store = open_store(args.project)
    try:
        info = {}
        for ev in train_final(store, settings, out=Path(args.output)):
            _report(ev, args.json)
            if ev.stage == "done":
                info = ev.extra
    except CrossvalError as exc:
        raise UserError(str(exc)) from None
    finally:
        store.close()
    if args.json:
        emit_json(info)
    else:
        print(f"model written to {info.get('weights')} (mAP50 {info.get('mAP50')})")
    return 0
