"""Detection fixtures: a real tiny Ultralytics model (trained once, cached) and small
projects over generated images. The logic lives in tiny_model.py so UI and issue-finder
tests can import it too."""
from __future__ import annotations

import pytest

from .tiny_model import tiny_model_path, tiny_project


@pytest.fixture(scope="session")
def tiny_model():
    """Path to the cached tiny yolov8n weights (classes: 'box', 'ball')."""
    return tiny_model_path()


@pytest.fixture
def make_project(tmp_path):
    """make_project(class_names=('box', 'ball'), n=8) -> an open Store; closed after the test."""
    stores = []

    def make(class_names=("box", "ball"), n=8, name="p.boxfix"):
        store = tiny_project(tmp_path, class_names=class_names, n=n, name=name)
        stores.append(store)
        return store

    yield make
    for s in stores:
        s.close()
