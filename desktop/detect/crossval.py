"""Out-of-sample predictions by k-fold cross-validation, and the final model (no widgets).

A detector trained on these very labels has learned their mistakes and agrees with them.
`crossval()` splits the project's images into K folds, trains one Ultralytics model per fold
on the other K-1 folds' *current* labels, and predicts each fold with the model that never
saw it. All folds together make one prediction run of kind 'crossval'.

- Folds are stratified (each image goes to the fold that has fewest boxes of the image's
  rarest class so far, ties by image count) and seeded; the assignment is stored in the
  project (meta 'crossval_folds'), so a resume uses the same split.
- Training data is a temporary YOLO view of the project in the work area: images are
  symlinked (never copied), labels written from the store's current labels. The held-out
  fold is the validation set, so each fold's mAP is measured on images it did not train on.
- Cancel: `should_stop()` is polled by an ultralytics batch callback; it raises
  CrossvalCancelled, which ends training between batches. Resume continues from the last
  finished fold (its predictions are in the run already), restarting the interrupted fold
  from its last.pt when one exists.
- CPU defaults (2-core machine): yolov8n from its yaml, imgsz 320, 10 epochs, batch 8,
  workers 0. They are there to find gross label mistakes, not to win benchmarks.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from desktop.core.paths import data_dir

from .detector import DetectParams, resolve_device
from .jobs import DetectionRequest, run_detection


class CrossvalCancelled(Exception):
    pass


class CrossvalError(RuntimeError):
    pass


@dataclass(frozen=True)
class TrainSettings:
    folds: int = 4
    model: str = "yolov8n.yaml"  # a model yaml (from scratch) or a .pt to fine-tune
    epochs: int = 10
    imgsz: int = 320
    batch: int = 8
    device: str = "auto"
    seed: int = 0
    conf: float = 0.05  # prediction floor for the held-out folds
    patience: int = 100

    def identity(self) -> dict:
        d = asdict(self)
        d.pop("device")
        return d


@dataclass(frozen=True)
class TrainProgress:
    stage: str  # 'fold' | 'epoch' | 'predict' | 'done'
    fold: int
    folds: int
    epoch: int = 0
    epochs: int = 0
    loss: float | None = None
    map50: float | None = None
    map50_95: float | None = None
    eta_s: float | None = None
    extra: dict = field(default_factory=dict)


def work_area(store) -> Path:
    """The project's work area: beside the project file when writable, else in BoxFix's data folder."""
    base = Path(str(store.path) + ".work")
    try:
        base.mkdir(parents=True, exist_ok=True)
        return base
    except OSError:
        digest = hashlib.sha1(str(store.path.resolve()).encode()).hexdigest()[:12]
        fallback = data_dir() / "work" / digest
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


# ---------------------------------------------------------------------------- folds
def assign_folds(store, k: int, seed: int) -> dict[int, int]:
    """Stratified, seeded assignment image id -> fold in [0, k)."""
    if k < 2:
        raise CrossvalError("cross-validation needs at least 2 folds")
    images = [im.id for im in store.images()]
    if len(images) < k:
        raise CrossvalError(f"{len(images)} images cannot be split into {k} folds")
    labels = store.label_arrays()
    freq = np.bincount(labels["cls"], minlength=1) if len(labels["cls"]) else np.zeros(1)
    per_image: dict[int, list[int]] = {}
    for img, cls in zip(labels["image_id"].tolist(), labels["cls"].tolist()):
        per_image.setdefault(img, []).append(cls)
    rng = np.random.default_rng(seed)
    order = [images[i] for i in rng.permutation(len(images))]
    # Images with the rarest classes are placed first, while every fold still has room.
    order.sort(key=lambda i: min((freq[c] for c in per_image.get(i, [])), default=np.inf))
    n_cls = int(freq.shape[0])
    boxes = np.zeros((k, n_cls))
    counts = np.zeros(k)
    out = {}
    for img in order:
        classes = per_image.get(img, [])
        if classes:
            rare = min(classes, key=lambda c: freq[c])
            f = int(np.lexsort((counts, boxes[:, rare]))[0])
            for c in classes:
                boxes[f, c] += 1
        else:
            f = int(np.argmin(counts))
        counts[f] += 1
        out[img] = f
    return out


def stored_folds(store, k: int, seed: int) -> dict[int, int]:
    raw = store.get_meta("crossval_folds")
    if raw:
        info = json.loads(raw)
        if info.get("k") == k and info.get("seed") == seed:
            return {int(a): b for a, b in info["folds"].items()}
    folds = assign_folds(store, k, seed)
    store.set_meta("crossval_folds", json.dumps({"k": k, "seed": seed, "folds": {str(a): b for a, b in folds.items()}}))
    return folds


# ---------------------------------------------------------------------------- training data
def write_training_view(store, dest: Path, train_ids, val_ids) -> Path:
    """A YOLO dataset that references the project's images by symlink, with the store's
    current labels. Returns the data.yaml path."""
    if dest.exists():
        shutil.rmtree(dest)
    sizes = {im.id: im for im in store.images()}
    labels = store.label_arrays()
    rows_by_image: dict[int, list[str]] = {}
    for img, cls, box in zip(labels["image_id"].tolist(), labels["cls"].tolist(), labels["boxes"]):
        im = sizes[img]
        x0, y0, x1, y1 = (float(v) for v in box)
        x0, x1 = max(0.0, min(x0, x1)), min(float(im.width), max(x0, x1))
        y0, y1 = max(0.0, min(y0, y1)), min(float(im.height), max(y0, y1))
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue  # degenerate boxes would only teach the model noise
        rows_by_image.setdefault(img, []).append(
            f"{cls} {(x0 + x1) / 2 / im.width:.6f} {(y0 + y1) / 2 / im.height:.6f} "
            f"{(x1 - x0) / im.width:.6f} {(y1 - y0) / im.height:.6f}")
    for split, ids in (("train", train_ids), ("val", val_ids)):
        (dest / "images" / split).mkdir(parents=True, exist_ok=True)
        (dest / "labels" / split).mkdir(parents=True, exist_ok=True)
        for img in ids:
            im = sizes[img]
            if im.error:
                continue
            src = store.image_path(im)
            name = f"{img:08d}{src.suffix.lower()}"
            os.symlink(src.resolve(), dest / "images" / split / name)
            (dest / "labels" / split / f"{img:08d}.txt").write_text("\n".join(rows_by_image.get(img, [])))
    names = {c.idx: c.name for c in store.classes()}
    nc = max(names) + 1 if names else 1
    full = {i: names.get(i, f"class{i}") for i in range(nc)}
    import yaml

    data = {"path": str(dest.resolve()), "train": "images/train", "val": "images/val", "names": full}
    (dest / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return dest / "data.yaml"


def _total_loss(tloss) -> float | None:
    """The summed training loss, whatever shape this ultralytics version keeps it in."""
    if tloss is None:
        return None
    try:
        if isinstance(tloss, dict):
            return float(sum(float(v) for v in tloss.values()))
        return float(tloss.sum())
    except (TypeError, ValueError, AttributeError):
        return None


def _train(settings: TrainSettings, data_yaml: Path, project: Path, name: str,
           should_stop: Callable[[], bool], on_progress: Callable[[TrainProgress], None], fold: int) -> Path:
    from .offline import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    model_src = settings.model
    if model_src.endswith(".pt") and not Path(model_src).is_file():
        raise CrossvalError(f"{model_src}: no such model file")
    last = project / name / "weights" / "last.pt"
    resume = last.is_file()
    model = YOLO(str(last) if resume else model_src)
    t0 = time.perf_counter()

    def on_batch_end(trainer):
        if should_stop():
            raise CrossvalCancelled()

    def on_epoch_end(trainer):
        epoch = trainer.epoch + 1
        metrics = getattr(trainer, "metrics", {}) or {}
        loss = _total_loss(getattr(trainer, "tloss", None))
        elapsed = time.perf_counter() - t0
        eta = elapsed / epoch * (settings.epochs - epoch) if epoch else None
        on_progress(TrainProgress("epoch", fold, settings.folds, epoch, settings.epochs, loss,
                                  metrics.get("metrics/mAP50(B)"), metrics.get("metrics/mAP50-95(B)"), eta))

    model.add_callback("on_train_batch_end", on_batch_end)
    model.add_callback("on_fit_epoch_end", on_epoch_end)
    kwargs = dict(data=str(data_yaml), epochs=settings.epochs, imgsz=settings.imgsz, batch=settings.batch,
                  device=resolve_device(settings.device).replace("cuda:", "") if settings.device != "cpu" else "cpu",
                  workers=0, plots=False, project=str(project.resolve()), name=name, exist_ok=True,
                  seed=settings.seed, deterministic=True, verbose=False, patience=settings.patience, amp=False)
    if resume:
        try:
            model.train(resume=True, **{k: v for k, v in kwargs.items() if k in ("device", "workers")})
        except CrossvalCancelled:
            raise
        except Exception:  # a last.pt from a finished or foreign training: start the fold again
            shutil.rmtree(project / name, ignore_errors=True)
            model = YOLO(model_src)
            model.add_callback("on_train_batch_end", on_batch_end)
            model.add_callback("on_fit_epoch_end", on_epoch_end)
            model.train(**kwargs)
    else:
        model.train(**kwargs)
    trainer = getattr(model, "trainer", None)
    save_dir = Path(trainer.save_dir) if trainer is not None and getattr(trainer, "save_dir", None) else project / name
    best = save_dir / "weights" / "best.pt"
    if not best.is_file():
        best = save_dir / "weights" / "last.pt"
    if not best.is_file():
        raise CrossvalError(f"training fold {fold} produced no weights in {project / name}")
    return best


# ---------------------------------------------------------------------------- crossval
def crossval(store, settings: TrainSettings = TrainSettings(), should_stop: Callable[[], bool] = lambda: False,
             ) -> Iterator[TrainProgress]:
    """Train K fold models and predict each held-out fold. Yields progress; the run id is
    in the final TrainProgress.extra['run_id']. Raises CrossvalCancelled when stopped."""
    if settings.model.endswith(".pt") and not Path(settings.model).is_file():
        raise CrossvalError(f"{settings.model}: no such model file")
    folds = stored_folds(store, settings.folds, settings.seed)
    identity = dict(settings.identity(), folds_hash=hashlib.sha1(
        json.dumps(sorted(folds.items())).encode()).hexdigest()[:16])
    run_id = store.find_run("crossval", identity)
    if run_id is None:
        names = [c.name for c in store.classes()]
        run_id = store.create_run(f"crossval {settings.folds} folds ({Path(settings.model).name}, "
                                  f"{settings.epochs} ep, {settings.imgsz}px)", kind="crossval",
                                  model_path=settings.model, model_hash="crossval", params=identity,
                                  model_classes=names, class_map={c.idx: c.idx for c in store.classes()},
                                  source="boxfix crossval")
    else:
        store.set_active_run(run_id)
    area = work_area(store) / f"crossval-{run_id}"
    done = store.done_image_ids(run_id)
    events: list[TrainProgress] = []
    for fold in range(settings.folds):
        held_out = sorted(i for i, f in folds.items() if f == fold)
        if held_out and all(i in done for i in held_out):
            continue  # finished before: resume skips it
        train_ids = sorted(i for i, f in folds.items() if f != fold)
        yield TrainProgress("fold", fold, settings.folds, extra={"run_id": run_id, "train": len(train_ids),
                                                                  "held_out": len(held_out)})
        data_yaml = write_training_view(store, area / f"data-fold{fold}", train_ids, held_out)
        events.clear()
        best = _train(settings, data_yaml, area, f"fold{fold}", should_stop, events.append, fold)
        yield from events
        yield TrainProgress("predict", fold, settings.folds, extra={"run_id": run_id})
        request = DetectionRequest(run_id, str(best), DetectParams(conf=settings.conf, imgsz=settings.imgsz),
                                   {c.idx: c.idx for c in store.classes()}, tuple(held_out), settings.device)
        for event in run_detection(store, request, should_stop=should_stop):
            if event.state == "cancelled":
                raise CrossvalCancelled()
    store.finish_run(run_id)
    store.set_active_run(run_id)
    yield TrainProgress("done", settings.folds, settings.folds, extra={"run_id": run_id})


def train_final(store, settings: TrainSettings, out: Path | None = None,
                should_stop: Callable[[], bool] = lambda: False) -> Iterator[TrainProgress]:
    """Train one model on all current (corrected) labels. Its weights (and metrics JSON) go in
    the project's work area, and are copied to `out` when given. The validation split is the
    project's 'val' images when there are some, else a seeded 10% of the images."""
    images = store.images()
    val = [im.id for im in images if im.split.value == "val"]
    if not val:
        rng = np.random.default_rng(settings.seed)
        ids = [im.id for im in images]
        val = sorted(rng.choice(ids, size=max(1, len(ids) // 10), replace=False).tolist())
    train = [im.id for im in images if im.id not in set(val)]
    area = work_area(store) / "final"
    data_yaml = write_training_view(store, area / "data", train, val)
    events: list[TrainProgress] = []
    best = _train(settings, data_yaml, area, "final-model", should_stop, events.append, 0)
    yield from events
    metrics = events[-1] if events else None
    info = {"weights": str(best), "settings": asdict(settings), "images_train": len(train), "images_val": len(val),
            "mAP50": metrics.map50 if metrics else None, "mAP50-95": metrics.map50_95 if metrics else None,
            "trained": time.strftime("%Y-%m-%d %H:%M:%S")}
    (area / "model.json").write_text(json.dumps(info, indent=2))
    if out:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(best, out)
        info["weights"] = str(out)
    yield TrainProgress("done", 1, 1, extra=info)
