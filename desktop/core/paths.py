"""Where BoxFix keeps its own files. Overridable by environment so tests and CI never touch
the user's home: BOXFIX_DATA_DIR, BOXFIX_CONFIG_DIR."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    env = os.environ.get("BOXFIX_DATA_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "boxfix"
    base.mkdir(parents=True, exist_ok=True)
    return base


def config_dir() -> Path:
    env = os.environ.get("BOXFIX_CONFIG_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "boxfix"
    base.mkdir(parents=True, exist_ok=True)
    return base


def resources_dir() -> Path:
    """The shipped resources folder (keymap, demo model, icons). Found next to the package
    in a checkout, or inside the package when installed (see pyproject's package-data)."""
    from importlib import resources

    try:
        packaged = Path(str(resources.files("desktop") / "resources"))
        if packaged.is_dir():
            return packaged
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "resources"
