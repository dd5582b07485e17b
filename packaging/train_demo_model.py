#!/usr/bin/env python3
"""Train the small detector bundled with the BoxFix demo: resources/demo_model.pt (+ .json).

What it does
  1. Draws a clean training set (seed 1, no planted mistakes) and a held-out set (seed 2)
     with desktop.demo.generate. The demo dataset itself uses seed 0, so the model never sees
     a demo image and its predictions on the demo are out-of-sample.
  2. Trains an Ultralytics YOLOv8 detector from scratch (no pretrained weights exist offline)
     from packaging/demo_model.yaml, a YOLOv8-n layout for the 3 demo classes, on the CPU.
  3. Measures mAP50, mAP50-95, precision and recall on the held-out images, copies the final
     weights (ultralytics strips the optimizer and stores fp16 at the end of training) to
     resources/demo_model.pt, checks it is <= 10 MB, and writes resources/demo_model.json
     with the accuracy, the settings, the versions and the date.

Reproducible: fixed seeds for the data and for training (`seed`, `deterministic=True`),
workers=0. On another CPU or torch version the weights may differ in the last bits; the
accuracy should not move by more than a point or two.

Offline: YOLO_OFFLINE=1, YOLO_AUTOINSTALL=0 and YOLO_CONFIG_DIR inside the work folder with
matplotlib's DejaVuSans copied as Arial.ttf / Arial.Unicode.ttf, plots=False, and the model
is built from a yaml, so ultralytics has nothing to download.

Usage (about 15 minutes on 2 CPU cores with the defaults):
    .venv/bin/python packaging/train_demo_model.py
    .venv/bin/python packaging/train_demo_model.py --epochs 2 --n-train 64 --out /tmp/m  # smoke test
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop.demo import CLASS_NAMES  # noqa: E402
from desktop.demo.generate import generate_clean_training_set  # noqa: E402

TRAIN_SEED, HELDOUT_SEED = 1, 2  # the demo dataset is seed 0
MAX_BYTES = 10 * 1024 * 1024


def configure_offline(work: Path) -> None:
    """Must run before ultralytics is imported: it reads these at import time."""
    cfg = work / "yolo_config"
    cfg.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (cfg / name).exists():
            shutil.copyfile(font, cfg / name)


def heldout_yaml(root: Path) -> Path:
    """Evaluate on every held-out image, train and val folders alike."""
    import yaml

    p = root / "heldout.yaml"
    p.write_text(yaml.safe_dump({"path": str(root), "train": "images/train", "val": ["images/train", "images/val"],
                                 "names": dict(enumerate(CLASS_NAMES))}, sort_keys=False))
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--n-train", type=int, default=320, help="clean training images (80%% train, 20%% val)")
    ap.add_argument("--n-heldout", type=int, default=150)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--model-yaml", default=str(REPO / "packaging" / "demo_model.yaml"))
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--work", default=str(REPO / "build" / "demo_model"), help="scratch folder (data, runs)")
    ap.add_argument("--out", default=str(REPO / "resources"), help="where demo_model.pt/.json go")
    args = ap.parse_args(argv)

    work = Path(args.work).resolve()
    out = Path(args.out).resolve()
    configure_offline(work)
    t0 = time.time()
    train_root = generate_clean_training_set(work / "train_data", TRAIN_SEED, args.n_train)
    held_root = generate_clean_training_set(work / "heldout_data", HELDOUT_SEED, args.n_heldout)
    print(f"data ready in {time.time() - t0:.1f}s", flush=True)

    import torch
    import ultralytics
    from ultralytics import YOLO

    settings = dict(
        data=str(train_root / "data.yaml"), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
        device="cpu", workers=0, seed=args.seed, deterministic=True, plots=False, pretrained=False,
        amp=False, cache=False, project=str(work / "runs"), name="train", exist_ok=True, verbose=False,
        patience=0, close_mosaic=max(1, args.epochs // 5),
        # nbs = batch: one optimizer step per batch. The default (64) accumulates 4 batches
        # of 16, leaving a short CPU schedule with too few steps to learn from scratch.
        nbs=args.batch,
        val=False,  # the held-out evaluation below is the one that counts; saves CPU
    )
    model = YOLO(args.model_yaml)
    t1 = time.time()
    model.train(**settings)
    train_s = time.time() - t1
    best = Path(model.trainer.best)
    weights = best if best.exists() else Path(model.trainer.last)

    evaluated = YOLO(str(weights))
    metrics = evaluated.val(data=str(heldout_yaml(held_root)), imgsz=args.imgsz, batch=args.batch, device="cpu",
                            workers=0, plots=False, project=str(work / "runs"), name="heldout", exist_ok=True, verbose=False)
    box = metrics.box
    per_class = {CLASS_NAMES[int(c)]: round(float(ap50), 4) for c, ap50 in zip(box.ap_class_index, box.ap50)}

    out.mkdir(parents=True, exist_ok=True)
    dst = out / "demo_model.pt"
    shutil.copyfile(weights, dst)
    size = dst.stat().st_size
    if size > MAX_BYTES:
        print(f"error: {dst} is {size / 1e6:.1f} MB, over the 10 MB limit", file=sys.stderr)
        return 1
    report = {
        "model": "demo_model.pt",
        "classes": list(CLASS_NAMES),
        "bytes": size,
        "sha256": hashlib.sha256(dst.read_bytes()).hexdigest(),
        "heldout": {
            "images": args.n_heldout, "seed": HELDOUT_SEED,
            "mAP50": round(float(box.map50), 4), "mAP50-95": round(float(box.map), 4),
            "precision": round(float(box.mp), 4), "recall": round(float(box.mr), 4),
            "mAP50_per_class": per_class,
        },
        "training": {
            "script": "packaging/train_demo_model.py",
            "architecture": Path(args.model_yaml).name, "from_scratch": True,
            "train_images": args.n_train, "train_seed": TRAIN_SEED, "demo_seed": 0,
            "epochs": args.epochs, "imgsz": args.imgsz, "batch": args.batch, "seed": args.seed,
            "deterministic": True, "device": "cpu", "threads": torch.get_num_threads(),
            "seconds": round(train_s), "weights_from": weights.name,
        },
        "versions": {"ultralytics": ultralytics.__version__, "torch": torch.__version__, "python": sys.version.split()[0]},
        "date": _dt.date.today().isoformat(),
    }
    (out / "demo_model.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
