"""Model > Load and Model > Run from the window with a REAL (tiny) Ultralytics model:
predictions reach the file, the image on screen is predicted first, issues appear in the
queue, the status bar follows the run."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_model_run_from_the_window(tmp_path, qtbot, user_config):
    tiny = pytest.importorskip("tests.detect.tiny_model", reason="the tiny model fixture is not written yet")
    from desktop.app import build_window
    from desktop.core.store import Store

    model = tiny.tiny_model_path()
    store = tiny.tiny_project(tmp_path, n=6)
    path = store.path
    store.close()
    win = build_window(path, settings_path=tmp_path / "s.ini")
    win.setProperty("quiet_dialogs", True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    s = win.session
    on_screen = s.images[3].id
    s.goto_image(on_screen)
    assert win.load_model_dialog(str(model))  # Model > Load, the file chosen
    assert "box" in win.model_summary and "ball" in win.model_summary
    order, states = [], []
    win.runner.image_done.connect(lambda run_id, image_id, n: order.append(image_id))
    win.runner.state_changed.connect(states.append)
    win.qactions["run_model"].trigger()  # Model > Run
    qtbot.waitUntil(lambda: "finished" in states or "failed" in states, timeout=600_000)
    assert "failed" not in states
    assert order[0] == on_screen  # the image on screen is always predicted first
    assert sorted(order) == sorted(im.id for im in s.images)
    assert "finished" in win.detector_label.text()
    # The full re-score after a run happens in a worker: wait for it before comparing.
    qtbot.waitUntil(lambda: not s.busy(), timeout=120_000)
    with Store.open(path, readonly=True) as st:
        run = st.run_info(s.run_id)
        assert run.images_done == 6
        open_issues = st.issues(status="open")
    assert [it.id for it in s.queue] == [it.id for it in open_issues]  # the queue shows the file's issues
    assert f"{len(open_issues)} open issues" in win.progress_label.text()
    win.close()
