"""Test-wide set-up: offscreen Qt, offline ultralytics, and BoxFix data/config folders in a
per-session temp dir so tests never touch the user's home or each other's settings."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="boxfix-tests-"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["BOXFIX_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["BOXFIX_CONFIG_DIR"] = str(_SESSION_DIR / "config")
os.environ["YOLO_OFFLINE"] = "1"
os.environ["YOLO_AUTOINSTALL"] = "0"
os.environ["YOLO_CONFIG_DIR"] = str(_SESSION_DIR / "data" / "ultralytics")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"


def shared_dataset(name: str) -> Path:
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"shared dataset {name} not available at {path}")
    return path


@pytest.fixture
def shared():
    return shared_dataset
