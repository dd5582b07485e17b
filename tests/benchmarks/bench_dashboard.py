"""Dashboard redraw at 1,000,000 boxes (set_data + one painted frame), against a naive plot
measured in the same run: every pair as a ScatterPlotItem point coloured by class and every
box size as a scatter point on log axes. Goal: < 50 ms for a redraw.

Two BoxFix figures: the full redraw (every view gets new arrays) and the live update after a
fix (issues and pairs change; the class counts, sizes and progress are left alone, which is
what passing None for them means). Run with `make bench`; prints a table, asserts no time.
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from desktop.ui.panels.dashboard import DashboardPanel

N = 1_000_000
REPEATS = 5


def _data(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return dict(
        issue_kind=rng.integers(0, 7, n // 10), issue_cls=rng.integers(-1, 20, n // 10), issue_score=rng.random(n // 10),
        pair_conf=rng.random(n), pair_iou=rng.random(n), pair_cls=rng.integers(0, 20, n),
        pair_image_id=rng.integers(0, 50_000, n), pair_label_id=np.arange(n),
        label_cls=rng.integers(0, 20, n), pred_cls=rng.integers(0, 20, n),
        box_w=rng.lognormal(3, 1, n), box_h=rng.lognormal(3, 1, n),
        review_times=rng.random(20_000) * 36_000, fix_times=rng.random(5_000) * 36_000,
        class_names={i: f"class{i}" for i in range(20)})


def _frame_ms(widget, fn) -> float:
    t = time.perf_counter()
    fn()
    widget.repaint()
    QApplication.processEvents()
    return (time.perf_counter() - t) * 1000


def test_bench_dashboard(qtbot):
    data = _data(N)
    d = DashboardPanel()
    qtbot.addWidget(d)
    d.resize(1000, 1100)
    d.show()
    qtbot.waitExposed(d)
    d.set_data(**data)  # warm-up: first-use costs (sprite atlas, fonts) are not a redraw
    QApplication.processEvents()

    full = statistics.median(_frame_ms(d.graphics.viewport(), lambda: d.set_data(**data)) for _ in range(REPEATS))
    live_keys = ("issue_kind", "issue_cls", "issue_score", "pair_conf", "pair_iou", "pair_cls", "pair_image_id",
                 "pair_label_id")
    live = {k: data[k] for k in live_keys}
    upd = statistics.median(_frame_ms(d.graphics.viewport(), lambda: d.set_data(**live)) for _ in range(REPEATS))
    parts = {}
    for name, fn in (("issues (100k)", lambda: d.set_issues(data["issue_kind"], data["issue_cls"], data["issue_score"])),
                     ("pairs", lambda: d.set_pairs(data["pair_conf"], data["pair_iou"], data["pair_cls"],
                                                   data["pair_image_id"], data["pair_label_id"])),
                     ("class counts", lambda: d.set_class_counts(data["label_cls"], data["pred_cls"])),
                     ("box sizes", lambda: d.set_box_sizes(data["box_w"], data["box_h"]))):
        parts[name] = statistics.median(_frame_ms(d.graphics.viewport(), fn) for _ in range(REPEATS))

    # Naive baseline: plot every point. One repeat: it takes seconds.
    win = pg.GraphicsLayoutWidget()
    qtbot.addWidget(win)
    win.resize(1000, 550)
    win.show()
    p1, p2 = win.addPlot(row=0, col=0), win.addPlot(row=0, col=1)
    p2.setLogMode(True, True)
    palette = [pg.mkBrush(pg.intColor(i, 20)) for i in range(20)]

    def naive():
        p1.clear()
        p2.clear()
        p1.addItem(pg.ScatterPlotItem(x=data["pair_conf"], y=data["pair_iou"], pen=None, size=3,
                                      brush=[palette[c] for c in data["pair_cls"].tolist()]))
        p2.addItem(pg.ScatterPlotItem(x=data["box_w"], y=data["box_h"], pen=None, size=3, brush=palette[0]))

    naive_ms = _frame_ms(win.viewport(), naive)

    print()
    print(f"{'dashboard, ' + format(N, ',') + ' boxes':44s} {'ms':>9s}")
    print(f"{'BoxFix full redraw (all views)':44s} {full:9.1f}")
    print(f"{'BoxFix live update (issues + pairs)':44s} {upd:9.1f}")
    for name, ms in parts.items():
        print(f"{'  ' + name:44s} {ms:9.1f}")
    print(f"{'naive: every pair + every size as points':44s} {naive_ms:9.1f}")
    print(f"speed-up, full redraw vs naive: {naive_ms / full:.1f}x; goal < 50 ms: "
          f"{'met' if full < 50 else 'NOT met'} (full), {'met' if upd < 50 else 'NOT met'} (live)")
