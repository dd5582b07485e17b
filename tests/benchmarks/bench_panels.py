"""Image list at 100,000 images: time to load the list and to filter it by name, against a
baseline measured in the same run: a QStringListModel of the same paths in a QListView, with a
QSortFilterProxyModel for the name filter (what a plain Qt list would do).

Run with `make bench`. Prints a table; asserts nothing about time (figures depend on the machine).
"""
from __future__ import annotations

import statistics
import time

from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt
from PySide6.QtWidgets import QApplication, QListView

from desktop.core.model import ImageInfo, ReviewStatus, Split
from desktop.ui.panels.image_list import ImageListPanel

N = 100_000
REPEATS = 5
NEEDLES = ("img_0001", "val/", "zzz-not-there", "")


def _images() -> list[ImageInfo]:
    return [ImageInfo(id=i + 1, path=f"{('train', 'val')[i % 5 == 0]}/images/img_{i:06d}.jpg", width=640,
                      height=480, split=Split.VAL if i % 5 == 0 else Split.TRAIN,
                      status=ReviewStatus.REVIEWED if i % 3 == 0 else ReviewStatus.UNREVIEWED) for i in range(N)]


def _median_ms(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        QApplication.processEvents()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def test_bench_image_list(qtbot):
    images = _images()
    paths = [im.path for im in images]
    counts = {im.id: 1 for im in images[::13]}
    classes = {im.id: {im.id % 3} for im in images}

    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 800)
    panel.show()

    view = QListView()
    qtbot.addWidget(view)
    view.setUniformItemSizes(True)
    view.resize(400, 800)
    view.show()
    base = QStringListModel()
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(base)
    proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
    view.setModel(proxy)

    rows = []
    ours = _median_ms(lambda: panel.set_images(images, counts, classes, {0: "a", 1: "b", 2: "c"}))
    theirs = _median_ms(lambda: base.setStringList(paths))
    rows.append(("set 100,000 images", ours, theirs))

    for needle in NEEDLES:
        ours = _median_ms(lambda: panel.set_filters(text=needle))
        theirs = _median_ms(lambda: proxy.setFilterFixedString(needle))
        assert panel.model.rowCount() == proxy.rowCount(), needle  # same rows, or the race is unfair
        rows.append((f"filter name {needle!r} -> {proxy.rowCount():,} rows", ours, theirs))

    panel.set_filters(text="")
    ours = _median_ms(lambda: panel.set_filters(status="issues"))
    rows.append(("filter status 'has issues'", ours, float("nan")))
    panel.set_filters(status="all")
    ours = _median_ms(lambda: (panel.update_counts(counts), panel.view.viewport().repaint()))
    rows.append(("update all issue counts + repaint", ours, float("nan")))
    ours = _median_ms(lambda: panel.select_image(N // 2 + (time.perf_counter_ns() % 1000)))
    rows.append(("select + scroll to an image", ours, float("nan")))

    print()
    print(f"{'image list, ' + format(N, ',') + ' images':48s} {'BoxFix ms':>10s} {'baseline ms':>12s} {'ratio':>7s}")
    for name, a, b in rows:
        ratio = f"{a / b:6.2f}x" if b == b and b > 0 else "      -"
        base_txt = f"{b:12.1f}" if b == b else f"{'-':>12s}"
        print(f"{name:48s} {a:10.1f} {base_txt} {ratio}")
    print("baseline: QStringListModel + QSortFilterProxyModel (fixed string, case-insensitive), same paths")
