"""Predictions from elsewhere: the three readers, class mapping, problems with file and line,
round trips through both writers, COCOeval on an export, and fuzzing of every reader."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from desktop.core import predictions_io as P
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageInfo, ImageRecord, LabelRecord
from desktop.core.predictions_io import ProjectIndex, read_predictions
from desktop.core.store import Store
from tests.conftest import SHARED

SIZES = [(100, 80), (64, 48), (200, 150), (50, 50)]
PATHS = ["images/train/a.jpg", "images/train/b.jpg", "images/val/c.png", "images/val/d.jpg"]
NAMES = ["cat", "dog", "bird"]


def make_project(tmp_path: Path, coco: bool = False) -> Store:
    """Four images, three classes. With coco=True, images and classes carry COCO ids
    (as an import from COCO leaves them): image ids 101.., category ids 1, 3, 7."""
    for path, size in zip(PATHS, SIZES):  # real files, so BoxFix's own COCO exporter takes them
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (90, 90, 90)).save(tmp_path / path)
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    cat_ids = [1, 3, 7]
    classes = [ClassInfo(i, n, source_id=cat_ids[i] if coco else None) for i, n in enumerate(NAMES)]
    recs = [ImageRecord(p, w, h, labels=(LabelRecord(Box(1, 1, w / 2, h / 2), i % 3),),
                        source_id=(101 + i) if coco else None)
            for i, (p, (w, h)) in enumerate(zip(PATHS, SIZES))]
    store.import_dataset(DatasetRead(str(tmp_path), "coco" if coco else "yolo", classes, iter(recs)))
    return store


def add_random_run(store: Store, seed: int = 0, with_unmapped: bool = True) -> int:
    """A run as a model would leave it: boxes inside each image, awkward floats, an image
    with no predictions, and (optionally) predictions of a class the project lacks."""
    rng = np.random.default_rng(seed)
    run = store.create_run("model", kind="model", model_classes=NAMES + ["zebra"],
                           class_map={0: 0, 1: 1, 2: 2, 3: None})
    results = []
    for im in store.images():
        n = 0 if im.path.endswith("d.jpg") else int(rng.integers(1, 6))
        xy0 = rng.uniform(0, 0.5, (n, 2)) * [im.width, im.height]
        wh = rng.uniform(0.05, 0.5, (n, 2)) * [im.width, im.height]
        boxes = np.hstack([xy0, xy0 + wh])
        cls = rng.integers(0, 3, n)
        if with_unmapped and n:
            cls[-1] = -1
        conf = rng.uniform(0.01, 1, n)
        results.append((im.id, boxes, cls, conf, np.where(cls < 0, 3, cls), None))
    store.add_predictions(run, results)
    return run


def arrays(store, run):
    a = store.prediction_arrays(run)
    return a["image_id"], a["cls"], a["conf"], a["boxes"]


# ---------------------------------------------------------------------------- round trips
def test_boxfix_json_round_trip_is_exact(tmp_path):
    store = make_project(tmp_path)
    run = add_random_run(store)
    out = tmp_path / "run.jsonl"
    rep = P.export_predictions(store, run, out, "boxfix-json")
    assert rep.images == 4  # the image with no predictions is written too: it was predicted
    back = P.import_predictions(store, out, name="again")
    assert back.problems == [] and back.format == "boxfix-json"
    for a, b in zip(arrays(store, run), arrays(store, back.run_id)):
        np.testing.assert_array_equal(a, b)
    assert store.done_image_ids(back.run_id) == store.done_image_ids(run)
    info = store.run_info(back.run_id)
    assert info.kind == "imported" and info.source == str(out.resolve()) and store.active_run() == back.run_id
    # Writers are deterministic: the same run gives the same bytes.
    P.export_predictions(store, back.run_id, tmp_path / "again.jsonl", "boxfix-json")
    assert (tmp_path / "again.jsonl").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("coco", [False, True])
def test_coco_results_round_trip(tmp_path, coco):
    store = make_project(tmp_path, coco=coco)
    run = add_random_run(store, seed=1)
    out = tmp_path / "results.json"
    rep = P.export_predictions(store, run, out, "coco-results")
    entries = json.loads(out.read_text())
    unmapped = int((arrays(store, run)[1] < 0).sum())
    assert len(entries) == rep.predictions == len(arrays(store, run)[0]) - unmapped
    assert unmapped and "no COCO category" in rep.problems[0].message  # reported, not silent
    if coco:
        assert {e["image_id"] for e in entries} <= {101, 102, 103, 104}
        assert {e["category_id"] for e in entries} <= {1, 3, 7}
    back = P.import_predictions(store, out, name="back")
    keep = arrays(store, run)[1] >= 0
    for a, b in zip(arrays(store, run), arrays(store, back.run_id)):
        np.testing.assert_allclose(np.asarray(a)[keep], b, rtol=0, atol=1e-9)
    # COCO results omit images without detections: every project image counts as predicted.
    assert store.done_image_ids(back.run_id) == {im.id for im in store.images()}
    P.export_predictions(store, run, tmp_path / "again.json", "coco-results")
    assert (tmp_path / "again.json").read_bytes() == out.read_bytes()


def test_yolo_conf_round_trip_and_matching_by_stem(tmp_path):
    store = make_project(tmp_path)
    run = add_random_run(store, seed=2, with_unmapped=False)
    labels = tmp_path / "predict" / "labels"
    labels.mkdir(parents=True)
    ids, cls, conf, boxes = arrays(store, run)
    for im in store.images():
        sel = ids == im.id
        if not sel.any():
            continue  # as Ultralytics: no file for an image without detections
        b = boxes[sel]
        rows = [f"{c} {(x0 + x1) / 2 / im.width!r} {(y0 + y1) / 2 / im.height!r} {(x1 - x0) / im.width!r} "
                f"{(y1 - y0) / im.height!r} {s!r}" for (x0, y0, x1, y1), c, s in zip(b.tolist(), cls[sel].tolist(), conf[sel].tolist())]
        (labels / (Path(im.path).stem + ".txt")).write_text("\n".join(rows) + "\n")
    back = P.import_predictions(store, tmp_path / "predict", name="yolo")
    assert back.format == "yolo-conf" and back.problems == []
    for a, b in zip(arrays(store, run), arrays(store, back.run_id)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    assert store.done_image_ids(back.run_id) == {im.id for im in store.images()}


# ---------------------------------------------------------------------------- problems
def test_boxfix_json_problems_name_file_and_line(tmp_path):
    store = make_project(tmp_path)
    f = tmp_path / "p.jsonl"
    f.write_text("\n".join([
        json.dumps({"image": "images/train/a.jpg", "boxes": [[1, 2, 30, 40, "dog", 0.9], [5, 5, 150, 50, 0, 0.5]]}),
        "{not json",
        json.dumps({"image": "elsewhere/zzz.jpg", "boxes": [[1, 2, 3, 4, 0, 1.0]]}),
        json.dumps({"image": "images/train/b.jpg", "boxes": [[1, 2, 3], [300, 300, 400, 400, 0, 0.5],
                                                             [1, 1, 9, 9, 42, 0.2], [9, 9, 1, 1, 0, 0.3]]}),
        "",
        json.dumps({"image": "images/train/a.jpg", "boxes": []}),
        json.dumps({"image": "/mnt/cluster/data/images/val/c.png", "boxes": [[1, 1, 5, 5, 2, 1.5]], "error": None}),
    ]) + "\n")
    rep = P.import_predictions(store, f, name="p")
    by_line = {}
    for p in rep.problems:
        by_line.setdefault(p.line, []).append(p.message + " / " + p.action)
        assert p.file == str(f)
    assert any("outside the 100x80 image" in m and "clipped" in m for m in by_line[1])
    assert any("not a JSON object" in m for m in by_line[2])
    assert any("not in the project" in m for m in by_line[3])
    assert any("not [x0, y0, x1, y1, class, score]" in m for m in by_line[4])
    assert any("entirely outside" in m for m in by_line[4])
    assert any("zero or negative width" in m for m in by_line[4])
    assert any("class '42' has no project class" in m and "kept 1" in m for m in by_line[4])
    assert any("listed again" in m for m in by_line[6])
    assert any("score 1.5 is outside 0..1" in m for m in by_line[7])
    _ids, cls, conf, boxes = arrays(store, rep.run_id)
    np.testing.assert_array_equal(cls, [1, 0, -1, 2])  # dog by name, cat, unknown 42 kept unmapped, bird
    np.testing.assert_array_equal(boxes[1], [5, 5, 100, 50])  # clipped to the image
    assert conf[3] == 1.0
    assert store.done_image_ids(rep.run_id) == {1, 2, 3}  # only listed images count as predicted
    assert P.run_problems(store, rep.run_id) == rep.problems


def test_coco_results_problems_have_lines_and_annotations_match_by_file_name(tmp_path):
    store = make_project(tmp_path)  # not from COCO: ids come from the annotations file
    ann = tmp_path / "instances.json"
    ann.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "images/train/a.jpg", "width": 100, "height": 80},
                   {"id": 8, "file_name": "b.jpg", "width": 64, "height": 48},
                   {"id": 9, "file_name": "not/here.jpg", "width": 10, "height": 10}],
        "categories": [{"id": 10, "name": "dog"}, {"id": 20, "name": "cat"}, {"id": 30, "name": "horse"}]}))
    res = tmp_path / "res.json"
    res.write_text("[\n" + ",\n".join([
        json.dumps({"image_id": 7, "category_id": 10, "bbox": [1, 2, 10, 10], "score": 0.8}),
        json.dumps({"image_id": 8, "category_id": 20, "bbox": [1, 2, 10, 10], "score": 0.7}),
        json.dumps({"image_id": 8, "category_id": 30, "bbox": [1, 2, 10, 10], "score": 0.6}),
        json.dumps({"image_id": 9, "category_id": 10, "bbox": [1, 2, 3, 3], "score": 0.6}),
        json.dumps({"image_id": 7, "category_id": "10", "bbox": [1, 2, 10, 10], "score": 0.8}),
        json.dumps({"image_id": 7, "category_id": 10, "bbox": [1, 2, -3, 10], "score": 0.8}),
    ]) + "\n]\n")
    rep = P.import_predictions(store, res, name="r", annotations=ann)
    msgs = {(p.line, p.message.split(" ")[0]) for p in rep.problems}
    assert (5, "image_id") in msgs  # image 9 is in the annotations but not in the project
    assert (6, "entry") in msgs  # category id as a string
    assert (7, "images/train/a.jpg:") in msgs  # negative width
    assert any("horse" in p.message and p.line == 4 for p in rep.problems)
    ids, cls, _conf, boxes = arrays(store, rep.run_id)
    np.testing.assert_array_equal(ids, [1, 2, 2])
    np.testing.assert_array_equal(cls, [1, 0, -1])  # dog, cat, horse kept unmapped
    np.testing.assert_array_equal(boxes[0], [1, 2, 11, 12])
    # Only the images of the annotations file that are in the project count as predicted.
    assert store.done_image_ids(rep.run_id) == {1, 2}


def test_coco_results_cut_off_file_keeps_what_was_complete(tmp_path):
    store = make_project(tmp_path, coco=True)
    res = tmp_path / "res.json"
    res.write_text('[\n{"image_id": 101, "category_id": 3, "bbox": [1, 2, 10, 10], "score": 0.8},\n'
                   '{"image_id": 102, "category_id": 3, "bbo')
    rep = P.import_predictions(store, res, name="cut")
    assert rep.predictions == 1
    assert any(p.line == 3 and "not valid JSON" in p.message for p in rep.problems)


def test_yolo_conf_problems(tmp_path):
    store = make_project(tmp_path)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.2\nx 0.5 0.5 0.2 0.2 0.9\n"
                                  "9 0.5 0.5 0.2 0.2 0.4\n2 0.99 0.5 0.2 0.2 0.3\n1.5 0.5 0.5 0.2 0.2 0.3\n")
    (labels / "b.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (labels / "nothere.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    rep = P.import_predictions(store, labels, name="y")
    a = str(labels / "a.txt")
    lines = {(p.file, p.line) for p in rep.problems}
    assert {(a, 2), (a, 3), (a, 4), (a, 5), (a, 6)} <= lines
    assert any("no confidence column" in p.message and p.file == str(labels / "b.txt") for p in rep.problems)
    assert any("matches no project image" in p.message for p in rep.problems)
    ids, cls, conf, boxes = arrays(store, rep.run_id)
    np.testing.assert_array_equal(cls, [0, -1, 2, 0])
    np.testing.assert_allclose(boxes[0], [40, 32, 60, 48])
    np.testing.assert_allclose(boxes[2], [89, 32, 100, 48])  # clipped at the right edge
    assert conf[3] == 1.0


def test_yolo_conf_ambiguous_stem_is_reported_not_guessed(tmp_path):
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    recs = [ImageRecord("train/x.jpg", 10, 10), ImageRecord("val/x.jpg", 10, 10)]
    store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a")], iter(recs)))
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "x.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n")
    (tmp_path / "labels" / "val").mkdir()
    (tmp_path / "labels" / "val" / "x.txt").write_text("0 0.5 0.5 0.4 0.4 0.8\n")
    rep = P.import_predictions(store, tmp_path / "labels", name="y")
    assert any("several project images" in p.message for p in rep.problems)
    ids, _cls, conf, _b = arrays(store, rep.run_id)
    np.testing.assert_array_equal(ids, [2])
    assert conf[0] == 0.8


# ---------------------------------------------------------------------------- classes
def test_class_map_yaml_by_id_and_name(tmp_path):
    store = make_project(tmp_path)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.2 0.2 0.8\n"
                                               "5 0.5 0.5 0.2 0.2 0.7\n3 0.5 0.5 0.2 0.2 0.6\n")
    cmap = tmp_path / "map.yaml"
    cmap.write_text("0: dog\n1: cat\n5: null\n")
    rep = P.import_predictions(store, tmp_path / "labels", name="m", class_map=cmap)
    _ids, cls, _c, _b = arrays(store, rep.run_id)
    np.testing.assert_array_equal(cls, [1, 0, -1, -1])
    unknown = [p for p in rep.problems if "no project class" in p.message]
    assert len(unknown) == 1 and "'3'" in unknown[0].message and str(cmap) in unknown[0].message  # 5 -> null is deliberate
    info = store.run_info(rep.run_id)
    assert info.class_map == {0: 1, 1: 0, 2: None, 3: None} and len(info.model_classes) == 4


def test_class_map_names_file_maps_by_name(tmp_path):
    store = make_project(tmp_path)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.2 0.2 0.8\n2 0.5 0.5 0.2 0.2 0.8\n")
    data = tmp_path / "model.yaml"
    data.write_text("names:\n  0: bird\n  1: person\n  2: cat\n")
    rep = P.import_predictions(store, tmp_path / "labels", name="m", class_map=data)
    _ids, cls, _c, _b = arrays(store, rep.run_id)
    np.testing.assert_array_equal(cls, [2, -1, 0])
    assert store.run_info(rep.run_id).model_classes == ["bird", "person", "cat"]
    assert any("person" in p.message for p in rep.problems)


def test_bad_class_map_is_one_clear_error(tmp_path):
    store = make_project(tmp_path)
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"image": "images/train/a.jpg", "boxes": []}) + "\n")
    (tmp_path / "m.json").write_text('{"0": "unicorn"}')
    with pytest.raises(P.PredictionFormatError, match="unicorn.*not a project class"):
        P.import_predictions(store, f, name="x", class_map=tmp_path / "m.json")
    (tmp_path / "m.yaml").write_text("a: [b\n")
    with pytest.raises(P.PredictionFormatError, match="not valid JSON/YAML"):
        P.import_predictions(store, f, name="x", class_map=tmp_path / "m.yaml")
    assert store.runs() == []


def test_detect_format(tmp_path):
    (tmp_path / "a.json").write_text('  [{"image_id": 1}]')
    (tmp_path / "b.json").write_text('{"image": "x.jpg", "boxes": []}\n')
    (tmp_path / "c.json").write_text('{\n "annotations": []\n}')
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_text("")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "s1.jsonl").write_text("")
    (tmp_path / "f.bin").write_bytes(b"\x00\x01")
    assert [P.detect_format(tmp_path / n) for n in ("a.json", "b.json", "c.json", "d", "e")] == \
        ["coco-results", "boxfix-json", "coco-results", "yolo-conf", "boxfix-json"]
    with pytest.raises(P.PredictionFormatError, match="not a known predictions format"):
        P.detect_format(tmp_path / "f.bin")


def test_sharded_json_lines_folder_imports_all_shards(tmp_path):
    store = make_project(tmp_path)
    shards = tmp_path / "shards"
    shards.mkdir()
    for k, path in enumerate(PATHS):
        (shards / f"part-{k:05d}.jsonl").write_text(json.dumps({"image": path, "boxes": [[1, 1, 5, 5, 0, 0.5]]}) + "\n")
    rep = P.import_predictions(store, shards, name="shards")
    assert rep.images == 4 and rep.predictions == 4 and rep.problems == []


def test_nothing_matched_makes_no_run(tmp_path):
    store = make_project(tmp_path)
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"image": "other.jpg", "boxes": [[1, 1, 5, 5, 0, 0.5]]}) + "\n")
    with pytest.raises(P.NothingImported) as exc:
        P.import_predictions(store, f, name="x")
    assert exc.value.problems[0].line == 1 and store.runs() == []


# ---------------------------------------------------------------------------- COCOeval
def _gt_json(store, tmp_path: Path) -> dict:
    """The project's labels as COCO: from BoxFix's own COCO exporter when it is there, else
    built here with the ids BoxFix's COCO export gives (coco_image_ids / coco_category_ids)."""
    try:
        from desktop.core.formats.coco_write import write_coco
        from desktop.core.formats.export import ExportOptions
    except ImportError:
        write_coco = None
    if write_coco is not None:
        out = tmp_path / "coco-export"
        write_coco(store, out, ExportOptions(images="list"))  # symlinks: the test images need not exist
        return json.loads((out / "annotations.json").read_text())
    images = store.images()
    img = P.coco_image_ids(images)
    cat = P.coco_category_ids(store.classes())
    doc = {"images": [], "annotations": [],
           "categories": [{"id": cat[c.idx], "name": c.name} for c in store.classes()]}
    for im in images:
        doc["images"].append({"id": img[im.id], "file_name": im.path, "width": im.width, "height": im.height})
        for lab in store.labels(im.id):
            b = lab.box
            doc["annotations"].append({"id": len(doc["annotations"]) + 1, "image_id": img[im.id],
                                       "category_id": cat[lab.cls], "bbox": [b.x0, b.y0, b.width, b.height],
                                       "area": b.width * b.height, "iscrowd": 0})
    return doc


def _cocoeval(gt: dict, results_path: Path, tmp_path: Path) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    (tmp_path / "gt.json").write_text(json.dumps(gt))
    coco_gt = COCO(str(tmp_path / "gt.json"))
    coco_dt = coco_gt.loadRes(str(results_path))
    ev = COCOeval(coco_gt, coco_dt, "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return float(ev.stats[0])


def _labels_as_run(store) -> int:
    run = store.create_run("labels-as-predictions", kind="model")
    results = []
    for im in store.images():
        labs = store.labels(im.id)
        results.append((im.id, [lab.box.as_tuple() for lab in labs], [lab.cls for lab in labs], [0.9] * len(labs),
                        [lab.cls for lab in labs], None))
    store.add_predictions(run, results)
    return run


@pytest.mark.parametrize("coco", [False, True])
def test_cocoeval_runs_on_an_exported_run(tmp_path, coco):
    store = make_project(tmp_path, coco=coco)
    # Predictions equal to the labels: AP is 1 only if image ids, category ids and boxes line
    # up with the project's COCO export.
    run = _labels_as_run(store)
    P.export_predictions(store, run, tmp_path / "res.json", "coco-results")
    assert _cocoeval(_gt_json(store, tmp_path), tmp_path / "res.json", tmp_path) == pytest.approx(1.0)


def test_export_with_annotations_takes_their_ids(tmp_path):
    store = make_project(tmp_path)
    run = _labels_as_run(store)
    gt = _gt_json(store, tmp_path)
    # Renumber everything, as another tool's export would, and shuffle the categories.
    for im in gt["images"]:
        im["id"] += 1000
    for c in gt["categories"]:
        c["id"] = 50 - c["id"]
    for a in gt["annotations"]:
        a["image_id"] += 1000
        a["category_id"] = 50 - a["category_id"]
    (tmp_path / "renumbered.json").write_text(json.dumps(gt))
    rep = P.export_predictions(store, run, tmp_path / "res.json", "coco-results",
                               annotations=tmp_path / "renumbered.json")
    entries = json.loads((tmp_path / "res.json").read_text())
    assert rep.problems == [] and min(e["image_id"] for e in entries) > 1000
    assert _cocoeval(gt, tmp_path / "res.json", tmp_path) == pytest.approx(1.0)


def test_real_bccd_annotations_as_predictions_evaluate_to_ap_1(tmp_path):
    ann_path = SHARED / "bccd" / "annotations.coco.json"
    if not ann_path.is_file():
        pytest.skip(f"shared dataset bccd not available at {ann_path}")
    gt = json.loads(ann_path.read_text())
    by_image: dict[int, list] = {}
    for a in gt["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    cats = sorted(gt["categories"], key=lambda c: c["id"])
    classes = [ClassInfo(i, c["name"], source_id=c["id"]) for i, c in enumerate(cats)]
    idx_of = {c.source_id: c.idx for c in classes}
    recs = []
    for im in gt["images"]:
        labels = tuple(LabelRecord(Box(a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                                       a["bbox"][1] + a["bbox"][3]), idx_of[a["category_id"]], source_id=a["id"])
                       for a in by_image.get(im["id"], []))
        recs.append(ImageRecord(im["file_name"], im["width"], im["height"], labels=labels, source_id=im["id"]))
    store = Store.create(tmp_path / "bccd.boxfix", ann_path.parent)
    store.import_dataset(DatasetRead(str(ann_path.parent), "coco", classes, iter(recs)))
    # The annotations file itself, read as predictions: no scores (1.0 assumed, reported).
    rep = P.import_predictions(store, ann_path, name="gt", fmt="coco-results")
    assert any("no score" in p.message for p in rep.problems)
    dropped = sum(1 for p in rep.problems if p.severity == "error")
    assert rep.predictions + dropped >= len(gt["annotations"]) and rep.predictions > 0.95 * len(gt["annotations"])
    P.export_predictions(store, rep.run_id, tmp_path / "res.json", "coco-results")
    assert _cocoeval(gt, tmp_path / "res.json", tmp_path) > 0.95


# ---------------------------------------------------------------------------- fuzz
# The readers need only a project snapshot: one built in memory keeps the fuzzing quick.
FUZZ_INDEX = ProjectIndex([ImageInfo(i + 1, p, w, h) for i, (p, (w, h)) in enumerate(zip(PATHS, SIZES))],
                          [ClassInfo(i, n) for i, n in enumerate(NAMES)], "/data")


def _check(index: ProjectIndex, path: Path, fmt: str, **kw) -> None:
    """A reader either yields valid results (every problem a Problem) or refuses the whole
    file with PredictionFormatError; nothing else may escape."""
    try:
        read = read_predictions(path, index, fmt, **kw)
        results = list(read.results)
        problems = read.problems()
    except P.PredictionFormatError:
        return
    sizes = {im.id: (im.width, im.height) for im in index.images}
    for r in results:
        w, h = sizes[r.image_id]
        assert r.boxes.shape == (len(r.cls), 4) and len(r.conf) == len(r.cls) == len(r.model_cls)
        if len(r.boxes):
            assert np.isfinite(r.boxes).all() and (r.boxes[:, 2] > r.boxes[:, 0]).all()
            assert (r.boxes[:, 0::2] >= 0).all() and (r.boxes[:, 0::2] <= w).all() and (r.boxes[:, 1::2] <= h).all()
            assert ((r.conf >= 0) & (r.conf <= 1)).all()
            assert set(r.cls.tolist()) <= {-1, 0, 1, 2}
    assert all(isinstance(p.message, str) for p in problems)


_num = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20))
_cls = st.one_of(st.integers(-3, 10**20), st.sampled_from(NAMES + ["x", ""]), st.none(), st.floats(), st.booleans())
_box = st.one_of(st.lists(st.one_of(_num, _cls), max_size=7), st.tuples(_num, _num, _num, _num, _cls, _num).map(list),
                 st.text(max_size=5))
_image = st.one_of(st.sampled_from(PATHS + ["x.jpg", "/abs/" + PATHS[0], "a", ""]), st.integers(), st.none())
_line = st.one_of(st.fixed_dictionaries({"image": _image, "boxes": st.one_of(st.lists(_box, max_size=4), _num)}),
                  st.text(max_size=20))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(lines=st.lists(_line, max_size=6))
def test_fuzz_boxfix_jsonl(tmp_path_factory, lines):
    index = FUZZ_INDEX
    f = tmp_path_factory.mktemp("j") / "p.jsonl"
    f.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines))
    _check(index, f, "boxfix-json")


_entry = st.one_of(
    st.fixed_dictionaries({"image_id": st.one_of(st.integers(0, 6), _num, st.text(max_size=2)),
                           "category_id": st.one_of(st.integers(-1, 5), _num, st.text(max_size=2)),
                           "bbox": st.one_of(st.lists(_num, max_size=5), _num),
                           "score": st.one_of(_num, st.none())}),
    _num, st.text(max_size=5))


@FUZZ
@given(entries=st.lists(_entry, max_size=8), cut=st.integers(0, 400), raw=st.booleans())
def test_fuzz_coco_results(tmp_path_factory, entries, cut, raw):
    index = FUZZ_INDEX
    f = tmp_path_factory.mktemp("c") / "r.json"
    text = json.dumps(entries, indent=1)
    f.write_text(text[:cut] if raw else text)
    _check(index, f, "coco-results")


_row = st.one_of(st.lists(st.one_of(st.floats(-2, 2), st.integers(-2, 12).map(str), st.text(max_size=3)), max_size=7)
                 .map(lambda xs: " ".join(map(str, xs))), st.text(max_size=30))


@FUZZ
@given(rows=st.lists(_row, max_size=6), stem=st.sampled_from(["a", "b", "c", "zz"]))
def test_fuzz_yolo_conf(tmp_path_factory, rows, stem):
    index = FUZZ_INDEX
    d = tmp_path_factory.mktemp("y")
    (d / f"{stem}.txt").write_text("\n".join(rows), encoding="utf-8", errors="surrogatepass")
    _check(index, d, "yolo-conf")
