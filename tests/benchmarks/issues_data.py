"""Benchmark helpers for the issue finder: read a shared YOLO dataset into column arrays,
train tiny out-of-fold detectors and cache their predictions under ~/.cache/boxfix-bench/.

Nothing here writes into the repository or into shared/: trained weights and predictions go
to the cache folder, ultralytics' run folders and settings go to a temp dir.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"
CACHE = Path(os.environ.get("BOXFIX_BENCH_CACHE", Path.home() / ".cache" / "boxfix-bench"))
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp"}

# Training budget per model, in seconds (ultralytics' `time` argument overrides epochs).
# From scratch on 2 shared CPU cores a model needs a few dozen epochs before it predicts
# anything, so the budget goes to ONE model per dataset (trained on fold 1, predicting fold
# 0) at a small image size, rather than to two weaker ones: 2 x 230 s stays under 8 minutes.
TRAIN_SECONDS = {"bccd": 220, "dsb2018": 220, "raccoon": 220}
IMGSZ = {"bccd": 160, "dsb2018": 160, "raccoon": 160}
PREDICT_FOLDS = (0,)  # folds whose images get predictions (1 model each)


def offline_ultralytics() -> None:
    """Keep ultralytics offline: no downloads, no pip, settings + font in a temp dir."""
    cfg = Path(tempfile.gettempdir()) / "boxfix-bench-yolo-config"
    cfg.mkdir(parents=True, exist_ok=True)
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (cfg / name).exists() and font.exists():
            shutil.copy(font, cfg / name)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    os.environ.setdefault("YOLO_VERBOSE", "False")


def load_yolo(name: str) -> dict:
    """Column arrays of a shared YOLO dataset: images (paths, width, height) and labels
    (image index, class, xyxy px)."""
    from PIL import Image

    root = DATASETS / name
    paths = sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    widths, heights, l_img, l_cls, l_box = [], [], [], [], []
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            w, h = im.size
        widths.append(w)
        heights.append(h)
        lab = root / "labels" / p.relative_to(root / "images").with_suffix(".txt")
        if not lab.exists():
            continue
        rows = [r.split() for r in lab.read_text().splitlines() if r.strip()]
        for r in rows:
            c, cx, cy, bw, bh = int(r[0]), *map(float, r[1:5])
            l_img.append(i)
            l_cls.append(c)
            l_box.append(((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
    import yaml

    names = yaml.safe_load((root / "data.yaml").read_text())["names"]
    return {
        "name": name,
        "paths": [str(p) for p in paths],
        "width": np.asarray(widths, float),
        "height": np.asarray(heights, float),
        "l_img": np.asarray(l_img, np.int64),
        "l_cls": np.asarray(l_cls, np.int64),
        "l_box": np.asarray(l_box, float).reshape(-1, 4),
        "nc": len(names),
    }


def folds(n_images: int, k: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_images) % k


def _train_fold(ds: dict, fold_of: np.ndarray, fold: int, work: Path) -> Path:
    """Train yolov8n from its yaml (no pretrained weights exist offline) on the images NOT in
    `fold`, with the dataset's original labels. Returns the cached weights path."""
    out = CACHE / ds["name"] / f"fold{fold}.pt"
    if out.exists():
        return out
    from ultralytics import YOLO

    train_list = work / f"{ds['name']}_train{fold}.txt"
    train_list.write_text("\n".join(p for p, f in zip(ds["paths"], fold_of) if f != fold) + "\n")
    data = work / f"{ds['name']}_{fold}.yaml"
    names = {i: str(i) for i in range(ds["nc"])}
    import yaml

    data.write_text(yaml.safe_dump({"path": str(work), "train": str(train_list), "val": str(train_list), "names": names}))
    model = YOLO("yolov8n.yaml")
    model.train(
        data=str(data), imgsz=IMGSZ[ds["name"]], epochs=200, time=TRAIN_SECONDS[ds["name"]] / 3600,
        batch=8, nbs=8, workers=0, device="cpu", val=False, plots=False, amp=False, project=str(work),
        name=f"{ds['name']}{fold}", exist_ok=True, verbose=False, seed=fold, deterministic=False,
        # Few minutes from scratch: one optimizer step per small batch (nbs=batch, not 64),
        # short warm-up, no mosaic (converges faster on a tiny dataset), images cached in RAM.
        optimizer="AdamW", lr0=0.003, warmup_epochs=0.5, mosaic=0.0, close_mosaic=0, patience=1000,
        cache="ram",
    )
    weights = work / f"{ds['name']}{fold}" / "weights" / "last.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(weights, out)
    return out


def out_of_fold_predictions(ds: dict, k: int = 2) -> dict:
    """Predictions for the images of PREDICT_FOLDS, each from the model that did not train on
    it (out-of-sample). Cached as npz; 'images' lists the predicted image indices."""
    cache = CACHE / ds["name"] / "predictions.npz"
    if cache.exists():
        z = np.load(cache)
        return {key: z[key] for key in z.files}
    offline_ultralytics()
    from ultralytics import YOLO

    fold_of = folds(len(ds["paths"]), k)
    p_img, p_cls, p_conf, p_box = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="boxfix-bench-") as tmp:
        for fold in PREDICT_FOLDS:
            t0 = time.time()
            weights = _train_fold(ds, fold_of, fold, Path(tmp))
            print(f"[prep] {ds['name']} fold {fold}: weights {weights} ({time.time() - t0:.0f} s)", flush=True)
            model = YOLO(str(weights))
            idx = np.flatnonzero(fold_of == fold)
            for start in range(0, len(idx), 32):
                chunk = idx[start:start + 32]
                results = model.predict([ds["paths"][i] for i in chunk], imgsz=IMGSZ[ds["name"]], conf=0.01,
                                        iou=0.6, max_det=600, device="cpu", verbose=False)
                for i, r in zip(chunk, results):
                    b = r.boxes
                    n = len(b)
                    p_img.append(np.full(n, i))
                    p_cls.append(b.cls.numpy().astype(np.int64))
                    p_conf.append(b.conf.numpy().astype(float))
                    p_box.append(b.xyxy.numpy().astype(float))
    out = {
        "images": np.flatnonzero(np.isin(fold_of, PREDICT_FOLDS)),
        "p_img": np.concatenate(p_img).astype(np.int64),
        "p_cls": np.concatenate(p_cls),
        "p_conf": np.concatenate(p_conf),
        "p_box": np.concatenate(p_box).reshape(-1, 4),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


if __name__ == "__main__":  # prepare the cache: python tests/benchmarks/issues_data.py bccd dsb2018
    import sys

    offline_ultralytics()
    for name in sys.argv[1:] or ["bccd", "dsb2018"]:
        d = load_yolo(name)
        t = time.time()
        p = out_of_fold_predictions(d)
        print(name, len(d["paths"]), "images", len(d["l_img"]), "labels", len(p["p_img"]), "predictions",
              f"{time.time() - t:.0f} s")
