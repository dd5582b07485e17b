"""The demo window: `boxfix demo` opens the project and starts the bundled model at once;
the queue fills as predictions arrive; Help > Demo progress reports the planted mistakes.
Uses the bundled demo model when it exists, else the tests' tiny model."""
from __future__ import annotations

import json

import pytest

from tests.ui._window_helpers import open_project_window, wait_idle

pytestmark = pytest.mark.gui


def _model():
    from desktop.demo.project import demo_model_imgsz, demo_model_path

    if demo_model_path().is_file():
        return demo_model_path(), demo_model_imgsz(), True
    tiny = pytest.importorskip("tests.detect.tiny_model")
    return tiny.tiny_model_path(), tiny.IMGSZ, False


def test_start_demo_with_a_missing_model_says_so(tmp_path, qtbot, user_config):
    tiny = pytest.importorskip("tests.detect.tiny_model")
    store = tiny.tiny_project(tmp_path, n=3)
    path = store.path
    store.close()
    win = open_project_window(qtbot, path, tmp_path / "s.ini", demo=True)
    assert not win.start_demo(model_path=tmp_path / "nope.pt")
    assert "missing" in win.statusBar().currentMessage()
    assert win.session.run_id is None  # nothing was created for a model that is not there
    win.close()


@pytest.fixture
def demo_project(tmp_path):
    """A small demo dataset (40 images, planted mistakes of every kind) imported as a project."""
    from desktop.core.formats import read_dataset
    from desktop.core.store import Store
    from desktop.demo.generate import generate_demo_dataset, manifest_path_for

    root = generate_demo_dataset(tmp_path / "demo", n_images=40)
    store = Store.create(tmp_path / "demo.boxfix", root, name="demo")
    store.import_dataset(read_dataset(root, "yolo"))
    store.close()
    return tmp_path / "demo.boxfix", json.loads(manifest_path_for(root).read_text())


def test_demo_progress_counts_a_fix_made_in_the_window(tmp_path, qtbot, user_config, demo_project):
    from desktop.core.geometry import iou_matrix
    from desktop.core.store import Store
    from desktop.demo.check import check_progress
    from desktop.demo.generate import manifest_path_for
    from desktop.ui.session import Selection
    import numpy as np

    path, manifest = demo_project
    win = open_project_window(qtbot, path, tmp_path / "s.ini")  # not demo mode: the manifest shows the entry
    assert win.demo_progress_action.isVisible()
    s = win.session
    text = win.demo_progress_text()
    before = win.demo_progress_numbers
    n = len(manifest["mistakes"])
    assert before["total"] == n and before["fixed"] == 0 and before["open"] == n and before["correct_changed"] == 0
    assert f"Planted mistakes: {n}" in text and "fixed: 0" in text and f"still open: {n}" in text
    assert "top 10 %" in text
    # Delete the planted spurious box through the window: one mistake fixed, nothing broken.
    spur = next(m for m in manifest["mistakes"] if m["kind"] == "spurious")
    image = next(im for im in s.images if im.path == spur["image"])
    s.goto_image(image.id)
    labels = s.content.labels
    ious = iou_matrix(np.array([lab.box.as_tuple() for lab in labels]), np.array([spur["planted"]["box"]]))[:, 0]
    target = labels[int(np.argmax(ious))]
    s.select(Selection("label", target.id))
    s.delete_selected()
    text = win.demo_progress_text()
    after = win.demo_progress_numbers
    assert after["fixed"] == 1 and after["open"] == n - 1 and after["correct_changed"] == 0
    assert after["by_kind"]["spurious"]["fixed"] == 1
    assert "fixed: 1" in text
    with Store.open(path, readonly=True) as st:  # the same figures as `boxfix demo --check`
        assert check_progress(st, manifest_path_for(st.dataset_root))["fixed"] == 1
    win.demo_progress()  # the menu entry opens a box with that text
    assert win.demo_box.text() == text
    win.demo_box.close()
    win.close()


def test_demo_progress_entry_hidden_for_other_projects(tmp_path, qtbot, user_config, project):
    win = open_project_window(qtbot, project.path, tmp_path / "s.ini")
    assert not win.demo_progress_action.isVisible()
    assert "not the demo project" in win.demo_progress_text()
    win.close()


@pytest.mark.slow
def test_demo_window_starts_the_run_and_the_queue_fills(tmp_path, qtbot, user_config, demo_project):
    """The bundled model when it is built, else the tiny test model (whose classes match none
    of the demo's: the planted duplicate and degenerate boxes still fill the queue)."""
    from desktop.core.store import Store

    model, imgsz, bundled = _model()
    path, _manifest = demo_project
    win = open_project_window(qtbot, path, tmp_path / "s.ini", demo=True)
    s = win.session
    assert win.demo_progress_action.isVisible()
    states, arrived, rescored = [], [], []
    win.runner.state_changed.connect(states.append)
    win.runner.image_done.connect(lambda r, i, n: arrived.append(i))
    s.rescored.connect(rescored.append)
    assert win.start_demo() if bundled else win.start_demo(model_path=model, imgsz=imgsz)
    qtbot.waitUntil(lambda: "finished" in states or "failed" in states, timeout=600_000)
    assert "failed" not in states
    wait_idle(qtbot, s)
    assert rescored[-1] == "full"  # the calibrating full re-score ran once the run ended
    assert sorted(arrived) == sorted(im.id for im in s.images)
    assert win.request.params.imgsz == imgsz
    with Store.open(path, readonly=True) as st:
        run = st.run_info(s.run_id)
        assert run.images_done == 40
        assert st.active_run() == s.run_id
        open_issues = st.issues(status="open")
    assert open_issues and s.queue
    assert [it.id for it in s.queue] == [it.id for it in open_issues]  # the queue shows the file's issues
    assert f"{len(open_issues)} open issues" in win.progress_label.text()
    if bundled:
        kinds = {it.kind.value for it in open_issues}
        assert {"missing", "localization", "class"} & kinds
    win.close()
