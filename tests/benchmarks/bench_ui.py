"""Review-window speed (run by `make bench`, not `make test`). Prints a table and writes
docs/benchmarks/ui.md.

1. Next-image latency: from the D key press to the canvas's first painted frame that shows
   the new image's pixels and boxes, p50/p95 over consecutive images. Between presses the
   benchmark waits for the background prefetch to finish, like a labeler looking at the
   image. Goals: bccd p95 < 30 ms; the dsb2018 image with the most boxes (375) < 60 ms.
   Baseline, same run, same images: a bare QImageReader decode + QPixmap + one paint of a
   QLabel showing it (what any viewer must at least do, without boxes or prefetch).
2. GUI-thread stall while the detector runs: a 5 ms QTimer on the GUI thread records the
   gaps between its ticks, with and without a real model running in the DetectionRunner.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.core.formats import read_dataset  # noqa: E402
from desktop.core.store import Store  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "datasets"
N_STEPS = 40
RESULTS: dict[str, dict] = {}


def _pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def _project(tmp: Path, name: str) -> Path:
    root = SHARED / name
    if not root.is_dir():
        pytest.skip(f"shared dataset {name} not available")
    path = tmp / f"{name}.boxfix"
    store = Store.create(path, root)
    store.import_dataset(read_dataset(root))
    store.close()
    return path


def _window(qapp, path: Path, tmp: Path):
    from desktop.app import build_services, build_window

    services = build_services()
    win = build_window(str(path), settings_path=tmp / "s.ini", services=services)
    win.setProperty("quiet_dialogs", True)
    win.resize(1400, 900)
    win.show()
    win.activateWindow()
    qapp.processEvents()
    win.canvas.setFocus()
    return win


def _press_until_painted(qapp, win, key, target_id: int) -> float:
    from PySide6.QtTest import QTest

    painted = []
    conn = win.canvas.frame_painted.connect(lambda i, px: painted.append(i == target_id and px))
    t0 = time.perf_counter()
    QTest.keyClick(win.canvas, key)
    while not any(painted):
        qapp.processEvents()
    dt = (time.perf_counter() - t0) * 1000
    win.canvas.frame_painted.disconnect(conn)
    return dt


def _settle(qapp, win) -> None:
    win.canvas.loader.wait()
    for _ in range(3):
        qapp.processEvents()


def _baseline(qapp, paths: list[str]) -> list[float]:
    from PySide6.QtGui import QImageReader, QPixmap
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    label.resize(1000, 800)
    label.show()
    out = []
    for p in paths:
        t0 = time.perf_counter()
        r = QImageReader(p)
        r.setAutoTransform(True)
        label.setPixmap(QPixmap.fromImage(r.read()))
        label.repaint()
        out.append((time.perf_counter() - t0) * 1000)
    label.close()
    return out


def _navigate(qapp, win, ids: list[int]) -> list[float]:
    from PySide6.QtCore import Qt

    s = win.session
    s.goto_image(ids[0])
    _settle(qapp, win)
    times = []
    for i in range(1, len(ids)):
        times.append(_press_until_painted(qapp, win, Qt.Key.Key_D, ids[i]))
        _settle(qapp, win)
    return times


def test_next_image_latency_bccd(qapp, tmp_path):
    path = _project(tmp_path, "bccd")
    win = _window(qapp, path, tmp_path)
    ids = [im.id for im in win.session.images[:N_STEPS + 1]]
    times = _navigate(qapp, win, ids)
    base = _baseline(qapp, [str(win.session.store.image_path(im)) for im in win.session.images[1:N_STEPS + 1]])
    RESULTS["bccd next image (D)"] = dict(p50=_pct(times, 50), p95=_pct(times, 95), goal=30,
                                          base_p50=_pct(base, 50), base_p95=_pct(base, 95), n=len(times),
                                          boxes=max(len(win.session.store.labels(i)) for i in ids))
    win.close()


def test_next_image_latency_dsb2018_most_boxes(qapp, tmp_path):
    path = _project(tmp_path, "dsb2018")
    win = _window(qapp, path, tmp_path)
    s = win.session
    counts = s.store.class_counts  # noqa: F841 - keeps the store warm like the window does
    per_image = {im.id: len(s.store.labels(im.id)) for im in s.images}
    busiest = max(per_image, key=per_image.get)
    pos = s._pos[busiest]
    if pos == 0:
        pytest.skip("busiest image is first")
    prev = s.images[pos - 1].id
    times = []
    for _ in range(N_STEPS // 2):  # back and forth: every measured press lands on the busiest image
        s.goto_image(prev)
        _settle(qapp, win)
        from PySide6.QtCore import Qt

        times.append(_press_until_painted(qapp, win, Qt.Key.Key_D, busiest))
        _settle(qapp, win)
        win.canvas.loader.clear()  # decode it again each time: no cache help beyond prefetch
        s.goto_image(prev)
        _settle(qapp, win)
    base = _baseline(qapp, [str(s.store.image_path(s.images[pos]))] * (N_STEPS // 2))
    RESULTS[f"dsb2018 next image, {per_image[busiest]} boxes"] = dict(
        p50=_pct(times, 50), p95=_pct(times, 95), goal=60, base_p50=_pct(base, 50), base_p95=_pct(base, 95),
        n=len(times), boxes=per_image[busiest])
    win.close()


def _tick_gaps(qapp, seconds: float, busy=None) -> list[float]:
    from PySide6.QtCore import QTimer

    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and (busy is None or busy()):
        qapp.processEvents()
        time.sleep(0.001)
    timer.stop()
    return gaps


def test_gui_stall_while_detector_runs(qapp, tmp_path):
    try:
        from tests.detect.tiny_model import tiny_model_path
    except ImportError:
        pytest.skip("tiny model fixture missing")
    path = _project(tmp_path, "bccd")
    win = _window(qapp, path, tmp_path)
    idle = _tick_gaps(qapp, 2.0)
    assert win.load_model_dialog(str(tiny_model_path()), class_map_override={0: 0, 1: 1})
    states = []
    win.runner.state_changed.connect(states.append)
    win.run_model()
    busy = _tick_gaps(qapp, 20.0, busy=lambda: "finished" not in states and "failed" not in states)
    win.cancel_run()
    win.runner.wait(60_000)
    RESULTS["GUI tick gap, idle (5 ms timer)"] = dict(p50=_pct(idle, 50), p95=_pct(idle, 95), max=max(idle),
                                                      n=len(idle))
    RESULTS["GUI tick gap, detector running"] = dict(p50=_pct(busy, 50), p95=_pct(busy, 95), max=max(busy),
                                                     n=len(busy))
    win.close()


def test_zz_report():
    if not RESULTS:
        pytest.skip("nothing measured")
    lines = ["# Review window benchmarks", "",
             "Generated by `make bench` (tests/benchmarks/bench_ui.py). Times in ms.", "",
             "| What | n | p50 | p95 | max | goal p95 | baseline p50 | baseline p95 |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in RESULTS.items():
        f = lambda k: f"{r[k]:.1f}" if k in r else ""  # noqa: E731
        lines.append(f"| {name} | {r['n']} | {f('p50')} | {f('p95')} | {f('max')} | "
                     f"{r.get('goal', '')} | {f('base_p50')} | {f('base_p95')} |")
    lines += ["", "Latency: key press to the first painted frame with the new image's pixels and boxes; "
              "the benchmark waits for the prefetch between presses (a labeler looks at each image). "
              "Baseline: QImageReader decode + QPixmap + one QLabel repaint of the same image, no boxes. "
              "Stall: gaps between ticks of a 5 ms GUI-thread timer, idle vs. while the DetectionRunner "
              "predicts bccd with the tiny test model.", ""]
    text = "\n".join(lines)
    print("\n" + text)
    out = REPO / "docs" / "benchmarks" / "ui.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
