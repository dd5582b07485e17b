"""Side panels of the review window, as real widgets offscreen: image list, issue queue,
inspector, classes panel."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from desktop.core.model import ClassInfo, ImageInfo, Issue, IssueKind, IssueStatus, ReviewStatus, Split
from desktop.ui.panels import status_icons
from desktop.ui.panels.classes_panel import ClassesPanel
from desktop.ui.panels.image_list import ImageIdRole, ImageListPanel, IssueCountRole, StateRole
from desktop.ui.panels.inspector import InspectorPanel
from desktop.ui.panels.issue_queue import ALL_KINDS, IssueIdRole, IssueQueuePanel, QueueFilter

pytestmark = pytest.mark.gui

N_IMAGES = 100_000


def _images(n: int) -> list[ImageInfo]:
    # Deterministic mix: every 5th image is val, every 3rd reviewed, every 7th test split.
    out = []
    for i in range(n):
        split = Split.TEST if i % 7 == 0 else (Split.VAL if i % 5 == 0 else Split.TRAIN)
        status = ReviewStatus.REVIEWED if i % 3 == 0 else ReviewStatus.UNREVIEWED
        out.append(ImageInfo(id=i + 1, path=f"{split.value}/images/img_{i:06d}.jpg", width=640, height=480,
                             split=split, status=status))
    return out


@pytest.fixture(scope="module")
def big_images():
    return _images(N_IMAGES)


@pytest.fixture
def image_panel(qtbot, big_images):
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    counts = {i: (i % 4) for i in range(1, N_IMAGES + 1, 11)}  # ids 1, 12, 23, ...; some with 0
    classes = {i + 1: {i % 3} | ({5} if i % 100 == 0 else set()) for i in range(N_IMAGES)}
    panel.set_images(big_images, counts, classes, {0: "rbc", 1: "wbc", 2: "platelets", 5: "rare"})
    return panel, counts, classes


def _expected(images, pred):
    return sum(1 for i, im in enumerate(images) if pred(i, im))


def test_image_list_builds_100k_rows_and_filters(image_panel, big_images):
    panel, counts, classes = image_panel
    model = panel.model
    assert model.rowCount() == N_IMAGES
    assert panel.count_label.text() == "100,000 images"

    panel.set_filters(status="reviewed")
    assert model.rowCount() == _expected(big_images, lambda i, im: i % 3 == 0)
    assert all(model.index(r).data(StateRole) in ("reviewed", "issues") for r in range(0, model.rowCount(), 997))

    panel.set_filters(status="issues")
    n_issues = sum(1 for c in counts.values() if c > 0)
    assert model.rowCount() == n_issues
    panel.set_filters(status="no-issues")
    assert model.rowCount() == N_IMAGES - n_issues

    panel.set_filters(status="all", split="val")
    assert model.rowCount() == _expected(big_images, lambda i, im: im.split == Split.VAL)
    panel.set_filters(split="test", cls=5)
    assert model.rowCount() == _expected(big_images, lambda i, im: im.split == Split.TEST and i % 100 == 0)

    panel.set_filters(split=None, cls=None, text="IMG_0001")  # case-insensitive substring
    assert model.rowCount() == _expected(big_images, lambda i, im: "img_0001" in im.path)
    assert model.rowCount() == 100
    assert panel.count_label.text() == "100 of 100,000 images"
    assert all("img_0001" in model.index(r).data() for r in range(model.rowCount()))

    panel.set_filters(text="")
    assert model.rowCount() == N_IMAGES


def test_image_list_name_filter_from_the_line_edit(qtbot, image_panel):
    panel, _, _ = image_panel
    panel.name_edit.setText("img_09999")  # debounced: applied when typing pauses
    qtbot.waitUntil(lambda: panel.model.rowCount() == 10)


def test_image_list_rows_show_status_and_issue_count(image_panel):
    panel, counts, _ = image_panel
    model = panel.model
    row = model.row_of(12)  # listed in counts with 12 % 4 == 0 issues
    ix = model.index(row)
    assert ix.data(ImageIdRole) == 12
    assert ix.data(IssueCountRole) == counts[12] == 0
    assert ix.data(Qt.DisplayRole) == "train/images/img_000011.jpg"
    assert ix.data(StateRole) == "unreviewed"
    ix = model.index(model.row_of(23))
    assert ix.data(IssueCountRole) == counts[23] == 3
    assert ix.data(StateRole) == "issues"
    assert "3 open issues" in ix.data(Qt.ToolTipRole)
    assert not ix.data(Qt.DecorationRole).isNull()
    assert model.index(model.row_of(4)).data(StateRole) == "reviewed"  # index 3: reviewed, no issues
    assert model.index(model.row_of(1)).data(StateRole) == "issues"  # reviewed, but 1 open issue wins


def test_image_list_live_updates(qtbot, image_panel):
    panel, _, _ = image_panel
    model = panel.model
    ix = model.index(model.row_of(2))
    assert ix.data(StateRole) == "unreviewed"
    with qtbot.waitSignal(model.dataChanged):
        panel.update_status(2, ReviewStatus.REVIEWED)
    assert model.index(model.row_of(2)).data(StateRole) == "reviewed"
    panel.update_counts({2: 4})
    assert model.index(model.row_of(2)).data(IssueCountRole) == 4
    assert model.index(model.row_of(23)).data(IssueCountRole) == 0  # counts are replaced, not merged
    assert model.index(model.row_of(2)).data(StateRole) == "issues"


def test_image_list_activation_and_programmatic_select(qtbot, image_panel):
    panel, _, _ = image_panel
    fired = []
    panel.image_activated.connect(fired.append)
    assert panel.select_image(50_000)
    assert panel.current_image_id() == 50_000
    assert fired == []  # the controller's own selection never loops back
    with qtbot.waitSignal(panel.image_activated) as blocker:
        panel.view.setCurrentIndex(panel.model.index(panel.model.row_of(7)))  # as a click or arrow key does
    assert blocker.args == [7]
    with qtbot.waitSignal(panel.image_activated) as blocker:
        panel.view.activated.emit(panel.model.index(panel.model.row_of(9)))
    assert blocker.args == [9]
    assert panel.neighbor_image_id(7, 1) == 8
    panel.set_filters(text="img_00000")
    assert panel.current_image_id() == 7  # the current image survives a filter that keeps it
    assert not panel.select_image(50_000)  # filtered out


def _issue(i, kind, score, cls=None, scls=None, image_id=1, status=IssueStatus.OPEN):
    return Issue(id=i, image_id=image_id, kind=kind, score=score, status=status, cls=cls, suggested_cls=scls)


@pytest.fixture
def queue(qtbot):
    panel = IssueQueuePanel()
    qtbot.addWidget(panel)
    issues = [
        _issue(1, IssueKind.MISSING, 0.9, scls=0, image_id=10),
        _issue(2, IssueKind.CLASS, 0.9, cls=0, scls=1, image_id=11),
        _issue(3, IssueKind.SPURIOUS, 0.4, cls=1, image_id=10),
        _issue(4, IssueKind.LOCALIZATION, 0.95, cls=2, image_id=12),
        _issue(5, IssueKind.MISSING, 0.2, scls=2, image_id=12),
        _issue(6, IssueKind.DUPLICATE, 0.6, cls=1, image_id=11, status=IssueStatus.DISMISSED),
    ]
    panel.set_issues(list(reversed(issues)), {10: "a/x.jpg", 11: "a/y.jpg", 12: "b/z.jpg"},
                     {0: "rbc", 1: "wbc", 2: "platelets"})
    return panel


def _ids(panel):
    return [panel.model.index(r, 0).data(IssueIdRole) for r in range(panel.model.rowCount())]


def test_issue_queue_order_and_columns(queue):
    assert _ids(queue) == [4, 1, 2, 3, 5]  # score desc, then id; dismissed hidden
    assert queue.issue_ids() == [4, 1, 2, 3, 5]
    row = [queue.model.index(2, c).data() for c in range(4)]
    assert row == ["0.900", "class", "rbc → wbc", "y.jpg"]
    assert queue.model.index(1, 2).data() == "rbc"  # missing: the suggested class


def test_issue_queue_filters(qtbot, queue):
    with qtbot.waitSignal(queue.filter_changed) as blocker:
        queue.kind_actions["missing"].setChecked(False)
    f = blocker.args[0]
    assert isinstance(f, QueueFilter) and "missing" not in f.kinds
    assert _ids(queue) == [4, 2, 3]
    queue.set_kinds(ALL_KINDS)
    queue.class_combo.setCurrentIndex(queue.class_combo.findData(1))
    assert _ids(queue) == [2, 3]  # class 1 as current or suggested class
    assert queue.current_filter().cls == 1
    queue.set_class_filter(None)
    queue.min_spin.setValue(0.5)
    assert _ids(queue) == [4, 1, 2]
    queue.max_spin.setValue(0.92)
    assert _ids(queue) == [1, 2]
    queue.status_combo.setCurrentIndex(queue.status_combo.findData("all"))
    assert _ids(queue) == [1, 2, 6]
    f = queue.current_filter()
    assert f == QueueFilter(kinds=ALL_KINDS, cls=None, min_score=0.5, max_score=0.92, status="all")
    assert f.store_kwargs() == {"status": None, "kinds": None, "cls": None, "min_score": 0.5, "max_score": 0.92}


def test_issue_queue_cannot_uncheck_every_kind(queue):
    for kind, action in queue.kind_actions.items():
        action.setChecked(False)
    assert len(queue.current_filter().kinds) == 1  # the last one stays checked


def test_issue_queue_set_filter_and_threshold(qtbot, queue):
    with qtbot.waitSignal(queue.filter_changed) as blocker:
        queue.set_filter(QueueFilter(kinds=frozenset({"missing", "class"}), cls=0, min_score=0.0, max_score=1.0))
    assert blocker.args[0].kinds == frozenset({"missing", "class"})
    assert _ids(queue) == [1, 2]
    queue.set_min_score(0.95)
    queue.set_filter(QueueFilter())
    queue.set_min_score(0.5)
    assert _ids(queue) == [4, 1, 2]


def test_issue_queue_activation_select_and_neighbours(qtbot, queue):
    fired = []
    queue.issue_activated.connect(fired.append)
    assert queue.select_issue(2)
    assert queue.current_issue_id() == 2 and fired == []
    with qtbot.waitSignal(queue.issue_activated) as blocker:
        queue.view.setCurrentIndex(queue.model.index(3, 1))
    assert blocker.args == [3]
    assert queue.neighbor_issue_id(3, 1) == 5
    assert queue.neighbor_issue_id(5, 1) is None
    assert queue.neighbor_issue_id(None, 1) == 4
    assert queue.neighbor_issue_id(None, -1) == 5
    queue.set_issue_status(3, IssueStatus.FIXED)
    assert _ids(queue) == [4, 1, 2, 5]
    # A re-scored queue keeps the current issue current.
    queue.select_issue(1)
    queue.set_issues([_issue(1, IssueKind.MISSING, 0.5), _issue(9, IssueKind.MISSING, 0.7)], {}, {})
    assert _ids(queue) == [9, 1]
    assert queue.current_issue_id() == 1
    assert queue.model.index(0, 3).data() == "image 1"


def test_inspector_renders_box_and_history(qtbot):
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    assert not panel.isEnabled()
    history = [
        {"time": 1_700_000_000.0, "kind": "set-class",
         "before": {"labels": [{"id": 3, "image_id": 1, "x0": 1, "y0": 2, "x1": 30, "y1": 40, "cls": 0},
                               {"id": 4, "image_id": 1, "x0": 0, "y0": 0, "x1": 1, "y1": 1, "cls": 0}],
                    "issues": [[5, "open"]]},
         "after": {"labels": [{"id": 3, "image_id": 1, "x0": 1, "y0": 2, "x1": 30, "y1": 40, "cls": 1},
                              {"id": 4, "image_id": 1, "x0": 0, "y0": 0, "x1": 1, "y1": 1, "cls": 1}],
                   "issues": [[5, "fixed"]]}},
        {"time": 1_700_000_100.0, "kind": "nudge",
         "before": {"labels": [{"id": 3, "image_id": 1, "x0": 1, "y0": 2, "x1": 30, "y1": 40, "cls": 1}]},
         "after": {"labels": [{"id": 3, "image_id": 1, "x0": 2, "y0": 2, "x1": 31, "y1": 40, "cls": 1}]}},
    ]
    panel.show_box({"kind": "label", "id": 3, "class_name": "wbc", "box": (2, 2, 31, 40.5), "origin": "edited",
                    "confidence": None, "iou": 0.8123,
                    "match": {"kind": "prediction", "id": 9, "class_name": "wbc", "confidence": 0.91},
                    "history": history, "class_names": {0: "rbc", 1: "wbc"}})
    text = panel.text()
    assert panel.isEnabled()
    assert "Label #3" in text
    assert "Class: wbc" in text
    assert "Box: (2.0, 2.0) – (31.0, 40.5)" in text
    assert "Size: 29.0 × 38.5 px" in text
    assert "Origin: edited" in text
    assert "Confidence: —" in text
    assert "IoU: 0.812 with prediction #9 (wbc, 0.91)" in text
    lines = panel.history.toPlainText().splitlines()
    assert len(lines) == 2
    assert "set-class: class rbc → wbc; issue #5 open → fixed" in lines[0]
    assert "#4" not in lines[0]  # only the inspected label's change is described
    assert "nudge: box (1.0, 2.0) – (30.0, 40.0) → (2.0, 2.0) – (31.0, 40.0)" in lines[1]

    panel.show_box({"kind": "prediction", "id": 9, "class_name": "wbc", "box": (0, 0, 10, 10),
                    "origin": None, "confidence": 0.91, "iou": None, "history": []})
    text = panel.text()
    assert "Prediction #9" in text and "Confidence: 0.910" in text and "IoU: unmatched" in text
    panel.clear()
    assert "No box selected" in panel.text() and not panel.isEnabled()


@pytest.fixture
def classes_panel(qtbot):
    panel = ClassesPanel()
    qtbot.addWidget(panel)
    classes = [ClassInfo(i, f"class{i}", "#%02x0000" % (i * 20)) for i in range(11)]
    panel.set_classes(classes, {0: 1234, 2: 5})
    return panel


def test_classes_panel_rows(classes_panel):
    t = classes_panel.table
    assert t.rowCount() == 11
    assert [t.item(r, 1).text() for r in range(11)] == [str(k) for k in range(1, 10)] + ["", ""]
    assert t.item(0, 2).text() == "class0" and t.item(0, 3).text() == "1,234"
    assert t.item(1, 3).text() == "0"
    img = t.item(3, 0).icon().pixmap(8, 8).toImage()
    assert img.pixelColor(4, 4).name() == "#3c0000"


def test_classes_panel_signals(qtbot, classes_panel):
    p = classes_panel
    with qtbot.waitSignal(p.add_requested) as b:
        assert p.request_add("  neutrophil ")
    assert b.args == ["neutrophil"]
    with qtbot.assertNotEmitted(p.add_requested):
        assert not p.request_add("CLASS3")  # duplicate (case-insensitive)
        assert not p.request_add("   ")
    assert "exists" in p.message.text() or "empty" in p.message.text()

    p.select_class(2)
    with qtbot.waitSignal(p.rename_requested) as b:
        assert p.request_rename(name="platelet")
    assert b.args == [2, "platelet"]
    with qtbot.waitSignal(p.merge_requested) as b:
        assert p.request_merge(2, 0)
    assert b.args == [2, 0]
    with qtbot.assertNotEmitted(p.merge_requested):
        assert not p.request_merge(2, 2)
    with qtbot.waitSignal(p.color_requested) as b:
        assert p.request_color(1, "#A0B0C0")
    assert b.args == [1, "#a0b0c0"]
    assert not p.request_color(1, "red")


def test_classes_panel_dialog_paths(qtbot, classes_panel, monkeypatch):
    p = classes_panel
    monkeypatch.setattr(p, "_ask_text", lambda *a: "eosinophil")
    monkeypatch.setattr(p, "_ask_item", lambda title, prompt, items: items[-1])
    monkeypatch.setattr(p, "_ask_color", lambda current: "#123456")
    with qtbot.waitSignal(p.add_requested) as b:
        qtbot.mouseClick(p.add_button, Qt.LeftButton)
    assert b.args == ["eosinophil"]
    assert not p.rename_button.isEnabled()  # nothing selected
    with qtbot.waitSignal(p.class_selected) as b:
        p.table.selectRow(4)
    assert b.args == [4]
    with qtbot.waitSignal(p.rename_requested) as b:
        qtbot.mouseClick(p.rename_button, Qt.LeftButton)
    assert b.args == [4, "eosinophil"]
    with qtbot.waitSignal(p.merge_requested) as b:
        qtbot.mouseClick(p.merge_button, Qt.LeftButton)
    assert b.args == [4, 10]
    with qtbot.waitSignal(p.color_requested) as b:
        p._build_menu().actions()[3].trigger()
    assert b.args == [4, "#123456"]
    # After a refresh the selection stays on the same class.
    p.set_classes(p.classes())
    assert p.selected_class() == 4


def test_status_icons_are_distinct(qtbot):
    images = {s: status_icons.status_pixmap(s).toImage() for s in status_icons.STATES}
    assert len({bytes(np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())) for img in images.values()}) == 5
    with pytest.raises(ValueError):
        status_icons.status_pixmap("nope")
    assert status_icons.count_text(150) == "99+"
