"""The Qt runner, driven through its signals with pytest-qt and a real tiny model."""
from __future__ import annotations

import pytest

from desktop.detect.detector import DetectParams, UltralyticsDetector
from desktop.detect.runner import DetectionRequest, DetectionRunner, Progress, prepare_request

pytestmark = [pytest.mark.slow, pytest.mark.gui]

LOW = DetectParams(conf=0.001, imgsz=128, batch=1)
LONG = 120_000  # ms: only a guard against hanging, never a speed target


class Recorder:
    def __init__(self, runner):
        self.done, self.states, self.progress, self.errors, self.failed, self.finished = [], [], [], [], [], []
        runner.image_done.connect(lambda run, img, n: self.done.append((run, img, n)))
        runner.state_changed.connect(self.states.append)
        runner.progress.connect(self.progress.append)
        runner.image_error.connect(lambda run, img, msg: self.errors.append((run, img, msg)))
        runner.failed.connect(lambda run, msg: self.failed.append((run, msg)))
        runner.finished.connect(self.finished.append)

    def images(self):
        return [img for _run, img, _n in self.done]


@pytest.fixture
def runner(qtbot, make_project):
    made = []

    def make(store, **kw):
        r = DetectionRunner(store, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.shutdown()


def test_signals_of_a_full_run(qtbot, make_project, tiny_model, runner):
    store = make_project(n=6)
    run = runner(store)
    rec = Recorder(run)
    req = prepare_request(store, tiny_model, LOW)
    with qtbot.waitSignal(run.finished, timeout=LONG) as blocker:
        run.start(req)
        assert run.is_running()
    assert blocker.args == [req.run_id]
    assert sorted(rec.images()) == sorted(req.image_ids)  # each image once
    assert all(r == req.run_id and n > 0 for r, _i, n in rec.done)
    assert rec.states == ["loading", "running", "finished"]
    last = rec.progress[-1]
    assert isinstance(last, Progress) and (last.run_id, last.done, last.total) == (req.run_id, 6, 6)
    assert last.images_per_s > 0 and last.eta_s == 0
    assert [p.done for p in rec.progress] == sorted(p.done for p in rec.progress)
    qtbot.waitUntil(lambda: not run.is_running(), timeout=LONG)
    assert store.done_image_ids(req.run_id) == set(req.image_ids)


def test_a_model_that_fails_to_load_gives_one_failed_signal(qtbot, make_project, tmp_path, runner):
    store = make_project(n=2)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint" * 20)
    run_id = store.create_run("broken", model_path=str(broken))
    run = runner(store)
    rec = Recorder(run)
    req = DetectionRequest(run_id, str(broken), LOW, {}, tuple(i.id for i in store.images()))
    with qtbot.waitSignal(run.failed, timeout=LONG) as blocker:
        run.start(req)
    assert blocker.args[0] == run_id and "broken.pt" in blocker.args[1] and "cannot load" in blocker.args[1]
    qtbot.waitUntil(lambda: not run.is_running(), timeout=LONG)
    assert len(rec.failed) == 1 and rec.done == [] and rec.states[-1] == "failed"


def test_cancel_then_resume_finishes_without_doing_an_image_twice(qtbot, make_project, tiny_model, runner):
    store = make_project(n=8)
    run = runner(store)
    rec = Recorder(run)
    req = prepare_request(store, tiny_model, LOW)
    run.image_done.connect(lambda *_: run.cancel())
    with qtbot.waitSignal(run.state_changed, timeout=LONG, check_params_cb=lambda s: s == "cancelled"):
        run.start(req)
    qtbot.waitUntil(lambda: not run.is_running(), timeout=LONG)
    first = rec.images()
    assert 1 <= len(first) < 8 and rec.finished == []
    assert store.done_image_ids(req.run_id) == set(first)

    run.image_done.disconnect()
    rec2 = Recorder(run)
    with qtbot.waitSignal(run.finished, timeout=LONG):
        run.start(prepare_request(store, tiny_model, LOW))
    second = rec2.images()
    assert sorted(first + second) == sorted(req.image_ids)  # none twice, none missing
    assert rec2.progress[0].done == len(first)  # the cached part counts as done


def test_pause_holds_and_resume_continues(qtbot, make_project, tiny_model, runner):
    store = make_project(n=6)
    run = runner(store)
    rec = Recorder(run)
    req = prepare_request(store, tiny_model, LOW)
    paused_once = []

    def pause_first(*_):
        if not paused_once:
            paused_once.append(True)
            run.pause()

    run.image_done.connect(pause_first)
    run.start(req)
    qtbot.waitUntil(lambda: run.state == "paused", timeout=LONG)
    qtbot.wait(300)  # let the batch in flight (if any) land
    held = len(rec.done)
    qtbot.wait(700)
    assert len(rec.done) == held < 6 and run.is_running() and run.state == "paused"
    with qtbot.waitSignal(run.finished, timeout=LONG):
        run.resume()
    assert sorted(rec.images()) == sorted(req.image_ids)
    assert "paused" in rec.states and rec.states[-1] == "finished"


def test_priority_follows_navigation(qtbot, make_project, tiny_model, runner):
    store = make_project(n=10)
    ids = [im.id for im in store.images()]
    run = runner(store)
    rec = Recorder(run)
    req = prepare_request(store, tiny_model, LOW)
    moved = []

    def navigate(_run, image_id, _n):
        if len(rec.done) == 3 and not moved:
            moved.append(len(rec.done))
            run.prioritize([ids[9], ids[8]])  # the user jumped to the last image

    run.image_done.connect(navigate)
    with qtbot.waitSignal(run.finished, timeout=LONG):
        run.start(req)
        run.prioritize([ids[6], ids[4]])  # on screen: 6, next in review order: 4
    order = rec.images()
    assert order[:2] == [ids[6], ids[4]]
    # One batch may already be decoding ahead when the user moves; then 9 and 8 come next.
    after = order[3:]
    assert {ids[9], ids[8]} <= set(after[:3]) and after.index(ids[9]) < after.index(ids[8])
    assert sorted(order) == sorted(ids)


def test_results_of_a_stale_run_are_dropped(qtbot, make_project, tiny_model, runner):
    store = make_project(n=6)
    run = runner(store)
    rec = Recorder(run)
    old = prepare_request(store, tiny_model, LOW)
    new = prepare_request(store, tiny_model, DetectParams(conf=0.002, imgsz=128, batch=2))
    assert old.run_id != new.run_id
    with qtbot.waitSignal(run.finished, timeout=LONG) as blocker:
        run.start(old)
        qtbot.waitUntil(lambda: len(rec.done) >= 1, timeout=LONG)
        run.start(new)
    assert blocker.args == [new.run_id] and rec.finished == [new.run_id]
    # Everything after the switch belongs to the new run; the new run does every image.
    switch = next(k for k, (r, _i, _n) in enumerate(rec.done) if r == new.run_id)
    assert all(r == new.run_id for r, _i, _n in rec.done[switch:])
    assert sorted(i for r, i, _n in rec.done if r == new.run_id) == sorted(new.image_ids)
    qtbot.waitUntil(lambda: not run.is_running(), timeout=LONG)
    assert len(store.done_image_ids(old.run_id)) < 6  # the old run stopped early


def test_a_corrupt_image_is_signalled_and_the_run_goes_on(qtbot, make_project, tiny_model, runner):
    store = make_project(n=4)
    bad = store.images()[1]
    store.image_path(bad).write_bytes(b"garbage")
    run = runner(store)
    rec = Recorder(run)
    req = prepare_request(store, tiny_model, LOW)
    with qtbot.waitSignal(run.finished, timeout=LONG):
        run.start(req)
    assert [(r, i) for r, i, _m in rec.errors] == [(req.run_id, bad.id)]
    assert sorted(rec.images()) == sorted(req.image_ids)


def test_injected_detector_factory_is_used(qtbot, make_project, tiny_model, runner):
    store = make_project(n=3)
    made = []

    def factory(request):
        made.append(UltralyticsDetector(request.model_path, request.params, device="cpu"))
        return made[-1]

    run = runner(store, detector_factory=factory)
    with qtbot.waitSignal(run.finished, timeout=LONG):
        run.start(prepare_request(store, tiny_model, LOW))
    assert len(made) == 1
