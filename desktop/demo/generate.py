"""Generate the demo dataset (with planted mistakes) and clean sets for training the model.

Layout written by `generate_demo_dataset(dest_dir)`:

    dest_dir/
      demo_truth.json          manifest: clean truth + planted mistakes (see plant.py)
      dataset/                 the YOLO dataset BoxFix imports (returned path)
        data.yaml
        images/{train,val}/bench_NNNN.jpg
        labels/{train,val}/bench_NNNN.txt

Image i is drawn from `numpy.random.default_rng([seed, i])`, so image i is the same whatever
n_images is, and the same seed gives byte-identical files. Every 5th image is in `val`.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from . import GENERATOR_VERSION
from .plant import MANIFEST_NAME, DemoImage, plant, write_dataset
from .scene import HEIGHT, WIDTH, render_scene

DATASET_DIRNAME = "dataset"
DEFAULT_SEED = 0
DEFAULT_N_IMAGES = 200
_PLANT_STREAM = 1_000_003  # the planting draws from its own stream, apart from the drawing
_CLEAN_MARKER = ".boxfix-demo-clean.json"


def manifest_path_for(dataset_root: str | os.PathLike) -> Path:
    """Where the manifest of a demo dataset lives: beside the dataset folder."""
    return Path(dataset_root).parent / MANIFEST_NAME


def _images(seed: int, n: int, prefix: str) -> list[DemoImage]:
    out = []
    for i in range(n):
        scene = render_scene(np.random.default_rng([seed, i]))
        split = "val" if i % 5 == 4 else "train"
        out.append(DemoImage(f"images/{split}/{prefix}_{i:04d}.jpg", split, scene, [(o.cls, o.box) for o in scene.objects]))
    return out


def _demo_is_current(dest: Path, seed: int, n_images: int) -> bool:
    manifest = dest / MANIFEST_NAME
    root = dest / DATASET_DIRNAME
    try:
        m = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    if (m.get("generator_version"), m.get("seed"), m.get("n_images")) != (GENERATOR_VERSION, seed, n_images):
        return False
    if not (root / "data.yaml").is_file():
        return False
    for rel in m.get("images", {}):
        label = root / ("labels/" + rel.split("/", 1)[1].rsplit(".", 1)[0] + ".txt")
        if not (root / rel).is_file() or not label.is_file():
            return False
    return True


def generate_demo_dataset(dest_dir: str | os.PathLike, seed: int = DEFAULT_SEED, n_images: int = DEFAULT_N_IMAGES) -> Path:
    """Write the demo dataset under `dest_dir` and return its root (the folder holding
    data.yaml). Does nothing when a complete dataset of this generator version, seed and size
    is already there. Written into a temporary folder and moved into place, manifest last,
    so that an interrupted run never looks complete."""
    dest = Path(dest_dir)
    root = dest / DATASET_DIRNAME
    if _demo_is_current(dest, seed, n_images):
        return root
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".demo-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    images = _images(seed, n_images, "bench")
    images, mistakes = plant(images, np.random.default_rng([seed, _PLANT_STREAM]), WIDTH, HEIGHT)
    meta = {"seed": seed, "n_images": n_images}
    write_dataset(tmp / DATASET_DIRNAME, images, mistakes, meta)
    (dest / MANIFEST_NAME).unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    (tmp / DATASET_DIRNAME).rename(root)
    (tmp / MANIFEST_NAME).rename(dest / MANIFEST_NAME)
    shutil.rmtree(tmp, ignore_errors=True)
    return root


def generate_clean_training_set(dest_dir: str | os.PathLike, seed: int, n: int) -> Path:
    """Write `n` clean images (no planted mistakes, no manifest) as a YOLO dataset in
    `dest_dir` and return it. Use a seed other than the demo's so that the bundled model
    never sees a demo image. Idempotent like `generate_demo_dataset`."""
    root = Path(dest_dir)
    marker = root / _CLEAN_MARKER
    want = {"generator_version": GENERATOR_VERSION, "seed": seed, "n": n}
    try:
        if json.loads(marker.read_text()) == want and (root / "data.yaml").is_file():
            return root
    except (OSError, ValueError):
        pass
    for sub in ("images", "labels"):
        shutil.rmtree(root / sub, ignore_errors=True)
    write_dataset(root, _images(seed, n, "train"), None, {})
    marker.write_text(json.dumps(want))
    return root
