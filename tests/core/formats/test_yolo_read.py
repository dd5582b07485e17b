"""YOLO reader on generated fixtures: layouts, class names, and every kind of problem."""
from __future__ import annotations

import pytest

from desktop.core.formats import FormatError, detect_format, read_dataset
from desktop.core.model import Split

from .helpers import make_image, project, write, yolo_dataset


def _read(src):
    read = read_dataset(src, "yolo")
    return read, {r.path: r for r in read.images}


def test_data_yaml_with_folders_gives_pixels_splits_and_names(tmp_path):
    yolo_dataset(tmp_path)
    read, recs = _read(tmp_path)
    assert [c.name for c in read.classes] == ["cat", "dog"]
    a, b = recs["images/train/a.jpg"], recs["images/val/b.png"]
    assert (a.width, a.height, a.split) == (64, 48, Split.TRAIN)
    assert b.split == Split.VAL
    assert a.labels[0].box.as_tuple() == pytest.approx((24, 12, 40, 36))
    assert b.labels[0].box.as_tuple() == pytest.approx((0, 0, 40, 30)) and b.labels[0].cls == 1
    assert read.problems == []
    assert detect_format(tmp_path) == "yolo" and detect_format(tmp_path / "data.yaml") == "yolo"


def test_names_as_list_txt_lists_and_list_of_entries(tmp_path):
    yolo_dataset(tmp_path, yaml_text="train: [train.txt, images/extra]\nval: ./val.txt\nnames: [a, b]\n")
    make_image(tmp_path / "images" / "extra" / "c.jpg", 20, 20)
    write(tmp_path / "train.txt", "./images/train/a.jpg\n\n# a comment\n")
    write(tmp_path / "val.txt", "images/val/b.png\n")
    read, recs = _read(tmp_path / "data.yaml")
    assert [c.name for c in read.classes] == ["a", "b"]
    assert {p: r.split for p, r in recs.items()} == {"images/train/a.jpg": Split.TRAIN,
                                                     "images/extra/c.jpg": Split.TRAIN,
                                                     "images/val/b.png": Split.VAL}
    assert not recs["images/extra/c.jpg"].labelled  # no .txt: background, never labelled
    assert not any("no image" in p.message for p in read.problems)  # list files are not orphan labels


def test_names_dict_with_gaps_and_string_keys(tmp_path):
    yolo_dataset(tmp_path, yaml_text="train: images/train\nval: images/val\nnames: {'0': cat, 3: dog}\n")
    read, recs = _read(tmp_path)
    assert [(c.idx, c.name) for c in read.classes] == [(0, "cat"), (3, "dog")]
    # class 1 in b's label is not a name: kept (the store files it under 'unknown class 1') and reported
    assert recs["images/val/b.png"].labels[0].cls == 1
    assert any("class 1 is not in the class names" in p.message and p.line == 1 for p in read.problems)


def test_plain_tree_with_classes_txt_and_background(tmp_path):
    make_image(tmp_path / "images" / "train" / "a.jpg", 50, 50)
    make_image(tmp_path / "images" / "val" / "b.jpg", 50, 50)
    make_image(tmp_path / "images" / "c.jpg", 50, 50)
    write(tmp_path / "labels" / "train" / "a.txt", "1 0.5 0.5 0.5 0.5\n")
    write(tmp_path / "labels" / "val" / "b.txt", "")
    write(tmp_path / "classes.txt", "person\ncar\n")
    assert detect_format(tmp_path) == "yolo"
    read, recs = _read(tmp_path)
    assert [c.name for c in read.classes] == ["person", "car"]
    assert recs["images/train/a.jpg"].split == Split.TRAIN and recs["images/c.jpg"].split == Split.NONE
    assert recs["images/val/b.jpg"].labelled and recs["images/val/b.jpg"].labels == ()
    assert not recs["images/c.jpg"].labelled


def test_classes_txt_disagreeing_with_names_is_reported(tmp_path):
    yolo_dataset(tmp_path)
    write(tmp_path / "classes.txt", "dog\ncat\n")
    read, _ = _read(tmp_path)
    assert [c.name for c in read.classes] == ["cat", "dog"]
    assert any("disagrees" in p.message for p in read.problems)


def test_every_problem_kind_is_reported_with_file_and_line(tmp_path):
    yolo_dataset(tmp_path, images={
        "train/ok.jpg": (100, 100, "0 0.5 0.5 0.2 0.2\n"),
        "train/bad_row.jpg": (100, 100, "0 0.5 0.5 0.2 0.2\n0 0.5 zz 0.2 0.2\n"),
        "train/range.jpg": (100, 100, "5 0.5 0.5 0.2 0.2\n"),
        "train/outside.jpg": (100, 100, "0 0.99 0.5 0.2 0.2\n"),
        "train/zero.jpg": (100, 100, "0 0.5 0.5 0 0.2\n"),
        "train/poly.jpg": (100, 100, "1 0.1 0.2 0.5 0.2 0.3 0.7\n"),
        "val/v.jpg": (100, 100, None)})
    write(tmp_path / "images" / "train" / "broken.jpg", b"not an image at all")
    write(tmp_path / "labels" / "train" / "broken.txt", "0 0.5 0.5 0.2 0.2\n")
    write(tmp_path / "labels" / "train" / "orphan.txt", "0 0.5 0.5 0.2 0.2\n")
    make_image(tmp_path / "images" / "train" / "ok.png", 100, 100)  # shares labels/train/ok.txt
    write(tmp_path / "data.yaml", "train: [images/train, missing.txt]\nval: images/val\nnames: [a, b]\n")
    write(tmp_path / "missing.txt", "images/train/gone.jpg\n")
    read, recs = _read(tmp_path)
    probs = {(p.file, p.line): p for p in read.problems}

    def has(file, text, line=None):
        p = probs.get((file, line))
        assert p is not None and text in p.message, (file, line, text, read.problems)
        return p

    has("labels/train/bad_row.txt", "'zz' is not a number", 2)
    assert len(recs["images/train/bad_row.jpg"].labels) == 1
    assert "unknown class 5" in has("labels/train/range.txt", "class 5", 1).action
    assert recs["images/train/range.jpg"].labels[0].cls == 5
    has("labels/train/outside.txt", "outside the image", 1)
    has("labels/train/zero.txt", "zero-area", 1)
    has("labels/train/poly.txt", "polygon")
    assert recs["images/train/poly.jpg"].labels[0].box.as_tuple() == pytest.approx((10, 20, 50, 70))
    broken = has("images/train/broken.jpg", "not a readable image")
    assert "1 boxes were not imported" in broken.action and recs["images/train/broken.jpg"].error
    has("labels/train/orphan.txt", "label file with no image")
    assert "ok.jpg and images/train/ok.png" in has("labels/train/ok.txt", "shared by").message
    assert len(recs["images/train/ok.png"].labels) == 1
    has("images/train/gone.jpg", "image file not found")
    assert "images/train/gone.jpg" not in recs


def test_exif_rotated_image_labels_refer_to_the_rotated_frame(tmp_path):
    make_image(tmp_path / "images" / "r.jpg", 80, 40, orientation=6)  # displayed 40 wide, 80 high
    write(tmp_path / "labels" / "r.txt", "0 0.5 0.25 0.5 0.5\n")
    write(tmp_path / "data.yaml", "train: images\nnames: [a]\n")
    read, recs = _read(tmp_path)
    r = recs["images/r.jpg"]
    assert (r.width, r.height) == (40, 80)
    assert r.labels[0].box.as_tuple() == pytest.approx((10, 0, 30, 40))


def test_yaml_path_that_does_not_exist_falls_back_with_a_problem(tmp_path):
    yolo_dataset(tmp_path, yaml_text="path: /content/datasets/elsewhere\ntrain: images/train\nval: images/val\n"
                 "names: [cat, dog]\n")
    read, recs = _read(tmp_path)
    assert len(recs) == 2
    assert any("does not exist" in p.message for p in read.problems)


@pytest.mark.parametrize("text,needle", [("train: [unclosed\n", "not valid YAML at line"),
                                         ("- just\n- a list\n", "not a dataset YAML"),
                                         ("names: [a]\n", "no train, val or test")])
def test_unusable_yaml_is_one_clear_error(tmp_path, text, needle):
    write(tmp_path / "data.yaml", text)
    with pytest.raises(FormatError, match=needle.replace("[", r"\[")) as exc:
        read_dataset(tmp_path / "data.yaml")
    assert "data.yaml" in str(exc.value)


def test_same_image_in_train_and_val_is_kept_once(tmp_path):
    yolo_dataset(tmp_path, yaml_text="train: images\nval: images\nnames: [cat, dog]\n")
    read, recs = _read(tmp_path)
    assert len(recs) == 2 and {r.split for r in recs.values()} == {Split.TRAIN}
    assert any("2 images listed in both train and val" in p.message for p in read.problems)


def test_store_import_keeps_unknown_class_and_problems(tmp_path):
    yolo_dataset(tmp_path / "ds", images={"train/a.jpg": (10, 10, "4 0.5 0.5 0.5 0.5\n"),
                                          "val/b.jpg": (10, 10, "")})
    store, summary = project(tmp_path / "ds", tmp_path)
    try:
        assert summary.images == 2 and summary.labels == 1
        assert any(c.idx == 4 and "unknown class 4" in c.name for c in store.classes())
        assert any("class 4" in p.message for p in store.import_problems())
    finally:
        store.close()
