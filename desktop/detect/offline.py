"""Make ultralytics run fully offline and quietly, before it is first imported.

Ultralytics reads its settings at import time: YOLO_OFFLINE stops hub/GitHub calls,
YOLO_AUTOINSTALL=0 stops pip installs, YOLO_CONFIG_DIR moves its settings.json (and the
font it would otherwise download for plots) into BoxFix's own data folder. We copy
matplotlib's DejaVuSans.ttf there under the names ultralytics looks for.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from desktop.core.paths import data_dir

_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
_done: Path | None = None


def ultralytics_config_dir() -> Path:
    return data_dir() / "ultralytics"


def configure_ultralytics() -> Path:
    """Idempotent. Call before `import ultralytics` (detector, crossval, demo training)."""
    global _done
    cfg = ultralytics_config_dir()
    if _done == cfg:
        return cfg
    cfg.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    os.environ.setdefault("YOLO_VERBOSE", "False")
    _copy_font(cfg)
    _keep_qt_environment()
    _done = cfg
    return cfg


def _copy_font(cfg: Path) -> None:
    missing = [n for n in _FONT_NAMES if not (cfg / n).exists()]
    if not missing:
        return
    try:
        import matplotlib

        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    except Exception:  # matplotlib absent: ultralytics only needs the font for plots, which we disable
        return
    for name in missing:
        if src.exists():
            shutil.copyfile(src, cfg / name)


def _keep_qt_environment() -> None:
    """opencv-python (pulled in by ultralytics) sets QT_QPA_PLATFORM_PLUGIN_PATH / QT_PLUGIN_PATH
    to its own Qt plugins on import; PySide6 would then load the wrong plugins and crash.
    We remember our values now and restore them after cv2 is imported (see restore_qt_env)."""
    global _qt_env
    _qt_env = {k: os.environ.get(k) for k in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH", "QT_QPA_FONTDIR")}


_qt_env: dict[str, str | None] = {}


def restore_qt_env() -> None:
    for key, value in _qt_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def import_ultralytics():
    """Import ultralytics with the offline settings in force and Qt's environment kept ours."""
    configure_ultralytics()
    import ultralytics  # noqa: F401  (heavy; imported lazily, only here)

    restore_qt_env()
    _keep_gc_state()
    return ultralytics


def _keep_gc_state() -> None:
    """ultralytics' load_dataset_cache_file() ends with gc.enable(), whatever the state was.
    The window switches automatic GC off (desktop/ui/gc_guard.py: a collection in a training
    thread that meets Qt garbage deadlocks), so BoxFix loads the cache without touching GC."""
    from ultralytics.data import dataset as data_dataset
    from ultralytics.data import utils as data_utils

    original = data_utils.load_dataset_cache_file
    if getattr(original, "_boxfix_keeps_gc", False):
        return

    def load_dataset_cache_file(path):
        # ultralytics' version is exactly this between gc.disable() and gc.enable(). Never
        # toggling the collector matters: re-enabling it, even for a moment, let the next
        # allocation in the training thread run a collection that deadlocked on Qt garbage.
        import numpy as np

        return np.load(str(path), allow_pickle=True).item()

    load_dataset_cache_file._boxfix_keeps_gc = True
    _gc_on_main_thread_only()
    data_utils.load_dataset_cache_file = load_dataset_cache_file
    if hasattr(data_dataset, "load_dataset_cache_file"):
        data_dataset.load_dataset_cache_file = load_dataset_cache_file


class _MainThreadGC:
    """Stands in for the `gc` module inside ultralytics: its explicit gc.collect() calls
    (trainer._clear_memory, torch_utils) run in BoxFix's training/detection threads, and a
    collection there that reaches Qt garbage deadlocks against the GUI thread. Off the main
    thread, collect() does nothing (the GUI thread's collector, desktop/ui/gc_guard.py, does
    it); everything else is the real gc module."""

    def __getattr__(self, name):
        import gc

        return getattr(gc, name)

    def collect(self, generation: int = 2) -> int:
        import gc
        import threading

        if threading.current_thread() is threading.main_thread():
            return gc.collect(generation)
        return 0


def _gc_on_main_thread_only() -> None:
    import gc
    import importlib

    shim = _MainThreadGC()
    for name in ("ultralytics.engine.trainer", "ultralytics.utils.torch_utils"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "gc", None) is gc:
            module.gc = shim
