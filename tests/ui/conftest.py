"""A real project for the review-window tests: six JPEGs drawn with PIL, imported through
Store.create + import_dataset, one prediction run, and a known set of open issues (one
per kind the keys fix), so every key has a deterministic effect to check in the database.

Each test gets its own QSettings ini file and its own config folder (user keymap).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord, Split
from desktop.core.store import Store

W, H = 320, 240
CLASSES = [ClassInfo(0, "cell"), ClassInfo(1, "platelet"), ClassInfo(2, "blob")]


def _jpeg(path: Path, boxes, seed: int) -> None:
    img = Image.new("RGB", (W, H), (40 + seed * 20, 60, 80))
    d = ImageDraw.Draw(img)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        d.rectangle([x0, y0, x1, y1], fill=(200, 80 + 40 * i, 60))
    img.save(path, quality=90)


# image name -> labels (box, cls); predictions (box, cls, conf)
LAYOUT = {
    "img0.jpg": ([((20, 20, 80, 80), 0)],
                 [((20, 20, 80, 80), 0, 0.92), ((200, 140, 280, 210), 1, 0.95)]),  # missing
    "img1.jpg": ([((40, 40, 120, 120), 0), ((200, 30, 260, 90), 1)],
                 [((50, 50, 130, 130), 0, 0.90), ((200, 30, 260, 90), 1, 0.88)]),  # localization
    "img2.jpg": ([((60, 60, 140, 140), 0)],
                 [((60, 60, 140, 140), 1, 0.85)]),  # class
    "img3.jpg": ([((30, 30, 90, 90), 0), ((150, 100, 220, 170), 1)],
                 [((30, 30, 90, 90), 0, 0.80)]),  # spurious
    "img4.jpg": ([((100, 50, 180, 130), 2), ((101, 51, 180, 130), 2)],
                 [((100, 50, 180, 130), 2, 0.7)]),  # duplicate
    "img5.jpg": ([], []),  # a clean, empty image
}


@dataclass
class Project:
    path: Path
    root: Path
    image_ids: list[int]  # in LAYOUT order
    run_id: int
    issues: dict[str, int]  # kind -> issue id

    def read(self) -> Store:
        """A read-only view of the file: what is really committed, not what a window holds."""
        return Store.open(self.path, readonly=True)


def make_project(tmp: Path, with_issues: bool = True) -> Project:
    root = tmp / "dataset"
    (root / "images").mkdir(parents=True)
    records = []
    for i, (name, (labels, _preds)) in enumerate(LAYOUT.items()):
        _jpeg(root / "images" / name, [b for b, _c in labels], i)
        records.append(ImageRecord(f"images/{name}", W, H, Split.TRAIN,
                                   tuple(LabelRecord(Box(*b), c) for b, c in labels)))
    path = tmp / "review.boxfix"
    store = Store.create(path, root)
    store.import_dataset(DatasetRead(str(root), "test", CLASSES, iter(records)))
    ids = [im.id for im in store.images()]
    run_id = store.create_run("fixture", model_classes=[c.name for c in CLASSES], class_map={0: 0, 1: 1, 2: 2})
    results = []
    for image_id, (_n, (_labels, preds)) in zip(ids, LAYOUT.items()):
        results.append((image_id, [p[0] for p in preds], [p[1] for p in preds], [p[2] for p in preds],
                        [p[1] for p in preds], None))
    store.add_predictions(run_id, results)
    issues = {}
    if with_issues:
        labels = {image_id: store.labels(image_id) for image_id in ids}
        preds = {image_id: store.predictions(run_id, image_id) for image_id in ids}
        missing = next(p for p in preds[ids[0]] if p.cls == 1)
        loc_label, loc_pred = labels[ids[1]][0], next(p for p in preds[ids[1]] if p.cls == 0)
        rows = [
            dict(image_id=ids[0], kind="missing", score=0.95, pred_id=missing.id, cls=1, suggested_cls=1,
                 suggested_box=missing.box.as_tuple(), confidence=missing.conf, key="t-missing"),
            dict(image_id=ids[1], kind="localization", score=0.90, label_id=loc_label.id, pred_id=loc_pred.id, cls=0,
                 suggested_box=loc_pred.box.as_tuple(), confidence=loc_pred.conf, iou=0.6, key="t-loc"),
            dict(image_id=ids[2], kind="class", score=0.80, label_id=labels[ids[2]][0].id, pred_id=preds[ids[2]][0].id,
                 cls=0, suggested_cls=1, confidence=0.85, key="t-class"),
            dict(image_id=ids[3], kind="spurious", score=0.70, label_id=labels[ids[3]][1].id, cls=1, key="t-spur"),
            dict(image_id=ids[4], kind="duplicate", score=0.60, label_id=labels[ids[4]][1].id,
                 label2_id=labels[ids[4]][0].id, cls=2, iou=0.97, key="t-dup"),
        ]
        store.replace_issues(None, run_id, rows)
        issues = {it.kind.value: it.id for it in store.issues()}
    store.close()
    return Project(path, root, ids, run_id, issues)


@pytest.fixture
def project(tmp_path) -> Project:
    return make_project(tmp_path)


@pytest.fixture
def user_config(tmp_path, monkeypatch) -> Path:
    cfg = tmp_path / "config"
    cfg.mkdir()
    monkeypatch.setenv("BOXFIX_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture
def open_window(qtbot, tmp_path, user_config):
    """open_window(project, rescore=False) -> the real MainWindow, shown, canvas focused.
    rescore=False leaves the fixture's hand-made issues alone (the finder would replace
    them after each edit); tests of re-scoring pass rescore=True."""
    from desktop.app import build_services, build_window

    made = []

    def _open(proj: Project, rescore: bool = False, keymap_path=None):
        services = build_services()
        if not rescore:
            services.rescore = None
        win = build_window(proj.path, settings_path=tmp_path / f"settings{len(made)}.ini", services=services,
                           keymap_path=keymap_path)
        win.setProperty("quiet_dialogs", True)
        qtbot.addWidget(win)
        win.resize(1200, 800)
        win.show()
        qtbot.waitExposed(win)
        win.activateWindow()  # window-wide shortcuts fire only in the active window
        qtbot.waitUntil(win.isActiveWindow)
        win.canvas.setFocus()
        made.append(win)
        return win

    yield _open
    for win in made:
        win.close()
