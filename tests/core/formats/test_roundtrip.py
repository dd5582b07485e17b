"""import(export(import(X))) == import(X), box for box, for YOLO and COCO on every shared
dataset; and the exports are accepted by the tools that train and evaluate on them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.core.formats.export import ExportOptions, export_project
from tests.conftest import shared_dataset

from .helpers import boxes_by_path, project, same_boxes

DATASETS = ("bccd", "raccoon", "coco128", "dsb2018")


def _source(name: str, fmt: str):
    root = shared_dataset(name)
    return root if fmt == "yolo" else root / "annotations.coco.json"


def _key(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
@pytest.mark.parametrize("name", DATASETS)
def test_round_trip_box_for_box(tmp_path, name, fmt):
    first, _ = project(_source(name, fmt), tmp_path, fmt, "first.boxfix")
    res = export_project(first, fmt, tmp_path / "out", ExportOptions(images="link"))
    assert not res.problems
    src = tmp_path / "out" if fmt == "yolo" else tmp_path / "out" / res.files[0]
    second, _ = project(src, tmp_path, fmt, "second.boxfix")
    a = {_key(p): v for p, v in boxes_by_path(first).items()}
    b = {_key(p): v for p, v in boxes_by_path(second).items()}
    assert a.keys() == b.keys()
    for k in a:
        assert same_boxes(a[k], b[k], tol=1e-6), k
    assert [(c.idx, c.name) for c in first.classes()] == [(c.idx, c.name) for c in second.classes()]
    if fmt == "coco":
        assert [c.source_id for c in first.classes()] == [c.source_id for c in second.classes()]
        ids = lambda s: sorted((im.source_id, sorted(lab.source_id for lab in s.labels(im.id))) for im in s.images())  # noqa: E731
        assert ids(first) == ids(second)
    sizes = lambda s: {_key(im.path): (im.width, im.height) for im in s.images()}  # noqa: E731
    assert sizes(first) == sizes(second)
    first.close()
    second.close()


def test_original_coco_json_round_trip_keeps_crowds_and_ids(tmp_path):
    src = shared_dataset("coco128") / "instances_train2017_first128.json"
    first, _ = project(src, tmp_path, "coco", "first.boxfix")
    res = export_project(first, "coco", tmp_path / "out")
    second, _ = project(tmp_path / "out" / res.files[0], tmp_path, "coco", "second.boxfix")
    assert boxes_by_path(first).keys() == boxes_by_path(second).keys()
    a, b = boxes_by_path(first), boxes_by_path(second)
    assert all(same_boxes(a[k], b[k], 1e-6) for k in a)
    assert sum(lab[-1] for v in b.values() for lab in v) == 10  # iscrowd survives
    doc = json.loads((tmp_path / "out" / res.files[0]).read_text())
    orig = json.loads(src.read_text())
    assert sorted(a["id"] for a in doc["annotations"]) == sorted(a["id"] for a in orig["annotations"])
    assert {c["id"] for c in doc["categories"]} == {c["id"] for c in orig["categories"]}
    first.close()
    second.close()


@pytest.mark.parametrize("name,mode", [(n, "copy") for n in DATASETS] + [("raccoon", "list"), ("coco128", "list")])
def test_exported_yolo_is_accepted_by_ultralytics(tmp_path, name, mode):
    from desktop.detect.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    store, _ = project(shared_dataset(name), tmp_path)
    res = export_project(store, "yolo", tmp_path / "out", ExportOptions(images="link" if mode == "copy" else "list"))
    n_images, n_labels = store.image_count(), store.label_count()
    store.close()
    data = check_det_dataset(str(tmp_path / "out" / "data.yaml"))
    ds = YOLODataset(img_path=data["train"], data=data, task="detect", augment=False, imgsz=64, cache=False)
    assert len(ds.im_files) == n_images == res.images  # no image skipped
    assert sum(len(lb["cls"]) for lb in ds.labels) == n_labels == res.labels  # no label dropped
    cache = np.load(str(next((tmp_path / "out" / "labels").glob("*.cache"))), allow_pickle=True).item()
    nf, nm, ne, nc, total = cache["results"]
    assert nc == 0 and total == n_images and cache["msgs"] == []


@pytest.mark.parametrize("name", DATASETS)
def test_exported_coco_loads_in_pycocotools_and_evaluates(tmp_path, name, capsys):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    store, _ = project(shared_dataset(name), tmp_path)
    res = export_project(store, "coco", tmp_path / "out")
    store.close()
    gt = COCO(str(tmp_path / "out" / res.files[0]))
    assert len(gt.getImgIds()) == res.images and len(gt.getAnnIds()) == res.labels
    # The labels themselves as detections with score 1: a perfect detector, AP must be 1.
    # Zero-area boxes (bccd has some) have no IoU with anything, themselves included: they are
    # marked crowd (ignored) for this check only.
    for a in gt.loadAnns(gt.getAnnIds()):
        if a["bbox"][2] <= 0 or a["bbox"][3] <= 0:
            a["iscrowd"] = 1
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
            for a in gt.loadAnns(gt.getAnnIds()) if not a["iscrowd"]]
    ev = COCOeval(gt, gt.loadRes(dets), "bbox")
    ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]  # one range: every box
    ev.params.maxDets = [1, 10, 1000]  # dsb2018 has up to 375 boxes in one image
    ev.evaluate()
    ev.accumulate()
    precision = ev.eval["precision"][:, :, :, 0, -1]  # IoU 0.5:0.95, every recall, class; all areas, 1000 dets
    assert precision.size and precision[precision > -1].mean() == pytest.approx(1.0, abs=1e-6)  # AP@[.5:.95]
