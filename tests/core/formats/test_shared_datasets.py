"""Every reader on the four real datasets in ../shared/datasets (skipped when absent)."""
from __future__ import annotations

import json

import pytest

from desktop.core.formats import read_dataset
from tests.conftest import shared_dataset

from .helpers import same_boxes

DATASETS = ("bccd", "raccoon", "coco128", "dsb2018")


def _counts(name):
    doc = json.loads((shared_dataset(name) / "annotations.coco.json").read_text())
    return len(doc["images"]), len(doc["annotations"])


@pytest.mark.parametrize("name", DATASETS)
def test_yolo_reader_on_shared(name):
    read = read_dataset(shared_dataset(name))
    assert read.format == "yolo"
    recs = list(read.images)
    n_images, n_boxes = _counts(name)
    assert len(recs) == n_images
    assert sum(len(r.labels) for r in recs) == n_boxes
    assert all(r.error is None and r.width > 0 for r in recs)
    assert not [p for p in read.problems if p.severity == "error"]


@pytest.mark.parametrize("name", DATASETS)
def test_coco_reader_agrees_with_yolo_reader(name):
    root = shared_dataset(name)
    coco = {r.path: r for r in read_dataset(root / "annotations.coco.json").images}
    yolo = {r.path.removeprefix("images/"): r for r in read_dataset(root).images}
    assert coco.keys() == yolo.keys()
    for path, c in coco.items():
        y = yolo[path]
        assert (c.width, c.height) == (y.width, y.height)
        cb = sorted((lab.cls, *lab.box.as_tuple()) for lab in c.labels)
        yb = sorted((lab.cls, *lab.box.as_tuple()) for lab in y.labels)
        # YOLO files hold 6 decimals of a fraction: agreement to well under a pixel
        assert same_boxes(cb, yb, tol=0.01), path


def test_original_coco128_json_keeps_real_category_ids_and_crowds():
    read = read_dataset(shared_dataset("coco128") / "instances_train2017_first128.json")
    recs = list(read.images)
    ids = {c.source_id for c in read.classes}
    assert 90 in ids and 12 not in ids and 1 in ids  # 1..90 with gaps
    assert sum(lab.iscrowd for r in recs for lab in r.labels) == 10
    assert all(r.source_id is not None for r in recs)


@pytest.mark.parametrize("name", ["bccd", "raccoon"])
def test_voc_reader_on_shared(name):
    root = shared_dataset(name)
    voc = {r.path: r for r in read_dataset(root / "voc_annotations", "voc").images}
    yolo = {r.path: r for r in read_dataset(root).images}
    assert voc.keys() == yolo.keys()
    for path, v in voc.items():
        # The shared YOLO/COCO files were converted with x0 = xmin; BoxFix reads VOC's
        # 1-based inclusive pixels as x0 = xmin - 1: one pixel apart at the top-left only.
        vb = sorted((lab.cls, b.x0 + 1, b.y0 + 1, b.x1, b.y1) for lab in v.labels for b in [lab.box])
        yb = sorted((lab.cls, *lab.box.as_tuple()) for lab in yolo[path].labels)
        assert same_boxes(vb, yb, tol=0.01), path
