"""Benchmark: in-sample vs out-of-sample (k-fold) predictions for finding planted mistakes.

Protocol (the issue finder benchmark's): plant seeded mistakes in 6% of bccd's images
(dropped, shifted, class-swapped and spurious boxes), import the noisy labels into a BoxFix
project, then
- in-sample: train one model on ALL the noisy labels and predict every image with it;
- out-of-sample: `boxfix crossval` (K folds, each image predicted by the model that never
  saw it);
and rank the images with BoxFix's finder on each run. Both use the same architecture,
epochs and image size. Also reports the wall time of crossval on bccd with those settings.

Run:  .venv/bin/python tests/benchmarks/bench_crossval.py   (about 10-20 minutes on 2 CPU cores)
The table is printed and written to docs/benchmarks/crossval.md.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench_issues import evaluate  # noqa: E402
from issues_data import DATASETS, REPO, load_yolo  # noqa: E402
from issues_plant import PLANTED_KINDS, plant  # noqa: E402

from desktop.core.issues import FinderParams, find_issues, image_scores  # noqa: E402
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord  # noqa: E402
from desktop.core.store import Store  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "crossval.md"
FOLDS = int(os.environ.get("BOXFIX_CV_FOLDS", "2"))
EPOCHS = int(os.environ.get("BOXFIX_CV_EPOCHS", "20"))
IMGSZ = 160


def _project(ds: dict, l_img, l_cls, l_box, where: Path) -> Store:
    root = DATASETS / ds["name"]
    recs = []
    for i, p in enumerate(ds["paths"]):
        sel = l_img == i
        labels = tuple(LabelRecord(Box(*map(float, b)), int(c)) for c, b in zip(l_cls[sel], l_box[sel]))
        recs.append(ImageRecord(str(Path(p).relative_to(root)), int(ds["width"][i]), int(ds["height"][i]),
                                labels=labels))
    store = Store.create(where / "noisy.boxfix", root)
    store.import_dataset(DatasetRead(str(root), "yolo", [ClassInfo(c, str(c)) for c in range(ds["nc"])], iter(recs)))
    return store


def _scores(store: Store, run_id: int, index_of: dict[int, int], n: int) -> np.ndarray:
    labels = store.label_arrays()
    preds = store.prediction_arrays(run_id)
    sizes = store.image_sizes()
    issues = find_issues(labels, preds, sizes, model_classes=set(range(len(store.classes()))),
                         params=FinderParams(min_score=0.0))
    ids, pooled = image_scores(issues)
    out = np.zeros(n)
    for i, s in zip(ids.tolist(), pooled.tolist()):
        out[index_of[i]] = s
    return out


def _in_sample_run(store: Store, settings) -> tuple[int, float]:
    from desktop.detect.crossval import _train, work_area, write_training_view
    from desktop.detect.detector import DetectParams
    from desktop.detect.jobs import DetectionRequest, run_detection

    t0 = time.perf_counter()
    ids = [im.id for im in store.images()]
    area = work_area(store) / "in-sample"
    data_yaml = write_training_view(store, area / "data", ids, ids)
    weights = _train(settings, data_yaml, area, "all", lambda: False, lambda ev: None, 0)
    run_id = store.create_run("in-sample", kind="model", model_path=str(weights), model_hash="in-sample",
                              params={"epochs": settings.epochs}, model_classes=[c.name for c in store.classes()],
                              class_map={c.idx: c.idx for c in store.classes()})
    request = DetectionRequest(run_id, str(weights), DetectParams(conf=0.05, imgsz=settings.imgsz),
                               {c.idx: c.idx for c in store.classes()}, tuple(ids), settings.device)
    for _ in run_detection(store, request):
        pass
    return run_id, time.perf_counter() - t0


def main() -> str:
    from desktop.detect.crossval import TrainSettings, crossval
    from desktop.detect.offline import configure_ultralytics

    if not (DATASETS / "bccd").is_dir():
        return "bccd not available: skipped"
    configure_ultralytics()
    ds = load_yolo("bccd")
    n = len(ds["paths"])
    l_img, l_cls, l_box, truth = plant(ds["l_img"], ds["l_cls"], ds["l_box"], ds["width"], ds["height"],
                                       np.arange(n), ds["nc"], share=0.06, seed=0)
    kinds = np.array([truth.get(i, "") for i in range(n)])
    settings = TrainSettings(folds=FOLDS, epochs=EPOCHS, imgsz=IMGSZ, batch=8, device="cpu")
    with tempfile.TemporaryDirectory(prefix="boxfix-cv-bench-") as tmp:
        store = _project(ds, l_img, l_cls, l_box, Path(tmp))
        index_of = {im.id: k for k, im in enumerate(store.images())}
        t0 = time.perf_counter()
        cv_run = None
        for ev in crossval(store, settings):
            cv_run = ev.extra.get("run_id", cv_run)
        cv_seconds = time.perf_counter() - t0
        in_run, in_seconds = _in_sample_run(store, settings)
        res_in = evaluate(_scores(store, in_run, index_of, n), kinds)
        res_cv = evaluate(_scores(store, cv_run, index_of, n), kinds)
        store.close()
    lines = [
        "# Cross-validation benchmark: in-sample vs out-of-sample predictions",
        "",
        f"Generated by `tests/benchmarks/bench_crossval.py` on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} CPUs. bccd ({n} images) with seeded mistakes planted in 6% of the images; "
        f"yolov8n from its yaml, {EPOCHS} epochs, imgsz {IMGSZ}, batch 8, CPU, for both runs. "
        "AP: average precision of BoxFix's image ranking; R@k%: planted images in the top k%.",
        "",
        "| kind | planted | AP in-sample | AP crossval | R@10% in-sample | R@10% crossval |",
        "|---|---|---|---|---|---|",
    ]
    for kind in (*PLANTED_KINDS, "overall"):
        if kind in res_in and kind in res_cv:
            a, b = res_in[kind], res_cv[kind]
            lines.append(f"| {kind} | {a[3]} | {a[0]:.3f} | {b[0]:.3f} | {a[2]:.2f} | {b[2]:.2f} |")
    lines += [
        "",
        f"Wall time: `boxfix crossval` with {FOLDS} folds (train {FOLDS} models + predict every image once): "
        f"{cv_seconds:.0f} s; the in-sample model (train once on everything + predict): {in_seconds:.0f} s.",
    ]
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    return text


def test_bench_crossval():
    print(main())


if __name__ == "__main__":
    print(main())
