"""YOLO and COCO export: options, determinism, safety, atomic replacement."""
from __future__ import annotations

import json
import os

import pytest

from desktop.core import edits
from desktop.core.formats import read_dataset
from desktop.core.formats.export import ExportError, ExportOptions, export_project, image_tail, safe_parts
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord, ReviewStatus
from desktop.core.store import Store

from .helpers import make_image, project, write, yolo_dataset


@pytest.fixture
def store(tmp_path):
    yolo_dataset(tmp_path / "ds", images={"train/a.jpg": (100, 50, "0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.1 0.1\n"),
                                          "train/empty.jpg": (20, 20, None),
                                          "val/b.png": (40, 40, "1 0.5 0.5 0.5 0.5\n")})
    s, _ = project(tmp_path / "ds", tmp_path)
    yield s
    s.close()


def _tree(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def test_yolo_layout_and_empty_txt_only_for_reviewed(tmp_path, store):
    out = tmp_path / "out"
    res = export_project(store, "yolo", out)
    assert (res.images, res.labels) == (3, 3)
    assert _tree(out) == [".boxfix-export", "data.yaml", "images/train/a.jpg", "images/train/empty.jpg",
                          "images/val/b.png", "labels/train/a.txt", "labels/val/b.txt"]
    assert (out / "labels/train/a.txt").read_text() == "0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.1 0.1\n"
    empty = store.image_by_path("images/train/empty.jpg")
    store.apply_edit(edits.set_status(empty.id, ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED))
    export_project(store, "yolo", out)
    assert (out / "labels/train/empty.txt").read_text() == ""
    data = (out / "data.yaml").read_text()
    assert "train: images/train\nval: images/val\nnames:\n  0: \"cat\"\n  1: \"dog\"\n" in data


def test_deterministic_byte_identical(tmp_path, store):
    for fmt in ("yolo", "coco"):
        export_project(store, fmt, tmp_path / f"{fmt}1")
        export_project(store, fmt, tmp_path / f"{fmt}2")
        files = _tree(tmp_path / f"{fmt}1")
        assert files == _tree(tmp_path / f"{fmt}2")
        for f in files:
            assert (tmp_path / f"{fmt}1" / f).read_bytes() == (tmp_path / f"{fmt}2" / f).read_bytes(), f


def test_reviewed_only_and_original_labels(tmp_path, store):
    a = store.image_by_path("images/train/a.jpg")
    lab = store.labels(a.id)[0]
    store.apply_edit(edits.set_geometry(store.label_rows([lab.id])[0], Box(0, 0, 50, 25)))
    store.apply_edit(edits.set_status(a.id, ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED))
    res = export_project(store, "yolo", tmp_path / "r", ExportOptions(reviewed_only=True))
    assert res.images == 1 and _tree(tmp_path / "r")[2:] == ["images/train/a.jpg", "labels/train/a.txt"]
    assert (tmp_path / "r/labels/train/a.txt").read_text().splitlines()[0] == "0 0.25 0.25 0.5 0.5"
    export_project(store, "yolo", tmp_path / "o", ExportOptions(original=True))
    assert (tmp_path / "o/labels/train/a.txt").read_text().splitlines()[0] == "0 0.5 0.5 0.2 0.2"


def test_stale_cache_is_removed_and_foreign_folders_are_refused(tmp_path, store):
    out = tmp_path / "out"
    export_project(store, "yolo", out)
    write(out / "labels" / "train.cache", b"stale")
    export_project(store, "yolo", out)
    assert not list(out.rglob("*.cache"))
    other = tmp_path / "mine"
    write(other / "thesis.tex", "do not delete")
    with pytest.raises(ExportError, match="not empty"):
        export_project(store, "coco", other)
    assert (other / "thesis.tex").read_text() == "do not delete"
    assert sorted(p.name for p in tmp_path.iterdir() if ".boxfix-tmp-" in p.name) == []


def test_link_and_list_modes(tmp_path, store):
    export_project(store, "yolo", tmp_path / "l", ExportOptions(images="link"))
    src = store.dataset_root / "images/train/a.jpg"
    assert os.path.samefile(tmp_path / "l/images/train/a.jpg", src)
    export_project(store, "yolo", tmp_path / "s", ExportOptions(images="list"))
    assert (tmp_path / "s/images/train/a.jpg").is_symlink()
    assert "train: train.txt" in (tmp_path / "s/data.yaml").read_text()
    assert (tmp_path / "s/train.txt").read_text().splitlines() == ["./images/train/a.jpg", "./images/train/empty.jpg"]
    with pytest.raises(ExportError, match="unknown --images"):
        export_project(store, "yolo", tmp_path / "x", ExportOptions(images="teleport"))


def test_hostile_names_never_escape(tmp_path):
    """Project paths with '..', absolute paths, backslashes and control characters (all
    pointing at real files inside the dataset) are exported inside the chosen folder only."""
    ds = tmp_path / "ds"
    a = make_image(ds / "images" / "a.jpg", 10, 10)
    make_image(ds / "images" / "..\\..\\evil.jpg", 10, 10, fmt="JPEG")
    make_image(ds / "images" / "ctl\nname.jpg", 10, 10, fmt="JPEG")
    paths = ["../ds/images/a.jpg", "images/../../ds/images/a.jpg", str(a), "images/..\\..\\evil.jpg",
             "images/ctl\nname.jpg"]
    store = Store.create(tmp_path / "p.boxfix", ds)
    recs = [ImageRecord(p, 10, 10, labels=(LabelRecord(Box(1, 1, 5, 5), 0),)) for p in paths]
    store.import_dataset(DatasetRead(str(ds), "yolo", [ClassInfo(0, "x")], iter(recs)))
    out = tmp_path / "deep" / "out"
    for fmt in ("yolo", "coco"):
        before = {p for p in tmp_path.rglob("*") if "deep" not in p.parts}
        res = export_project(store, fmt, out)
        assert res.images == len(paths)
        assert {p for p in tmp_path.rglob("*") if "deep" not in p.parts} == before
        written = [p for p in (tmp_path / "deep").rglob("*") if p.is_file()]
        assert all(out in p.parents for p in written)
        assert not any("\n" in p.name or "\\" in p.name for p in written)
    store.close()
    assert safe_parts("../../a/./b\\..\\c.jpg") == ["a", "b", "c.jpg"]
    assert image_tail("x/images/train/y.jpg", "train") == ["y.jpg"]
    assert image_tail("/abs/images/z.jpg") == ["z.jpg"]


def test_coco_ids_types_and_area(tmp_path):
    ds = tmp_path / "ds"
    make_image(ds / "images" / "a.jpg", 100, 50)
    doc = {"images": [{"id": 42, "file_name": "a.jpg", "width": 100, "height": 50}],
           "annotations": [{"id": 900, "image_id": 42, "category_id": 17, "bbox": [10.5, 5, 20, 10], "iscrowd": 1}],
           "categories": [{"id": 17, "name": "cat"}, {"id": 3, "name": "car"}]}
    write(ds / "annotations.json", json.dumps(doc))
    s, _ = project(ds / "annotations.json", tmp_path)
    a = s.image_by_path("a.jpg")
    s.apply_edit(edits.add_box(s.next_label_id(), a.id, Box(1, 2, 4, 8), 0))
    res = export_project(s, "coco", tmp_path / "c")
    out = json.loads((tmp_path / "c" / "annotations.json").read_text())
    assert [(c["id"], c["name"]) for c in out["categories"]] == [(3, "car"), (17, "cat")]
    assert out["images"] == [{"id": 42, "file_name": "a.jpg", "width": 100, "height": 50}]
    kept, added = out["annotations"]
    assert kept == {"id": 900, "image_id": 42, "category_id": 17, "bbox": [10.5, 5.0, 20.0, 10.0], "area": 200.0,
                    "iscrowd": 1, "segmentation": []}
    assert added["id"] == 901 and added["category_id"] == 3 and added["area"] == 18.0 and added["iscrowd"] == 0
    assert all(type(a[k]) is int for a in out["annotations"] for k in ("id", "image_id", "category_id", "iscrowd"))
    assert res.files == ["annotations.json"] and (tmp_path / "c/images/a.jpg").is_file()
    s.close()


def test_unreadable_and_missing_images_are_left_out_and_reported(tmp_path):
    yolo_dataset(tmp_path / "ds")
    write(tmp_path / "ds/images/train/bad.jpg", b"garbage")
    s, _ = project(tmp_path / "ds", tmp_path)
    os.remove(tmp_path / "ds/images/val/b.png")
    res = export_project(s, "coco", tmp_path / "c")
    assert res.images == 1
    text = "\n".join(map(str, res.problems))
    assert "images/train/bad.jpg: not exported" in text and "images/val/b.png: not exported" in text
    s.close()


def test_yolo_clips_boxes_outside_and_orders_corners_and_says_so(tmp_path):
    ds = tmp_path / "ds"
    make_image(ds / "images" / "a.jpg", 100, 50)
    store = Store.create(tmp_path / "p.boxfix", ds)
    labels = (LabelRecord(Box(-10, 5, 50, 60), 0), LabelRecord(Box(40, 30, 20, 10), 0),
              LabelRecord(Box(0, 0, 100.0001, 50), 0))
    store.import_dataset(DatasetRead(str(ds), "yolo", [ClassInfo(0, "x")],
                                     iter([ImageRecord("images/a.jpg", 100, 50, labels=labels)])))
    res = export_project(store, "yolo", tmp_path / "y")
    rows = (tmp_path / "y/labels/a.txt").read_text().splitlines()
    assert rows[0] == "0 0.25 0.55 0.5 0.9" and rows[1] == "0 0.3 0.4 0.2 0.4"
    assert rows[2].startswith("0 0.5000005 0.5 1.000001 1")  # float noise is not clipped
    assert [str(p) for p in res.problems] == [
        "images/a.jpg: 1 boxes clipped to the image, 1 with swapped corners put in order "
        "(written changed (YOLO cannot hold them as they are))"]
    store.close()
