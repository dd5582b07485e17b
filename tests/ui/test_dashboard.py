"""Dashboard interactions with real mouse events offscreen: bar click -> filter request,
threshold line drag -> score threshold, point click -> box."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from desktop.core.model import Issue, IssueKind, IssueStatus
from desktop.ui.panels.dashboard import DashboardPanel, hist2d, issue_arrays, kind_codes, stride_sample, uniform_hist

pytestmark = pytest.mark.gui


@pytest.fixture
def dash(qtbot):
    d = DashboardPanel()
    qtbot.addWidget(d)
    d.resize(900, 1000)
    d.show()
    qtbot.waitExposed(d)
    d.set_data(
        issue_kind=np.array(["missing"] * 5 + ["class"] * 2 + ["spurious"]),
        issue_cls=np.array([0, 0, 1, 1, 1, 2, 2, -1]),
        issue_score=np.array([0.1, 0.2, 0.3, 0.9, 0.95, 0.5, 0.55, 0.7]),
        # Three far-apart pairs so a click lands on exactly one.
        pair_conf=np.array([0.2, 0.5, 0.9]), pair_iou=np.array([0.2, 0.8, 0.5]), pair_cls=np.array([0, 1, 2]),
        pair_image_id=np.array([11, 12, 13]), pair_label_id=np.array([101, 102, 103]),
        label_cls=np.array([0, 0, 1, 2]), pred_cls=np.array([0, 1, 1, 1, 2]),
        box_w=np.array([10.0, 100.0, 1000.0]), box_h=np.array([20.0, 50.0, 500.0]),
        review_times=np.array([0.0, 10.0, 3700.0]), fix_times=np.array([5.0, 7300.0]),
        class_names={0: "rbc", 1: "wbc", 2: "platelets"})
    QApplication.processEvents()
    return d


def _viewport_pos(d: DashboardPanel, plot, x: float, y: float) -> QPoint:
    scene = plot.vb.mapViewToScene(QPointF(x, y))
    return d.graphics.mapFromScene(scene)


def _send(widget, kind, pos: QPoint, buttons) -> None:
    # QTest's mouseMove carries no buttons, which drag handlers need: build the events.
    button = Qt.LeftButton if kind != QEvent.MouseMove else Qt.NoButton
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def test_bars_show_counts(dash):
    assert dash.kind_bars.keys == ["missing", "spurious", "class"]  # KIND_ORDER, empty kinds hidden
    assert dash.kind_bars.heights.tolist() == [5, 1, 2]
    assert dash.class_bars.keys == [1, 0, 2]  # largest first
    assert dash.class_bars.heights.tolist() == [3, 2, 2]
    x, y = dash.score_curve.getData()
    assert y.sum() == 8 and y[47] == 1 and y[-1] == 0  # 0.95 in bin 47 of 50


def test_bar_click_requests_a_queue_filter(qtbot, dash):
    pos = dash.graphics.mapFromScene(dash.kind_bars.bar_center("class"))
    with qtbot.waitSignal(dash.kind_filter_requested) as b:
        qtbot.mouseClick(dash.graphics.viewport(), Qt.LeftButton, pos=pos)
    assert b.args == ["class"]
    pos = dash.graphics.mapFromScene(dash.class_bars.bar_center(0))
    with qtbot.waitSignal(dash.class_filter_requested) as b:
        qtbot.mouseClick(dash.graphics.viewport(), Qt.LeftButton, pos=pos)
    assert b.args == [0]
    # A click between bars asks for nothing.
    with qtbot.assertNotEmitted(dash.kind_filter_requested, wait=50):
        qtbot.mouseClick(dash.graphics.viewport(), Qt.LeftButton, pos=_viewport_pos(dash, dash.kind_plot, 0.5, 1))


def test_threshold_line_drag_sets_score_threshold(qtbot, dash):
    vp = dash.graphics.viewport()
    dash.set_threshold(0.2)
    QApplication.processEvents()
    start = _viewport_pos(dash, dash.score_plot, 0.2, 1.0)
    end = _viewport_pos(dash, dash.score_plot, 0.6, 1.0)
    with qtbot.waitSignal(dash.score_threshold_changed) as b:
        _send(vp, QEvent.MouseButtonPress, start, Qt.LeftButton)
        for k in range(1, 11):
            _send(vp, QEvent.MouseMove, start + (end - start) * (k / 10), Qt.LeftButton)
        _send(vp, QEvent.MouseButtonRelease, end, Qt.NoButton)
    assert b.args[0] == pytest.approx(0.6, abs=0.03)
    assert 0.0 <= b.args[0] <= 1.0


def test_point_click_activates_the_box(qtbot, dash):
    pos = _viewport_pos(dash, dash.pair_plot, 0.5, 0.8)
    with qtbot.waitSignal(dash.box_activated) as b:
        qtbot.mouseClick(dash.graphics.viewport(), Qt.LeftButton, pos=pos)
    assert b.args == [12, 102]


def test_helpers():
    assert kind_codes(np.array(["class", "missing", "nope"])).tolist() == [3, 0, -1]
    assert uniform_hist(np.array([0.0, 0.5, 1.0, 2.0]), 0, 1, 4).tolist() == [1, 0, 1, 2]
    h = hist2d(np.array([0.1, 0.9]), np.array([0.9, 0.1]), (0, 1), (0, 1), 2)
    assert h.tolist() == [[0, 1], [1, 0]]
    s = stride_sample(1_000_000, 1000)
    assert len(s) == 1000 and s[0] == 0 and s[-1] == 999_999
    arr = issue_arrays([Issue(1, 1, IssueKind.MISSING, 0.5, IssueStatus.OPEN, suggested_cls=3),
                        Issue(2, 1, IssueKind.CLASS, 0.7, IssueStatus.OPEN, cls=1, suggested_cls=2)])
    assert arr["kind"].tolist() == [0, 3] and arr["cls"].tolist() == [3, 1]


def test_large_inputs_are_downsampled(qtbot):
    d = DashboardPanel()
    qtbot.addWidget(d)
    rng = np.random.default_rng(0)
    n = 200_000
    d.set_pairs(rng.random(n), rng.random(n), rng.integers(0, 5, n), np.arange(n), np.arange(n))
    from desktop.ui.panels import dashboard

    assert len(d.pair_points.data) == dashboard.MAX_POINTS
    assert d.pair_density.image.shape == (dashboard.DENSITY_BINS, dashboard.DENSITY_BINS)
