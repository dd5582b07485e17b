"""A tiny real Ultralytics detector for tests, trained in seconds on generated images.

`tiny_dataset(dir)` draws 16 noisy 128x128 images with two classes (red "box" rectangles,
blue "ball" circles) and writes YOLO labels plus a data.yaml. `tiny_model_path()` trains
yolov8n (from ultralytics' shipped yaml, no download) on it for a couple of epochs on the CPU
and caches the weights under ~/.cache/boxfix-tests/, keyed by a hash of this file, so only
the first run of a changed fixture pays for training. The model is weak on purpose: tests
need a real model's code path, not good boxes, and use a low confidence floor.

The UI and issue-finder tests reuse this module: import `tiny_model_path`, `tiny_dataset`,
`tiny_project`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASS_NAMES = ("box", "ball")
N_IMAGES = 16
SIZE = 128
EPOCHS = 2
IMGSZ = 128


def _cache_dir() -> Path:
    base = Path(os.environ.get("BOXFIX_TEST_CACHE", Path.home() / ".cache" / "boxfix-tests"))
    base.mkdir(parents=True, exist_ok=True)
    return base


def _fixture_key() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def tiny_dataset(root: str | os.PathLike, n: int = N_IMAGES, seed: int = 0) -> Path:
    """Write images/NAME.png, labels/NAME.txt (YOLO) and data.yaml under root. Returns root.
    Each image holds 1-3 shapes; their labels are exact, so they are the ground truth."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        noise = rng.integers(90, 166, size=(SIZE, SIZE, 3), dtype=np.uint8)
        im = Image.fromarray(noise, "RGB")
        draw = ImageDraw.Draw(im)
        lines = []
        for _ in range(int(rng.integers(1, 4))):
            cls = int(rng.integers(0, 2))
            w, h = (int(v) for v in rng.integers(24, 56, size=2))
            if cls == 1:
                h = w  # a circle
            x0, y0 = int(rng.integers(0, SIZE - w)), int(rng.integers(0, SIZE - h))
            box = (x0, y0, x0 + w, y0 + h)
            if cls == 0:
                draw.rectangle(box, fill=(220, 30, 30))
            else:
                draw.ellipse(box, fill=(30, 60, 220))
            cx, cy = (x0 + w / 2) / SIZE, (y0 + h / 2) / SIZE
            lines.append(f"{cls} {cx:.6f} {cy:.6f} {w / SIZE:.6f} {h / SIZE:.6f}")
        im.save(root / "images" / f"im{i:03d}.png")
        (root / "labels" / f"im{i:03d}.txt").write_text("\n".join(lines) + "\n")
    names = "\n".join(f"  {k}: {v}" for k, v in enumerate(CLASS_NAMES))
    (root / "data.yaml").write_text(f"path: {root.resolve()}\ntrain: images\nval: images\nnames:\n{names}\n")
    return root


def read_yolo_labels(root: Path, name: str) -> list[tuple[int, float, float, float, float]]:
    """(cls, x0, y0, x1, y1) in pixels for one tiny-dataset image."""
    out = []
    for line in (Path(root) / "labels" / f"{name}.txt").read_text().split("\n"):
        if line.strip():
            c, cx, cy, w, h = line.split()
            cx, cy, w, h = (float(v) * SIZE for v in (cx, cy, w, h))
            out.append((int(c), cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return out


def tiny_model_path() -> Path:
    """Weights of a yolov8n trained briefly on tiny_dataset; trained once per fixture version."""
    target = _cache_dir() / f"tiny-yolov8n-{_fixture_key()}.pt"
    if target.exists():
        return target
    from desktop.detect.offline import import_ultralytics

    import_ultralytics()
    from ultralytics import YOLO

    work = Path(tempfile.mkdtemp(prefix="boxfix-tiny-"))
    try:
        tiny_dataset(work / "data")
        model = YOLO("yolov8n.yaml")
        model.train(data=str(work / "data" / "data.yaml"), epochs=EPOCHS, imgsz=IMGSZ, batch=8, device="cpu",
                    workers=0, plots=False, val=False, amp=False, project=str(work / "runs"), name="tiny",
                    exist_ok=True, verbose=False, seed=0, deterministic=False, mosaic=0.0)
        best = work / "runs" / "tiny" / "weights" / "last.pt"
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(best, tmp)
        os.replace(tmp, target)  # atomic: a parallel test session never reads half a file
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def tiny_project(tmp_path: Path, class_names=CLASS_NAMES, n: int = 8, name: str = "p.boxfix"):
    """A project (Store) over n tiny-dataset images, built directly from ImageRecords.
    class_names sets the PROJECT's classes (index i -> class_names[i]); labels keep the
    dataset's indices, so pass names of length >= 2."""
    from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord
    from desktop.core.store import Store

    root = tiny_dataset(Path(tmp_path) / "ds", n=n)
    recs = []
    for p in sorted((root / "images").glob("*.png")):
        labels = tuple(LabelRecord(Box(x0, y0, x1, y1), c) for c, x0, y0, x1, y1 in read_yolo_labels(root, p.stem))
        recs.append(ImageRecord(f"images/{p.name}", SIZE, SIZE, labels=labels))
    store = Store.create(Path(tmp_path) / name, root)
    store.import_dataset(DatasetRead(str(root), "yolo", [ClassInfo(i, c) for i, c in enumerate(class_names)],
                                     iter(recs)))
    return store
