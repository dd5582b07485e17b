"""COCO reader: ids kept exactly, iscrowd kept, image lookup, and reported problems."""
from __future__ import annotations

import json

import pytest

from desktop.core.formats import FormatError, detect_format, read_dataset
from desktop.core.model import Split

from .helpers import make_image, write


def _coco(tmp_path, images=None, annotations=None, categories=None, name="annotations.json", image_dir="images"):
    images = images if images is not None else [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 50}]
    for im in images:
        if isinstance(im, dict) and isinstance(im.get("file_name"), str):
            make_image(tmp_path / image_dir / im["file_name"], im.get("width") or 100, im.get("height") or 50)
    doc = {"images": images,
           "annotations": annotations if annotations is not None else [
               {"id": 1001, "image_id": 7, "category_id": 90, "bbox": [10, 5, 20, 10], "area": 200, "iscrowd": 0},
               {"id": 1002, "image_id": 7, "category_id": 3, "bbox": [0, 0, 100, 50], "area": 5000, "iscrowd": 1}],
           "categories": categories if categories is not None else [{"id": 3, "name": "car"},
                                                                    {"id": 90, "name": "toothbrush"}]}
    return write(tmp_path / name, json.dumps(doc))


def test_ids_iscrowd_and_boxes_are_kept(tmp_path):
    f = _coco(tmp_path)
    assert detect_format(f) == "coco" and detect_format(tmp_path) == "coco"
    read = read_dataset(f)
    assert [(c.idx, c.name, c.source_id) for c in read.classes] == [(0, "car", 3), (1, "toothbrush", 90)]
    [rec] = list(read.images)
    assert (rec.path, rec.source_id, rec.width, rec.height) == ("a.jpg", 7, 100, 50)
    a, b = rec.labels
    assert (a.box.as_tuple(), a.cls, a.iscrowd, a.source_id) == ((10, 5, 30, 15), 1, False, 1001)
    assert (b.cls, b.iscrowd, b.source_id) == (0, True, 1002)
    assert read.problems == []


def test_zero_based_category_ids_and_images_beside_json(tmp_path):
    f = _coco(tmp_path, categories=[{"id": 0, "name": "a"}, {"id": 1, "name": "b"}], image_dir=".",
              annotations=[{"id": 1, "image_id": 7, "category_id": 0, "bbox": [1, 1, 2, 2]}])
    read = read_dataset(f)
    assert [c.source_id for c in read.classes] == [0, 1]
    [rec] = list(read.images)
    assert rec.error is None and rec.labels[0].cls == 0


def test_several_files_are_splits(tmp_path):
    _coco(tmp_path, name="instances_train.json")
    _coco(tmp_path, name="instances_val.json", images=[{"id": 8, "file_name": "b.jpg", "width": 30, "height": 30}],
          annotations=[])
    read = read_dataset(tmp_path, "coco")
    recs = {r.path: r for r in read.images}
    assert recs["a.jpg"].split == Split.TRAIN and recs["b.jpg"].split == Split.VAL


def test_problems_name_the_annotation(tmp_path):
    f = _coco(tmp_path, images=[{"id": 7, "file_name": "a.jpg", "width": 100, "height": 50},
                                {"id": 9, "file_name": "gone.jpg", "width": 10, "height": 10},
                                {"id": 7, "file_name": "dup.jpg"}, {"file_name": 3}],
              annotations=[{"id": 1, "image_id": 7, "category_id": 55, "bbox": [1, 1, 2, 2]},
                           {"id": 2, "image_id": 7, "category_id": 3, "bbox": [1, 1, 0, 2]},
                           {"id": 3, "image_id": 7, "category_id": 3, "bbox": [90, 1, 50, 2]},
                           {"id": 4, "image_id": 404, "category_id": 3, "bbox": [1, 1, 2, 2]},
                           {"id": 5, "image_id": 7, "category_id": "3", "bbox": ["x", 1, 2, 2]},
                           {"id": 6, "image_id": 9, "category_id": 3, "bbox": [1, 1, 2, 2], "iscrowd": None},
                           {"id": 6, "image_id": 7, "category_id": 3, "bbox": [2, 2, 2, 2]},
                           "junk"])
    (tmp_path / "images" / "gone.jpg").unlink()
    read = read_dataset(f)
    recs = {r.path: r for r in read.images}
    text = "\n".join(map(str, read.problems))
    assert "category id 55 is used by annotations but not listed" in text
    assert any(c.name == "unknown category 55" and c.source_id == 55 for c in read.classes)
    assert "annotation id 2: zero-area" in text
    assert "annotation id 3: box [90, 1, 140, 3] extends outside" in text
    assert "annotation id 4: image id 404 is not in images" in text
    assert "annotation id 5: bbox ['x', 1, 2, 2] is not 4 finite numbers" in text
    assert "annotation id 6: id used twice" in text
    assert "image id 7 appears twice" in text and "images[3] has no integer id" in text
    assert "annotations[7] is not an object" in text
    assert recs["gone.jpg"].error == "image file not found" and len(recs["gone.jpg"].labels) == 1
    assert (recs["gone.jpg"].width, recs["gone.jpg"].height) == (10, 10)
    assert len(recs["a.jpg"].labels) == 4  # 55 kept, zero-area kept, outside kept, second id 6 kept


def test_json_size_disagreeing_with_exif_rotated_file(tmp_path):
    make_image(tmp_path / "images" / "r.jpg", 80, 40, orientation=6)
    write(tmp_path / "c.json", json.dumps({"images": [{"id": 1, "file_name": "r.jpg", "width": 80, "height": 40}],
                                           "annotations": [], "categories": []}))
    read = read_dataset(tmp_path / "c.json")
    [rec] = list(read.images)
    assert (rec.width, rec.height) == (40, 80)
    assert any("JSON says 80x40, the file is 40x80" in p.message for p in read.problems)


@pytest.mark.parametrize("content,needle", [(b"{not json", "not valid JSON"), (b"[1, 2]", "not a COCO file"),
                                            (b'{"annotations": []}', "not a COCO file")])
def test_unusable_json_is_one_clear_error(tmp_path, content, needle):
    write(tmp_path / "x.json", content)
    with pytest.raises(FormatError, match=needle):
        read_dataset(tmp_path / "x.json")
