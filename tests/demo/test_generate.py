"""The demo dataset: deterministic, the planted mistakes are what the manifest says, the YOLO
files are valid, and check_progress follows a reviewer's edits in a real project file."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from desktop.core import edits
from desktop.core.geometry import iou_matrix
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord, ReviewStatus, Split
from desktop.core.store import Store
from desktop.demo import CLASS_NAMES, GENERATOR_VERSION
from desktop.demo.check import check_progress
from desktop.demo.generate import generate_clean_training_set, generate_demo_dataset, manifest_path_for
from desktop.demo.plant import mistake_counts

SMALL = 30


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _read_labels(root: Path, rel: str, w: int, h: int) -> list[tuple[int, tuple]]:
    txt = root / ("labels/" + rel.split("/", 1)[1].rsplit(".", 1)[0] + ".txt")
    out = []
    for line in txt.read_text().splitlines():
        c, cx, cy, bw, bh = line.split()
        cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
        out.append((int(c), (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)))
    return out


def _iou(a, b) -> float:
    return float(iou_matrix(np.asarray(a)[None], np.asarray(b)[None])[0, 0])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The full-size demo (200 images), generated once for the module."""
    root = generate_demo_dataset(tmp_path_factory.mktemp("demo"))
    return root, json.loads(manifest_path_for(root).read_text())


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    a = generate_demo_dataset(tmp_path / "a", seed=3, n_images=SMALL)
    b = generate_demo_dataset(tmp_path / "b", seed=3, n_images=SMALL)
    c = generate_demo_dataset(tmp_path / "c", seed=4, n_images=SMALL)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert len(da) == 2 * SMALL + 1  # images + label files + data.yaml
    assert da == db
    assert manifest_path_for(a).read_bytes() == manifest_path_for(b).read_bytes()
    differing = [k for k in da if k.endswith(".jpg") and da[k] != dc.get(k)]
    assert len(differing) == SMALL


def test_generation_is_idempotent_and_regenerates_on_version_change(tmp_path):
    root = generate_demo_dataset(tmp_path, n_images=SMALL)
    manifest = manifest_path_for(root)
    stamp = {p: p.stat().st_mtime_ns for p in [manifest, *root.rglob("*.jpg")]}
    assert generate_demo_dataset(tmp_path, n_images=SMALL) == root
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp

    m = json.loads(manifest.read_text())
    m["generator_version"] = GENERATOR_VERSION - 1
    manifest.write_text(json.dumps(m))
    next(iter(root.rglob("*.jpg"))).unlink()
    generate_demo_dataset(tmp_path, n_images=SMALL)
    assert json.loads(manifest.read_text())["generator_version"] == GENERATOR_VERSION
    assert len(list(root.rglob("*.jpg"))) == SMALL
    assert not list(tmp_path.glob(".demo-tmp-*"))


def test_planted_mistake_counts(demo):
    root, m = demo
    assert m["n_images"] == 200 and len(m["images"]) == 200
    kinds = Counter(x["kind"] for x in m["mistakes"])
    assert kinds == Counter(mistake_counts(200))
    assert set(kinds) == {"missing", "localization", "class", "spurious", "duplicate", "degenerate"}
    assert kinds["degenerate"] == 1
    carriers = {x["image"] for x in m["mistakes"]}
    assert 10 <= len(carriers) <= 14  # about 6% of 200 images
    splits = Counter(v["split"] for v in m["images"].values())
    assert splits == {"train": 160, "val": 40}


def test_label_files_are_truth_with_exactly_the_planted_mistakes(demo):
    root, m = demo
    by_image: dict[str, list] = {}
    for x in m["mistakes"]:
        by_image.setdefault(x["image"], []).append(x)
    n_boxes = 0
    for rel, info in m["images"].items():
        assert (root / rel).is_file()
        w, h = info["width"], info["height"]
        labels = _read_labels(root, rel, w, h)
        expected = [(t["cls"], tuple(t["box"])) for t in info["truth"]]
        n_boxes += len(expected)
        for x in by_image.get(rel, []):
            clean, planted = x["clean"], x["planted"]
            if x["kind"] == "missing":
                expected.remove((clean["cls"], tuple(clean["box"])))
            elif x["kind"] in ("localization", "class"):
                expected.remove((clean["cls"], tuple(clean["box"])))
                expected.append((planted["cls"], tuple(planted["box"])))
            else:
                expected.append((planted["cls"], tuple(planted["box"])))
            if x["kind"] == "localization":
                assert 0.3 <= _iou(clean["box"], planted["box"]) <= 0.7
                assert planted["cls"] == clean["cls"]
            elif x["kind"] == "class":
                assert planted["cls"] != clean["cls"] and planted["box"] == clean["box"]
            elif x["kind"] == "duplicate":
                assert planted["cls"] == clean["cls"] and _iou(clean["box"], planted["box"]) > 0.85
            elif x["kind"] == "spurious":
                truth = np.array([t["box"] for t in info["truth"]])
                assert iou_matrix(np.array(planted["box"])[None], truth).max() < 0.1
            elif x["kind"] == "degenerate":
                b = planted["box"]
                assert b[2] - b[0] == 0 and b[3] > b[1]
        # the files hold exactly the expected rows (to YOLO's 6 decimals)
        assert len(labels) == len(expected), rel
        got = sorted((c, tuple(round(v, 1) for v in b)) for c, b in labels)
        want = sorted((c, tuple(round(v, 1) for v in b)) for c, b in expected)
        for (gc, gb), (wc, wb) in zip(got, want):
            assert gc == wc and np.allclose(gb, wb, atol=0.11), rel
    assert n_boxes > 800  # ~6 parts an image
    # the truth is clean: no degenerate boxes, no near-duplicates, all classes present
    for info in m["images"].values():
        b = np.array([t["box"] for t in info["truth"]]).reshape(-1, 4)
        assert (np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) > 5).all()
        iou = iou_matrix(b, b)
        np.fill_diagonal(iou, 0)
        assert iou.max(initial=0) < 0.8
    classes = Counter(t["cls"] for info in m["images"].values() for t in info["truth"])
    assert set(classes) == {0, 1, 2} and min(classes.values()) > 0.25 * sum(classes.values())


def test_data_yaml_is_valid_for_ultralytics(demo, tmp_path):
    root, _ = demo
    data = yaml.safe_load((root / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(CLASS_NAMES))
    assert (root / data["train"]).is_dir() and (root / data["val"]).is_dir()
    from ultralytics.data.utils import check_det_dataset

    checked = check_det_dataset(str(root / "data.yaml"), autodownload=False)
    assert checked["nc"] == 3
    assert Path(checked["train"]).resolve() == (root / "images/train").resolve()


def test_clean_training_set_has_no_manifest_and_is_reused(tmp_path):
    root = generate_clean_training_set(tmp_path / "clean", seed=5, n=10)
    assert not (tmp_path / "demo_truth.json").exists() and not (root / "demo_truth.json").exists()
    assert len(list(root.rglob("*.jpg"))) == 10 and len(list(root.rglob("*.txt"))) == 10
    stamp = (root / "data.yaml").stat().st_mtime_ns
    generate_clean_training_set(tmp_path / "clean", seed=5, n=10)
    assert (root / "data.yaml").stat().st_mtime_ns == stamp


# ------------------------------------------------------------------ check_progress


def _import(root: Path, manifest: dict, project: Path) -> Store:
    """A small YOLO reading of the demo (independent of the format readers under test elsewhere)."""
    recs = []
    for rel, info in manifest["images"].items():
        labs = tuple(LabelRecord(Box(*b), c) for c, b in _read_labels(root, rel, info["width"], info["height"]))
        recs.append(ImageRecord(rel, info["width"], info["height"], Split(info["split"]), labs))
    store = Store.create(project, root)
    store.import_dataset(DatasetRead(str(root), "yolo", [ClassInfo(i, n) for i, n in enumerate(CLASS_NAMES)], iter(recs)))
    return store


def _label_near(store, image_id: int, box, cls=None):
    for lab in store.labels(image_id):
        if _iou(lab.box.as_tuple(), box) > 0.95 or np.allclose(lab.box.as_tuple(), box, atol=0.05):
            if cls is None or lab.cls == cls:
                return lab
    raise AssertionError(f"no label near {box}")


def test_check_progress_follows_fixes_misses_and_damage(tmp_path):
    root = generate_demo_dataset(tmp_path / "demo", n_images=SMALL)
    mpath = manifest_path_for(root)
    manifest = json.loads(mpath.read_text())
    store = _import(root, manifest, tmp_path / "demo.boxfix")
    try:
        r = check_progress(store, mpath)
        n = len(manifest["mistakes"])
        assert (r["total"], r["fixed"], r["missed"], r["open"]) == (n, 0, 0, n)
        assert (r["correct_changed"], r["extra_labels"], r["images_not_in_project"]) == (0, 0, 0)

        ids = {im.path: im.id for im in store.images()}
        fixed = 0
        for x in manifest["mistakes"]:
            iid = ids[x["image"]]
            clean, planted = x["clean"], x["planted"]
            if x["kind"] == "missing":
                store.apply_edit(edits.add_box(store.next_label_id(), iid, Box(*clean["box"]), clean["cls"]))
            elif x["kind"] == "localization":
                lab = _label_near(store, iid, planted["box"])
                store.apply_edit(edits.set_geometry(store.label_rows([lab.id])[0], Box(*clean["box"])))
            elif x["kind"] == "class":
                lab = _label_near(store, iid, planted["box"], planted["cls"])
                store.apply_edit(edits.set_class(store.label_rows([lab.id]), clean["cls"]))
            else:  # spurious, duplicate, degenerate: delete the planted box
                lab = _label_near(store, iid, planted["box"])
                store.apply_edit(edits.delete_labels(store.label_rows([lab.id])))
            fixed += 1
            if fixed == n - 1:
                break
        last = manifest["mistakes"][-1]
        r = check_progress(store, mpath)
        assert (r["fixed"], r["open"], r["missed"]) == (n - 1, 1, 0)
        assert [x["status"] for x in r["mistakes"] if x["id"] == last["id"]] == ["open"]

        # reviewing the image without fixing it turns 'open' into 'missed'
        iid = ids[last["image"]]
        store.apply_edit(edits.set_status(iid, ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED))
        r = check_progress(store, mpath)
        assert (r["fixed"], r["open"], r["missed"]) == (n - 1, 0, 1)
        assert r["by_kind"][last["kind"]]["missed"] == 1
        assert (r["correct_changed"], r["extra_labels"]) == (0, 0)

        # breaking a good label and adding a box on nothing are counted as damage
        targets = {(x["image"], x["truth_index"]) for x in manifest["mistakes"]}
        rel, t = next((p, k) for p, info in manifest["images"].items() for k in range(len(info["truth"]))
                      if (p, k) not in targets and p != last["image"])
        good = manifest["images"][rel]["truth"][t]
        lab = _label_near(store, ids[rel], good["box"], good["cls"])
        store.apply_edit(edits.set_class(store.label_rows([lab.id]), (good["cls"] + 1) % 3))
        store.apply_edit(edits.add_box(store.next_label_id(), ids[rel], Box(0, 0, 3, 3), 0))
        r = check_progress(store, mpath)
        assert r["correct_changed"] == 1
        assert r["extra_labels"] == 2  # the re-classed box matches no truth now, plus the new one
        assert r["fixed"] == n - 1
    finally:
        store.close()
