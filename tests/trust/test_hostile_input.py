"""Hostile and broken input through `boxfix import --json`, as a user meets it.

Every case must end in either exit 1 with one sentence naming the file, or exit 0 with the
problem in the import report (file, and line or annotation id): never a traceback. The
corpus (YAML, COCO, VOC) is in tests/data/nasty/{yaml,coco,voc}; the images are made here.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from desktop.core.store import Store

NASTY = Path(__file__).resolve().parents[1] / "data" / "nasty"


def cli_import(capsys, src: Path, out: Path, *extra: str) -> tuple[int, dict | None, str]:
    capsys.readouterr()
    rc = main(["import", str(src), "-o", str(out), "--json", *extra])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and "Traceback" not in cap.out
    return rc, (json.loads(cap.out) if rc == 0 else None), cap.err


def problems_of(info: dict, needle: str) -> list[dict]:
    return [p for p in info["problems"] if needle in p["file"]]


def _img(path: Path, w: int = 64, h: int = 48, mode: str = "RGB", fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = {"RGB": (200, 100, 50), "RGBA": (200, 100, 50, 128), "CMYK": (10, 20, 30, 40), "L": 128,
             "I;16": 40000, "P": 3, "1": 1}[mode]
    Image.new(mode, (w, h), color).save(path, format=fmt)
    return path


# ----------------------------------------------------------------------------- YOLO labels
YOLO_ROWS = {
    "nan.txt": ("0 nan 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n", 1, [1]),
    "inf.txt": ("0 0.5 0.5 inf 0.2\n", 0, [1]),
    "huge.txt": ("0 1e308 0.5 0.2 0.2\n0 0.5 0.5 1e400 0.2\n", None, None),
    "negative.txt": ("0 0.5 0.5 -0.2 0.2\n", None, None),
    "words.txt": ("0 0.5 0.5 0.2 0.2\ncat 0.5 0.5 0.2 0.2\n", 1, [2]),
    "short.txt": ("0 0.5 0.5 0.2\n", 0, [1]),
    "bom.txt": ("\ufeff0 0.5 0.5 0.2 0.2\n", 1, []),
    "crlf.txt": ("0 0.5 0.5 0.2 0.2\r\n1 0.25 0.25 0.1 0.1\r\n", 2, []),
    "blank_last.txt": ("0 0.5 0.5 0.2 0.2\n\n", 1, []),
}


def test_nasty_yolo_rows_name_file_and_line(tmp_path, capsys):
    src = tmp_path / "ds"
    for name, (text, *_rest) in YOLO_ROWS.items():
        stem = Path(name).stem
        _img(src / "images" / f"{stem}.jpg")
        (src / "labels").mkdir(parents=True, exist_ok=True)
        (src / "labels" / name).write_bytes(text.encode("utf-8"))
    (src / "data.yaml").write_text("path: .\ntrain: images\nnames: [a, b]\n")
    rc, info, err = cli_import(capsys, src, tmp_path / "p.boxfix")
    assert rc == 0, err
    with Store.open(tmp_path / "p.boxfix", readonly=True) as store:
        n_boxes = {Path(im.path).stem: len(store.labels(im.id)) for im in store.images()}
        for im in store.images():
            for lab in store.labels(im.id):
                assert all(np.isfinite(lab.box.as_tuple())), (im.path, lab)
    for name, (_text, kept, bad_lines) in YOLO_ROWS.items():
        stem = Path(name).stem
        if kept is not None:
            assert n_boxes[stem] == kept, name
        found = problems_of(info, name)
        if bad_lines is None:
            assert found, f"{name}: no problem reported"
            continue
        assert sorted({p["line"] for p in found if p["line"]}) == bad_lines, (name, found)


# ----------------------------------------------------------------------------- data.yaml
@pytest.mark.parametrize("name,expect_rc,needle", [
    ("no_splits.yaml", 1, "no train, val or test"),
    ("invalid.yaml", 1, "line"),
    ("a_list.yaml", 1, "not a dataset YAML"),
    ("names_string.yaml", 0, "names"),
    ("names_str_keys.yaml", 0, "names"),
    ("path_missing.yaml", 0, "does not exist"),
    ("split_missing.yaml", 0, "not found"),
])
def test_nasty_data_yaml(tmp_path, capsys, name, expect_rc, needle):
    src = tmp_path / "ds"
    _img(src / "images" / "a.jpg")
    (src / "labels").mkdir(parents=True)
    (src / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    shutil.copyfile(NASTY / "yaml" / name, src / "data.yaml")
    rc, info, err = cli_import(capsys, src / "data.yaml", tmp_path / "p.boxfix")
    assert rc == expect_rc, (rc, err)
    if rc == 1:
        assert "data.yaml" in err and needle in err
        assert err.count("\n") == 1  # one sentence
        assert not (tmp_path / "p.boxfix").exists()
    else:
        hits = problems_of(info, "data.yaml")
        assert any(needle in p["message"] for p in hits), info["problems"]
        assert info["images"] == 1


# ----------------------------------------------------------------------------- COCO
def _coco(tmp_path: Path, name: str) -> Path:
    src = tmp_path / "ds"
    _img(src / "a.jpg")
    _img(src / "b.jpg")
    shutil.copyfile(NASTY / "coco" / name, src / "annotations.json")
    return src / "annotations.json"


@pytest.mark.parametrize("name", ["images_not_list.json", "not_json.json"])
def test_unusable_coco_is_one_sentence_naming_the_file(tmp_path, capsys, name):
    rc, _info, err = cli_import(capsys, _coco(tmp_path, name), tmp_path / "p.boxfix")
    assert rc == 1
    assert "annotations.json" in err and err.count("\n") == 1


def test_coco_wrong_types_duplicates_and_dangling_refs_are_reported(tmp_path, capsys):
    for name, needles in [
        ("wrong_types.json", ["images[1]", "images[2]", "annotation id 1", "annotation id 2", "annotation id 4",
                              "annotations[4]"]),
        ("duplicate_ids.json", ["image id 1 appears twice", "annotation id 5", "category id 1 is named"]),
        ("missing_image_ref.json", ["image id 99 is not in images"]),
    ]:
        sub = tmp_path / name
        sub.mkdir()
        rc, info, err = cli_import(capsys, _coco(sub, name), sub / "p.boxfix")
        assert rc == 0, err
        messages = " | ".join(p["message"] for p in info["problems"] if p["file"] == "annotations.json")
        for needle in needles:
            assert needle in messages, (name, needle, messages)
    with Store.open(tmp_path / "wrong_types.json" / "p.boxfix", readonly=True) as store:
        (im,) = store.images()
        assert [lab.box.as_tuple() for lab in store.labels(im.id)] == [(1, 2, 11, 12)]


def test_coco_category_ids_as_strings_are_read(tmp_path, capsys):
    rc, info, err = cli_import(capsys, _coco(tmp_path, "category_ids_strings.json"), tmp_path / "p.boxfix")
    assert rc == 0, err
    with Store.open(tmp_path / "p.boxfix", readonly=True) as store:
        assert [(c.name, c.source_id) for c in store.classes()] == [("cat", 1), ("dog", 2)]
        (im,) = store.images()
        assert [lab.cls for lab in store.labels(im.id)] == [1]


@pytest.mark.parametrize("name", ["escape_dotdot.json", "escape_absolute.json"])
def test_coco_file_name_cannot_reach_outside_the_dataset_root(tmp_path, capsys, name):
    # A real image waits outside, where the hostile file_name points.
    outside = tmp_path / "outside" / "secret.jpg"
    _img(outside)
    json_path = _coco(tmp_path, name)
    if name == "escape_absolute.json":
        doc = json.loads(json_path.read_text())
        doc["images"][1]["file_name"] = str(outside)
        json_path.write_text(json.dumps(doc))
    rc, info, err = cli_import(capsys, json_path, tmp_path / "p.boxfix")
    assert rc == 0, err
    with Store.open(tmp_path / "p.boxfix", readonly=True) as store:
        root = store.dataset_root.resolve()
        for im in store.images():
            target = (store.dataset_root / im.path).resolve()
            assert target.is_relative_to(root), f"{im.path} reaches outside {root}"
    assert any("secret.jpg" in p["message"] or "secret.jpg" in p["file"] for p in info["problems"])


def test_export_never_writes_outside_the_chosen_folder(tmp_path):
    """Whatever names the project holds ('..', absolute, control characters), export stays
    inside the chosen folder."""
    from desktop.core.formats.export import ExportOptions, export_project
    from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord

    root = tmp_path / "root" / "deep"
    names = ["../../escape.jpg", "/abs/olute.jpg", "images/../../../up.jpg", "ctrl\x01\x7fname.jpg", "ok.jpg"]
    for n in names:
        p = (root / n.lstrip("/")).resolve() if not n.startswith("/") else root / "abs" / "olute.jpg"
        _img(p)
    recs = []
    for n in names:
        recs.append(ImageRecord(n if n != "/abs/olute.jpg" else "abs/olute.jpg", 64, 48,
                                labels=(LabelRecord(Box(1, 1, 9, 9), 0),)))
    store = Store.create(tmp_path / "p.boxfix", root)
    store.import_dataset(DatasetRead(str(root), "yolo", [ClassInfo(0, "a")], iter(recs)))
    before = {p for p in tmp_path.rglob("*")}
    out = tmp_path / "exports" / "mine"
    for fmt in ("yolo", "coco"):
        export_project(store, fmt, out, ExportOptions(images="copy"))
        new = {p for p in tmp_path.rglob("*")} - before
        stray = [p for p in new if not (p == out.parent or p.is_relative_to(out))]
        assert not stray, stray
    store.close()


# ----------------------------------------------------------------------------- VOC
@pytest.mark.parametrize("bomb", ["billion_laughs.xml", "quadratic_blowup.xml"])
def test_voc_entity_bombs_are_refused_naming_the_file(tmp_path, capsys, bomb):
    src = tmp_path / "voc"
    src.mkdir()
    for name in (bomb, "good.xml"):
        shutil.copyfile(NASTY / "voc" / name, src / name)
    _img(src / "a.jpg")
    _img(src / "b.jpg")
    rc, info, err = cli_import(capsys, src, tmp_path / "p.boxfix", "--format", "voc")
    assert rc == 0, err
    hits = problems_of(info, bomb)
    assert hits and hits[0]["severity"] == "error", info["problems"]
    with Store.open(tmp_path / "p.boxfix", readonly=True) as store:
        assert "lollollol" not in " ".join(c.name for c in store.classes())
        assert all(len(c.name) < 1000 for c in store.classes())
        assert info["labels"] == 1  # good.xml's box is in


def test_voc_external_entities_are_not_fetched(tmp_path, capsys):
    src = tmp_path / "voc"
    src.mkdir()
    shutil.copyfile(NASTY / "voc" / "external_entity.xml", src / "x.xml")
    shutil.copyfile(NASTY / "voc" / "truncated.xml", src / "t.xml")
    _img(src / "a.jpg")
    secret = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").is_file() else None
    rc, info, err = cli_import(capsys, src, tmp_path / "p.boxfix", "--format", "voc")
    if rc == 1:
        assert "x.xml" in err or str(src) in err
        return
    assert problems_of(info, "t.xml"), info["problems"]  # truncated XML named, not fatal
    with Store.open(tmp_path / "p.boxfix", readonly=True) as store:
        names = [c.name for c in store.classes()]
    if secret:
        assert not any(secret in n for n in names), names


# ----------------------------------------------------------------------------- images
GOOD_IMAGES = [("cmyk.jpg", "CMYK", None), ("deep.png", "I;16", None), ("palette.png", "P", None),
               ("gray.png", "L", None), ("rgba.png", "RGBA", None), ("scan.tif", "RGB", "TIFF"),
               ("bilevel.png", "1", None)]


def test_hostile_images_are_named_and_real_world_modes_work(tmp_path, capsys):
    from desktop.detect.detector import ImageReadError, load_image_bgr

    src = tmp_path / "ds"
    (src / "labels").mkdir(parents=True)
    for name, mode, fmt in GOOD_IMAGES:
        _img(src / "images" / name, 33, 21, mode, fmt)
    good_jpeg = _img(tmp_path / "full.jpg", 200, 150).read_bytes()
    bad = {"truncated.jpg": good_jpeg[: len(good_jpeg) // 3], "zero.jpg": b"", "text.jpg": b"hello, I am text\n",
           "fake.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 20}
    for name, data in bad.items():
        (src / "images" / name).write_bytes(data)
    for p in (src / "images").iterdir():
        (src / "labels" / f"{p.stem}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (src / "data.yaml").write_text("path: .\ntrain: images\nnames: [a]\n")
    rc, info, err = cli_import(capsys, src, tmp_path / "p.boxfix")
    assert rc == 0, err
    with Store.open(tmp_path / "p.boxfix", readonly=True) as store:
        by_name = {Path(im.path).name: im for im in store.images()}
        assert set(by_name) == {n for n, _, _ in GOOD_IMAGES} | set(bad)  # nothing silently dropped
        for name, _mode, _fmt in GOOD_IMAGES:
            im = by_name[name]
            assert (im.width, im.height, im.error) == (33, 21, None), name
            bgr = load_image_bgr(store.image_path(im))
            assert bgr.shape == (21, 33, 3) and bgr.dtype == np.uint8
        for name in ("zero.jpg", "text.jpg", "fake.png"):
            assert by_name[name].error, name
            assert problems_of(info, name), name
            with pytest.raises(ImageReadError, match=name):
                load_image_bgr(store.image_path(by_name[name]))
            # YOLO boxes are normalised: without the image size they cannot be placed. They
            # are not imported, and the report says so (never silently).
            assert len(store.labels(by_name[name].id)) == 0
            assert any("1 boxes were not imported" in p["action"] for p in problems_of(info, name))
        # A truncated JPEG: its header is fine (size known); decoding must fail clearly or
        # give the pixels PIL can recover, never crash.
        t = by_name["truncated.jpg"]
        try:
            assert load_image_bgr(store.image_path(t)).shape[:2] == (t.height, t.width)
        except ImageReadError as exc:
            assert "truncated.jpg" in str(exc)
