"""Dataset health dashboard (a dock, pyqtgraph): see before you read.

Seven views, fed with plain numpy arrays (no store access, no Issue objects required):

- open issues by kind (bars; a click emits `kind_filter_requested(kind)`)
- open issues by class (bars, the 20 largest classes; a click emits `class_filter_requested(idx)`)
- issue score histogram with a draggable threshold line (`score_threshold_changed(float)`)
- matched pairs: prediction confidence vs IoU, coloured by class; a click on a point emits
  `box_activated(image_id, label_id)`
- per-class counts, labels against predictions
- box sizes, width vs height, log-log
- review progress: images reviewed and fixes made per hour

Why it stays fast at 1,000,000 boxes: nothing is drawn per box. Counts are np.bincount,
histograms are computed on uniform bins by index arithmetic, the size plot and the pair plot's
background are 2-D histograms drawn as one image each, and only a stride sample of at most
MAX_POINTS pairs is drawn as clickable points (one ScatterPlotItem, one shared brush per class).

Live updates: pass only the arrays that changed; a view whose arrays are None is left alone.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.core.model import Issue

from .issue_queue import KIND_COLORS, KIND_ORDER

MAX_POINTS = 4_000  # clickable scatter points drawn at most; the density image shows the rest
TOP_CLASSES = 20  # classes shown in the by-class issue bars
SCORE_BINS = 50
DENSITY_BINS = 64  # per axis, pair-plot background and size plot
_KIND_CODES = {k: i for i, k in enumerate(KIND_ORDER)}
# Tick labels short enough that all seven kinds fit under half a dock's width: pyqtgraph
# drops a tick label that would overlap its neighbour, so long names lost the 7th label.
KIND_TICKS = {"missing": "missing", "spurious": "spurious", "localization": "loc.", "class": "class",
              "duplicate": "dup.", "degenerate": "degen.", "unlabeled-image": "no label"}
_PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c",
            "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000"]


def kind_codes(kind: np.ndarray) -> np.ndarray:
    """Issue kinds as int codes (index in KIND_ORDER, -1 unknown). Accepts codes already, or
    strings; strings are compared once per known kind (7 vector passes) rather than sorted."""
    kind = np.asarray(kind)
    if kind.dtype.kind in "iu":
        return kind.astype(np.int64)
    out = np.full(len(kind), -1, dtype=np.int64)
    for k, code in _KIND_CODES.items():
        out[kind == k] = code
    return out


def issue_arrays(issues: Sequence[Issue]) -> dict[str, np.ndarray]:
    """Columns of a list of Issue records, in the shape set_issues() takes."""
    n = len(issues)
    return {
        "kind": np.fromiter((_KIND_CODES.get(i.kind, -1) for i in issues), dtype=np.int64, count=n),
        "cls": np.fromiter((i.cls if i.cls is not None else (i.suggested_cls if i.suggested_cls is not None else -1)
                            for i in issues), dtype=np.int64, count=n),
        "score": np.fromiter((i.score for i in issues), dtype=float, count=n),
    }


def _bin_index(values, lo: float, hi: float, bins: int) -> np.ndarray:
    """Uniform-bin index of each value, clipped into [0, bins): float32/int32 arithmetic, the
    cheapest pass numpy offers over millions of values."""
    v = np.asarray(values, dtype=np.float32)
    idx = ((v - np.float32(lo)) * np.float32(bins / (hi - lo))).astype(np.int32)
    np.clip(idx, 0, bins - 1, out=idx)
    return idx


def uniform_hist(values: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """Counts on `bins` equal bins over [lo, hi] (values outside are clipped in), by index
    arithmetic + bincount: faster than np.histogram's general path on millions of values."""
    return np.bincount(_bin_index(values, lo, hi, bins), minlength=bins)


def hist2d(x: np.ndarray, y: np.ndarray, xr: tuple[float, float], yr: tuple[float, float], bins: int) -> np.ndarray:
    flat = _bin_index(x, xr[0], xr[1], bins) * np.int32(bins) + _bin_index(y, yr[0], yr[1], bins)
    return np.bincount(flat, minlength=bins * bins).reshape(bins, bins)


def stride_sample(n: int, k: int) -> np.ndarray:
    """At most k indices spread evenly over range(n): O(k), deterministic, so the same point
    stays under the cursor between redraws."""
    if n <= k:
        return np.arange(n)
    return np.linspace(0, n - 1, k).astype(np.int64)


class _BarPlot:
    """A bar chart whose bars map to keys; clicks are resolved from the x position."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.keys: list = []
        self.heights = np.zeros(0)
        self.item = pg.BarGraphItem(x=[], height=[], width=0.8)
        plot.addItem(self.item)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()

    def set_bars(self, keys: list, heights: np.ndarray, labels: list[str], colors: list[str]) -> None:
        self.keys = list(keys)
        self.heights = np.asarray(heights, dtype=float)
        x = np.arange(len(keys))
        self.item.setOpts(x=x, height=self.heights, width=0.8, brushes=[pg.mkBrush(c) for c in colors])
        self.plot.getAxis("bottom").setTicks([list(zip(x.tolist(), labels))])
        self.plot.setXRange(-0.6, max(len(keys), 1) - 0.4, padding=0)
        self.plot.setYRange(0, max(float(self.heights.max()) if len(self.heights) else 1.0, 1.0) * 1.05, padding=0)

    def key_at(self, x: float):
        i = int(round(x))
        if 0 <= i < len(self.keys) and abs(x - i) <= 0.4:
            return self.keys[i]
        return None

    def bar_center(self, key) -> QPointF:
        """Scene position of the middle of a bar (for tests and tooltips)."""
        i = self.keys.index(key)
        return self.plot.vb.mapViewToScene(QPointF(i, self.heights[i] / 2))


class DashboardPanel(QWidget):
    kind_filter_requested = Signal(str)
    class_filter_requested = Signal(int)
    score_threshold_changed = Signal(float)
    box_activated = Signal(int, int)  # image_id, label_id

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)
        self.class_names: dict[int, str] = {}
        self.class_colors: dict[int, str] = {}
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        g = self.graphics

        self.kind_plot = g.addPlot(row=0, col=0, title="Open issues by kind")
        self.class_plot = g.addPlot(row=0, col=1, title="Open issues by class")
        self.score_plot = g.addPlot(row=1, col=0, title="Issue scores")
        self.pair_plot = g.addPlot(row=1, col=1, title="Matched pairs: confidence vs IoU")
        # The series are named in the title, in their colours: a legend sat on top of the bars.
        self.count_plot = g.addPlot(row=2, col=0, title="Boxes per class: <span style='color:#4363d8'>labels</span>"
                                    " / <span style='color:#f58231'>predictions</span>")
        self.size_plot = g.addPlot(row=2, col=1, title="Box sizes (px, log-log)")
        self.progress_plot = g.addPlot(row=3, col=0, colspan=2, title="Review per hour: <span style='color:#2e9d4f'>"
                                       "images reviewed</span> / <span style='color:#d9432f'>fixes</span>")

        self.kind_bars = _BarPlot(self.kind_plot)
        self.class_bars = _BarPlot(self.class_plot)

        self.score_curve = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(100, 120, 200, 120), pen="#4363d8")
        self.score_plot.addItem(self.score_curve)
        self.threshold_line = pg.InfiniteLine(pos=0.0, angle=90, movable=True, bounds=(0.0, 1.0),
                                              pen=pg.mkPen("#d9432f", width=2), hoverPen=pg.mkPen("#ff0000", width=3))
        self.score_plot.addItem(self.threshold_line)
        self.score_plot.setXRange(0, 1, padding=0.02)
        self.score_plot.setMouseEnabled(x=False, y=False)
        self.score_plot.setLabel("bottom", "score")
        self.threshold_line.sigPositionChangeFinished.connect(self._on_threshold_moved)

        self.pair_density = pg.ImageItem()
        self.pair_density.setRect(0, 0, 1, 1)
        self.pair_plot.addItem(self.pair_density)
        self.pair_points = pg.ScatterPlotItem(size=5, pen=None, hoverable=False)
        self.pair_points.sigClicked.connect(self._on_point_clicked)
        self.pair_plot.addItem(self.pair_points)
        self.pair_plot.setXRange(0, 1, padding=0.02)
        self.pair_plot.setYRange(0, 1, padding=0.02)
        self.pair_plot.setLabel("bottom", "prediction confidence")
        self.pair_plot.setLabel("left", "IoU with label")
        self._pairs = {"image_id": np.zeros(0, np.int64), "label_id": np.zeros(0, np.int64)}

        self.count_labels = pg.BarGraphItem(x=[], height=[], width=0.4, brush="#4363d8")
        self.count_preds = pg.BarGraphItem(x=[], height=[], width=0.4, brush="#f58231")
        self.count_plot.addItem(self.count_labels)
        self.count_plot.addItem(self.count_preds)
        self.count_plot.setMouseEnabled(x=False, y=False)
        self.count_plot.hideButtons()

        self.size_image = pg.ImageItem()
        self.size_plot.addItem(self.size_image)
        # View coordinates are log10(px). The ticks are set by hand (1, 2, 5 per decade, see
        # _log_ticks): pyqtgraph's log mode labels every minor tick and they run together.
        self.size_plot.setLabel("bottom", "width")
        self.size_plot.setLabel("left", "height")

        self.progress_reviewed = pg.PlotDataItem(stepMode="center", pen=pg.mkPen("#2e9d4f", width=2), name="reviewed")
        self.progress_fixes = pg.PlotDataItem(stepMode="center", pen=pg.mkPen("#d9432f", width=2), name="fixes")
        self.progress_plot.addItem(self.progress_reviewed)
        self.progress_plot.addItem(self.progress_fixes)
        self.progress_plot.setLabel("bottom", "hours since first review")

        cmap = pg.colormap.get("CET-L2")  # light-to-dark grey: the background, not the story
        lut = cmap.getLookupTable(nPts=256)[::-1]
        self.pair_density.setLookupTable(lut)
        self.size_image.setColorMap(pg.colormap.get("viridis"))

        self.graphics.scene().sigMouseClicked.connect(self._on_scene_click)

    # ------------------------------------------------------------------ data in
    def set_class_names(self, names: Mapping[int, str], colors: Mapping[int, str] | None = None) -> None:
        self.class_names = dict(names)
        self.class_colors = dict(colors or {})

    def set_data(self, *, issue_kind=None, issue_cls=None, issue_score=None,
                 pair_conf=None, pair_iou=None, pair_cls=None, pair_image_id=None, pair_label_id=None,
                 label_cls=None, pred_cls=None, box_w=None, box_h=None,
                 review_times=None, fix_times=None,
                 class_names: Mapping[int, str] | None = None, class_colors: Mapping[int, str] | None = None) -> None:
        """Update the views whose arrays are given (None leaves a view as it is)."""
        if class_names is not None:
            self.set_class_names(class_names, class_colors)
        if issue_score is not None:
            self.set_issues(issue_kind, issue_cls, issue_score)
        if pair_conf is not None:
            self.set_pairs(pair_conf, pair_iou, pair_cls, pair_image_id, pair_label_id)
        if label_cls is not None or pred_cls is not None:
            self.set_class_counts(label_cls, pred_cls)
        if box_w is not None:
            self.set_box_sizes(box_w, box_h)
        if review_times is not None or fix_times is not None:
            self.set_progress(review_times, fix_times)

    def set_issues(self, kind, cls, score) -> None:
        """Open issues: kind (codes or strings), class (-1 for none; the suggested class
        where the issue has no class), score in [0, 1]."""
        codes = kind_codes(kind)
        by_kind = np.bincount(codes[codes >= 0], minlength=len(KIND_ORDER))
        shown = [i for i in range(len(KIND_ORDER)) if by_kind[i] > 0] or list(range(len(KIND_ORDER)))
        self.kind_bars.set_bars([KIND_ORDER[i] for i in shown], by_kind[shown],
                                [KIND_TICKS.get(KIND_ORDER[i], KIND_ORDER[i]) for i in shown],
                                [KIND_COLORS[KIND_ORDER[i]] for i in shown])
        cls = np.asarray(cls, dtype=np.int64)
        by_cls = np.bincount(cls[cls >= 0]) if (cls >= 0).any() else np.zeros(0, np.int64)
        top = np.argsort(-by_cls, kind="stable")[:TOP_CLASSES]
        top = top[by_cls[top] > 0]
        self.class_bars.set_bars(top.tolist(), by_cls[top], [self._name(c) for c in top.tolist()],
                                 [self._color(c) for c in top.tolist()])
        counts = uniform_hist(score, 0.0, 1.0, SCORE_BINS)
        self.score_curve.setData(np.linspace(0, 1, SCORE_BINS + 1), counts)

    def set_pairs(self, conf, iou, cls, image_id, label_id) -> None:
        """Matched label/prediction pairs; one entry per pair."""
        conf = np.asarray(conf, dtype=float)
        iou = np.asarray(iou, dtype=float)
        cls = np.asarray(cls, dtype=np.int64)
        self._pairs = {"image_id": np.asarray(image_id, dtype=np.int64), "label_id": np.asarray(label_id, dtype=np.int64)}
        density = hist2d(conf, iou, (0, 1), (0, 1), DENSITY_BINS).astype(float)
        self.pair_density.setImage(np.log1p(density), autoLevels=True)
        self.pair_density.setRect(0, 0, 1, 1)
        sample = stride_sample(len(conf), MAX_POINTS)
        # One item, one shared QBrush per class: pyqtgraph caches one sprite per brush, so
        # drawing costs the same for 2 classes or 80.
        brushes = {c: pg.mkBrush(self._color(c)) for c in np.unique(cls[sample]).tolist()}
        self.pair_points.setData(x=conf[sample], y=iou[sample], data=sample,
                                 brush=[brushes[c] for c in cls[sample].tolist()])

    def set_class_counts(self, label_cls=None, pred_cls=None) -> None:
        lab = np.asarray(label_cls if label_cls is not None else [], dtype=np.int64)
        pre = np.asarray(pred_cls if pred_cls is not None else [], dtype=np.int64)
        lab = lab if lab.min(initial=0) >= 0 else lab[lab >= 0]  # masks only when needed (1M boxes)
        pre = pre if pre.min(initial=0) >= 0 else pre[pre >= 0]
        n = int(max(lab.max(initial=-1), pre.max(initial=-1))) + 1
        lc, pc = np.bincount(lab, minlength=n), np.bincount(pre, minlength=n)
        x = np.arange(n)
        self.count_labels.setOpts(x=x - 0.2, height=lc, width=0.4)
        self.count_preds.setOpts(x=x + 0.2, height=pc, width=0.4)
        step = max(1, n // 20)  # at most ~20 tick labels
        self.count_plot.getAxis("bottom").setTicks([[(i, self._name(i)) for i in range(0, n, step)]])
        if n:
            self.count_plot.setXRange(-0.6, n - 0.4, padding=0)
            self.count_plot.setYRange(0, max(int(lc.max(initial=0)), int(pc.max(initial=0)), 1) * 1.05, padding=0)

    def set_box_sizes(self, w, h) -> None:  # noqa: D401 - see _log_ticks for the axes
        w = np.asarray(w, dtype=float)
        h = np.asarray(h, dtype=float)
        ok = (w > 0) & (h > 0)
        lw, lh = np.log10(w[ok]), np.log10(h[ok])
        if len(lw) == 0:
            self.size_image.clear()
            return
        xr = (float(np.floor(lw.min())), float(np.ceil(lw.max())) + 1e-9)
        yr = (float(np.floor(lh.min())), float(np.ceil(lh.max())) + 1e-9)
        img = hist2d(lw, lh, xr, yr, DENSITY_BINS).astype(float)
        img[img == 0] = np.nan  # empty bins stay white
        self.size_image.setImage(np.log1p(img), autoLevels=False, levels=(0, max(np.nanmax(np.log1p(img)), 1e-6)))
        self.size_image.setRect(xr[0], yr[0], xr[1] - xr[0], yr[1] - yr[0])
        self.size_plot.setRange(xRange=xr, yRange=yr, padding=0.02)
        self.size_plot.getAxis("bottom").setTicks(_log_ticks(*xr))
        self.size_plot.getAxis("left").setTicks(_log_ticks(*yr, steps=(1,)))  # a short axis: decades only

    def set_progress(self, review_times=None, fix_times=None) -> None:
        rt = np.asarray(review_times if review_times is not None else [], dtype=float)
        ft = np.asarray(fix_times if fix_times is not None else [], dtype=float)
        both = np.concatenate([rt, ft])
        if len(both) == 0:
            self.progress_reviewed.setData([], [])
            self.progress_fixes.setData([], [])
            return
        t0 = float(both.min())
        hours = int((both.max() - t0) // 3600) + 1
        edges = np.arange(hours + 1, dtype=float)
        self.progress_reviewed.setData(edges, np.bincount(((rt - t0) // 3600).astype(np.int64), minlength=hours))
        self.progress_fixes.setData(edges, np.bincount(((ft - t0) // 3600).astype(np.int64), minlength=hours))

    def set_threshold(self, value: float) -> None:
        """Move the threshold line from code (the queue's min score); emits nothing."""
        self.threshold_line.blockSignals(True)
        self.threshold_line.setValue(float(value))
        self.threshold_line.blockSignals(False)

    # ------------------------------------------------------------------ interactions
    def _on_threshold_moved(self, line) -> None:
        self.score_threshold_changed.emit(float(np.clip(line.value(), 0.0, 1.0)))

    def _on_point_clicked(self, _item, points, _ev=None) -> None:
        if len(points) == 0:
            return
        i = int(points[0].data())
        self.box_activated.emit(int(self._pairs["image_id"][i]), int(self._pairs["label_id"][i]))

    def _on_scene_click(self, ev) -> None:
        for bars, signal in ((self.kind_bars, self.kind_filter_requested), (self.class_bars, self.class_filter_requested)):
            vb = bars.plot.vb
            if vb.sceneBoundingRect().contains(ev.scenePos()):
                p = vb.mapSceneToView(ev.scenePos())
                key = bars.key_at(p.x())
                if key is not None and p.y() >= 0:
                    signal.emit(key)
                return

    # ------------------------------------------------------------------ helpers
    def _name(self, c: int) -> str:
        return self.class_names.get(c, str(c))

    def _color(self, c: int) -> str:
        return self.class_colors.get(c) or _PALETTE[c % len(_PALETTE)]


def _log_ticks(lo: float, hi: float, steps=(1, 2, 5)) -> list[list[tuple[float, str]]]:
    """Major ticks at 1, 2 and 5 times each power of ten between 10**lo and 10**hi, labelled
    in plain pixels, for an axis whose coordinates are log10(px)."""
    major = []
    for decade in range(int(np.floor(lo)), int(np.ceil(hi)) + 1):
        for m in steps:
            v = m * 10.0 ** decade
            if lo - 1e-9 <= np.log10(v) <= hi + 1e-9:
                major.append((float(np.log10(v)), f"{v:g}"))
    return [major, []]
