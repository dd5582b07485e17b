"""The demo project: generate the demo dataset, import it, predict it with the bundled model,
score it. Shared by `boxfix demo` (window), `boxfix demo --headless` and `boxfix demo --check`.

Everything lives in BoxFix's data folder (data_dir()/demo), never in the working directory.
"""
from __future__ import annotations

import json
from pathlib import Path

from desktop.core.paths import data_dir, resources_dir

DEMO_MODEL = "demo_model.pt"


def demo_dir() -> Path:
    return data_dir() / "demo"


def demo_project_path() -> Path:
    return demo_dir() / "demo.boxfix"


def demo_model_path() -> Path:
    return resources_dir() / DEMO_MODEL


def demo_model_imgsz(default: int = 320) -> int:
    """The image size the bundled model was trained at (written beside it by the training script)."""
    meta = resources_dir() / "demo_model.json"
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        return default
    for key in ("imgsz", "image_size"):
        if isinstance(info.get(key), int):
            return info[key]
        if isinstance(info.get("training", {}).get(key), int):
            return info["training"][key]
    return default


def prepare_demo_project(reset: bool = False, say=print) -> Path:
    """Generate the dataset (seeded, idempotent) and import it into the demo project, unless a
    complete demo project is already there. Returns the project path."""
    from desktop.core.formats import read_dataset
    from desktop.core.store import ProjectError, Store
    from desktop.demo.generate import generate_demo_dataset

    root = generate_demo_dataset(demo_dir())
    project = demo_project_path()
    if project.exists() and not reset:
        try:
            Store.open(project).close()
            return project
        except ProjectError:
            pass  # half-made or broken: rebuild it below
    say(f"importing the demo dataset from {root}")
    read = read_dataset(root, "yolo")
    store = Store.create(project, root, name="BoxFix demo", overwrite=True)
    try:
        store.import_dataset(read)
    finally:
        store.close()
    return project


def predict_demo(store, say=print) -> int:
    """Run the bundled model over every image not yet predicted (a cache hit costs nothing).
    Returns the run id."""
    from desktop.detect.detector import DetectParams
    from desktop.detect.jobs import run_detection
    from desktop.detect.runner import prepare_request

    params = DetectParams(imgsz=demo_model_imgsz())
    request = prepare_request(store, str(demo_model_path()), params=params, device="auto")
    for _ in run_detection(store, request):
        pass
    return request.run_id


def run_headless(reset: bool = False, say=print) -> dict:
    """The whole demo without a window: returns the issue summary and the planted-mistake check."""
    from desktop.core.rescoring import rescore
    from desktop.core.store import Store

    project = prepare_demo_project(reset=reset, say=say)
    store = Store.open(project)
    try:
        run_id = predict_demo(store, say=say)
        rescore(store, run_id=run_id)
        store.set_meta("issues_run", str(run_id))
        summary = store.issue_summary()
        return {"project": str(project), "run_id": run_id, "issues": summary, "check": check(store)}
    finally:
        store.close()


def check(store) -> dict:
    from desktop.demo.check import check_progress
    from desktop.demo.generate import manifest_path_for

    return check_progress(store, manifest_path_for(store.dataset_root))
