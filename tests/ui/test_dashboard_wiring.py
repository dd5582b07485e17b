"""View > Dashboard on the real window over a real project: bars filter the queue, the
threshold line sets the queue's min score, a pair click selects that box, edits update it."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


@pytest.fixture
def dash_window(open_window, project, qtbot):
    win = open_window(project)
    win.dashboard_action.trigger()  # View > Dashboard
    dock = win.docks["dashboard"]
    assert dock.isVisible()
    dock.setFloating(True)  # room for the plots whatever the test screen
    dock.resize(1000, 1000)
    qtbot.waitUntil(lambda: win.dashboard.updates >= 1, timeout=30_000)
    QApplication.processEvents()
    return win


def _click(qtbot, panel, scene_pos):
    qtbot.mouseClick(panel.graphics.viewport(), Qt.LeftButton, pos=panel.graphics.mapFromScene(scene_pos))


def _send(widget, kind, pos, buttons):
    button = Qt.LeftButton if kind != QEvent.MouseMove else Qt.NoButton
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def test_dashboard_shows_the_projects_issues(dash_window, project):
    p = dash_window.dashboard.panel
    assert sorted(p.kind_bars.keys) == sorted(project.issues)  # one bar per kind present
    assert p.kind_bars.heights.tolist() == [1.0] * 5
    x, y = p.score_curve.getData()
    assert y.sum() == 5
    # Labels per class from the file: cell 4, platelet 2, blob 2; predictions above 0.25.
    assert p.count_labels.opts["height"].tolist() == [4, 2, 2]
    assert len(p.pair_points.data) > 0  # matched label/prediction pairs


def test_bar_click_filters_the_queue(dash_window, qtbot):
    win, p, s = dash_window, dash_window.dashboard.panel, dash_window.session
    assert len(s.queue) == 5
    _click(qtbot, p, p.kind_bars.bar_center("class"))
    assert [it.kind.value for it in s.queue] == ["class"]
    assert win.queue_panel.model.rowCount() == 1
    _click(qtbot, p, p.kind_bars.bar_center("class"))  # again: every kind again
    assert len(s.queue) == 5
    cls = p.class_bars.keys[0]
    _click(qtbot, p, p.class_bars.bar_center(cls))
    assert s.queue and all(cls in (it.cls, it.suggested_cls) for it in s.queue)
    assert len(s.queue) < 5


def test_threshold_drag_sets_the_queue_min_score(dash_window, qtbot):
    win, p, s = dash_window, dash_window.dashboard.panel, dash_window.session
    vp = p.graphics.viewport()
    start = p.graphics.mapFromScene(p.score_plot.vb.mapViewToScene(QPointF(0.0, 0.5)))
    end = p.graphics.mapFromScene(p.score_plot.vb.mapViewToScene(QPointF(0.75, 0.5)))
    p.set_threshold(0.0)
    with qtbot.waitSignal(p.score_threshold_changed) as b:
        _send(vp, QEvent.MouseButtonPress, start, Qt.LeftButton)
        for k in range(1, 11):
            _send(vp, QEvent.MouseMove, start + (end - start) * (k / 10), Qt.LeftButton)
        _send(vp, QEvent.MouseButtonRelease, end, Qt.NoButton)
    t = b.args[0]
    assert t == pytest.approx(0.75, abs=0.04)
    assert win.queue_panel.current_filter().min_score == pytest.approx(t, abs=0.01)
    assert s.queue_filter["min_score"] == pytest.approx(t, abs=0.01)
    assert [it.score for it in s.queue] == [0.95, 0.90, 0.80]  # only issues scoring above the line


def test_pair_click_selects_that_box(dash_window, qtbot, project):
    win, p, s = dash_window, dash_window.dashboard.panel, dash_window.session
    pairs = p._pairs
    i = int(len(pairs["image_id"]) - 1)
    x, y = p.pair_points.data["x"][i], p.pair_points.data["y"][i]
    with qtbot.waitSignal(p.box_activated) as b:
        _click(qtbot, p, p.pair_plot.vb.mapViewToScene(QPointF(x, y)))
    image_id, label_id = b.args
    assert s.image_id == image_id
    assert s.selection is not None and s.selection.kind == "label" and s.selection.id == label_id


def test_edits_update_the_dashboard_live(dash_window, qtbot):
    win, ctl, s = dash_window, dash_window.dashboard, dash_window.session
    from desktop.ui.session import Selection

    n = ctl.updates
    s.goto_image(s.images[0].id)
    s.select(Selection("label", s.content.labels[0].id))  # the only "cell" of img0
    s.delete_selected()
    qtbot.waitUntil(lambda: ctl.updates > n, timeout=30_000)
    assert {"labels", "history"} <= ctl.last_parts  # only what the edit changed is read again
    assert "issues" in ctl.last_parts or ctl.updates > n
    assert ctl.panel.count_labels.opts["height"].tolist() == [3, 2, 2]
    x, y = ctl.panel.progress_fixes.getData()
    assert y.sum() == 1  # one fix in the review-progress plot


def test_hidden_dashboard_reads_nothing(open_window, project, qtbot):
    win = open_window(project)
    assert not win.docks["dashboard"].isVisible()
    qtbot.wait(500)
    assert win.dashboard.updates == 0
