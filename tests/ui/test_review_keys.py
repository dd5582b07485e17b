"""Real key presses on the real review window over a real project file; every effect is
checked in the project file itself (a separate read-only connection), not in widgets."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.core.model import Box, IssueStatus, Origin, ReviewStatus

pytestmark = pytest.mark.gui

SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier


def press(win, key, mod=Qt.KeyboardModifier.NoModifier, times: int = 1):
    for _ in range(times):
        win.canvas.setFocus()
        QTest.keyClick(win.canvas, key, mod)


def labels_in_file(project, image_id):
    with project.read() as st:
        return {lab.id: lab for lab in st.labels(image_id)}


def db_snapshot(project):
    """Everything a review edit may change: labels, image statuses, issue statuses."""
    with project.read() as st:
        labels = sorted(tuple(sorted(r.items())) for r in st.label_rows(
            [lab.id for im in st.images() for lab in st.labels(im.id)]))
        statuses = [(im.id, im.status.value) for im in st.images()]
        issues = sorted((it.key, it.status.value) for it in st.issues(status=None))
        classes = [(c.idx, c.name, c.color) for c in st.classes()]
    return labels, statuses, issues, classes


def test_open_navigate_and_jump_through_queue(project, open_window):
    win = open_window(project)
    s = win.session
    ids = project.image_ids
    assert s.image_id == ids[0] and win.canvas.image_id == ids[0]
    press(win, Qt.Key_D)
    assert s.image_id == ids[1]
    press(win, Qt.Key_A)
    assert s.image_id == ids[0]
    press(win, Qt.Key_D, SHIFT)  # next image with open issues
    assert s.image_id == ids[1]
    press(win, Qt.Key_N)  # first issue of the queue: the missing box on image 0
    assert s.image_id == ids[0] and s.issue.kind.value == "missing"
    assert s.selection.kind == "pred" and s.selection.id == s.issue.pred_id
    press(win, Qt.Key_N)
    assert s.image_id == ids[1] and s.issue.kind.value == "localization"
    assert s.selection.kind == "label" and s.selection.id == s.issue.label_id
    press(win, Qt.Key_N, SHIFT)
    assert s.issue.kind.value == "missing"
    assert win.queue_panel.current_issue_id() == s.issue.id
    assert "0 / 6 reviewed, 5 open issues" in win.progress_label.text()


def test_enter_accepts_a_missing_box_into_the_file(project, open_window):
    win = open_window(project)
    press(win, Qt.Key_N)
    pred = win.session.store.prediction(win.session.issue.pred_id)
    press(win, Qt.Key_Return)
    new = [lab for lab in labels_in_file(project, project.image_ids[0]).values() if lab.origin == Origin.ACCEPTED]
    assert len(new) == 1 and new[0].box == pred.box and new[0].cls == 1
    with project.read() as st:
        assert st.issue(project.issues["missing"]).status == IssueStatus.FIXED
    assert win.session.issue.kind.value == "localization"  # Enter moves on to the next issue


def test_enter_snaps_a_localization_issue(project, open_window):
    win = open_window(project)
    press(win, Qt.Key_N, times=2)
    issue = win.session.issue
    assert issue.kind.value == "localization"
    press(win, Qt.Key_Enter)
    assert labels_in_file(project, project.image_ids[1])[issue.label_id].box == Box(50, 50, 130, 130)


@pytest.mark.parametrize("kind", ["class", "spurious", "duplicate"])
def test_enter_fixes_class_spurious_duplicate(project, open_window, kind):
    win = open_window(project)
    win.session.focus_issue(project.issues[kind])
    issue = win.session.issue
    press(win, Qt.Key_Return)
    labels = labels_in_file(project, issue.image_id)
    if kind == "class":
        assert labels[issue.label_id].cls == 1
    else:  # spurious: the label goes; duplicate: the newer of the pair (label_id) goes, label2 stays
        assert issue.label_id not in labels
        if kind == "duplicate":
            assert issue.label2_id in labels


def test_digit_sets_class_of_selected_label(project, open_window):
    win = open_window(project)
    press(win, Qt.Key_Tab)
    sel = win.session.selection
    assert sel.kind == "label"
    press(win, Qt.Key_3)
    assert labels_in_file(project, project.image_ids[0])[sel.id].cls == 2
    press(win, Qt.Key_Tab)  # the next box is a prediction: Tab cycles through both
    assert win.session.selection.kind == "pred"


def test_nudge_and_resize_exact_pixels_then_undo_redo(project, open_window):
    win = open_window(project)
    press(win, Qt.Key_1, CTRL)  # 100 %: one step is one image pixel
    assert win.canvas.zoom() == 1.0 and win.session.step_px() == 1
    press(win, Qt.Key_Tab)
    lid = win.session.selection.id
    start = labels_in_file(project, project.image_ids[0])[lid].box
    assert start == Box(20, 20, 80, 80)
    before = db_snapshot(project)
    press(win, Qt.Key_Right, times=3)
    press(win, Qt.Key_Down, SHIFT)  # 10 px
    press(win, Qt.Key_Right, CTRL)  # right edge outward 1 px
    press(win, Qt.Key_Up, CTRL | SHIFT)  # top edge inward 1 px
    assert labels_in_file(project, project.image_ids[0])[lid].box == Box(23, 31, 84, 90)
    after = db_snapshot(project)
    assert win.session.undo_stack.count() == 1  # a run of nudges on one box is one step
    press(win, Qt.Key_Z, CTRL)
    assert db_snapshot(project) == before
    press(win, Qt.Key_Z, CTRL | SHIFT)
    assert db_snapshot(project) == after
    press(win, Qt.Key_Z, CTRL)
    press(win, Qt.Key_Y, CTRL)
    assert db_snapshot(project) == after


def test_step_scales_with_zoom(project, open_window):
    win = open_window(project)
    win.canvas.set_zoom(0.25)
    assert win.session.step_px() == 4  # one step = ceil(1 / zoom) image px: one screen px
    press(win, Qt.Key_Tab)
    lid = win.session.selection.id
    press(win, Qt.Key_Left)
    assert labels_in_file(project, project.image_ids[0])[lid].box == Box(16, 20, 76, 80)


def test_undo_redo_restore_the_file_exactly(project, open_window):
    win = open_window(project)
    snaps = [db_snapshot(project)]
    press(win, Qt.Key_N)
    press(win, Qt.Key_Return)  # accept missing (fixes an issue)
    snaps.append(db_snapshot(project))
    press(win, Qt.Key_Return)  # snap localization
    snaps.append(db_snapshot(project))
    press(win, Qt.Key_X)  # dismiss class issue
    snaps.append(db_snapshot(project))
    press(win, Qt.Key_Space)  # mark reviewed
    snaps.append(db_snapshot(project))
    assert len({repr(s) for s in snaps}) == len(snaps)
    for expected in reversed(snaps[:-1]):
        press(win, Qt.Key_Z, CTRL)
        assert db_snapshot(project) == expected
    for expected in snaps[1:]:
        press(win, Qt.Key_Y, CTRL)
        assert db_snapshot(project) == expected


def test_dismiss_rescore_stays_dismissed(project, open_window):
    from desktop.core.rescoring import rescore

    win = open_window(project, rescore=True)
    s = win.session
    rescore(s.store)  # the real finder's issues replace the fixture's hand-made ones
    s._load_all_issues()
    assert s.queue, "the finder should flag something in the fixture"
    press(win, Qt.Key_N)
    issue = s.issue
    press(win, Qt.Key_X)
    rescore(s.store)
    with project.read() as st:
        same = [it for it in st.issues(status=None) if it.key == issue.key]
        assert same and all(it.status == IssueStatus.DISMISSED for it in same)
        assert issue.key not in {it.key for it in st.issues(status="open")}


def test_escape_dismisses_and_leaves_draw_mode(project, open_window):
    win = open_window(project)
    press(win, Qt.Key_N)
    iid = win.session.issue.id
    press(win, Qt.Key_W)
    assert win.session.draw_mode
    press(win, Qt.Key_Escape)  # first Esc leaves draw mode only
    assert not win.session.draw_mode
    with project.read() as st:
        assert st.issue(iid).status == IssueStatus.OPEN
    press(win, Qt.Key_Escape)
    with project.read() as st:
        assert st.issue(iid).status == IssueStatus.DISMISSED


def test_space_marks_reviewed_and_moves_on(project, open_window):
    win = open_window(project)
    press(win, Qt.Key_Space)
    with project.read() as st:
        assert st.image(project.image_ids[0]).status == ReviewStatus.REVIEWED
        assert st.image(project.image_ids[1]).status == ReviewStatus.UNREVIEWED
    assert win.session.image_id == project.image_ids[1]
    assert "1 / 6 reviewed" in win.progress_label.text()


def test_shift_enter_accepts_all_unmatched_in_one_step(project, open_window):
    win = open_window(project)
    n0 = len(labels_in_file(project, project.image_ids[0]))
    press(win, Qt.Key_Return, SHIFT)
    assert len(labels_in_file(project, project.image_ids[0])) == n0 + 1  # the matched prediction is not doubled
    with project.read() as st:
        assert st.issue(project.issues["missing"]).status == IssueStatus.FIXED
    press(win, Qt.Key_Z, CTRL)
    assert len(labels_in_file(project, project.image_ids[0])) == n0


def test_draw_mode_enter_drops_box_and_digit_picks_its_class(project, open_window):
    win = open_window(project)
    win.session.cursor = (160.0, 120.0)
    press(win, Qt.Key_2)  # nothing selected: class of the next box drawn
    press(win, Qt.Key_W)
    win.session.last_box_size = (40.0, 30.0)
    press(win, Qt.Key_Return)
    new = [lab for lab in labels_in_file(project, project.image_ids[0]).values() if lab.origin == Origin.ADDED]
    assert len(new) == 1 and new[0].box == Box(140, 105, 180, 135) and new[0].cls == 1


def test_mouse_drag_draws_a_box(project, open_window, qtbot):
    win = open_window(project)
    press(win, Qt.Key_W)
    v = win.canvas
    a, b = v.mapFromScene(100, 100), v.mapFromScene(150, 160)
    qtbot.mousePress(v.viewport(), Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(v.viewport(), b)
    qtbot.mouseRelease(v.viewport(), Qt.MouseButton.LeftButton, pos=b)
    new = [lab for lab in labels_in_file(project, project.image_ids[0]).values() if lab.origin == Origin.ADDED]
    assert len(new) == 1
    assert abs(new[0].box.x0 - 100) <= 1 and abs(new[0].box.y1 - 160) <= 1


def test_delete_and_snap_keys(project, open_window):
    win = open_window(project)
    press(win, Qt.Key_D)  # image 1: a label next to a shifted prediction
    press(win, Qt.Key_Tab)
    lid = win.session.selection.id
    press(win, Qt.Key_S)
    assert labels_in_file(project, project.image_ids[1])[lid].box == Box(50, 50, 130, 130)
    press(win, Qt.Key_Delete)
    assert lid not in labels_in_file(project, project.image_ids[1])


def test_threshold_refilters_only(project, open_window):
    win = open_window(project)
    s = win.session
    assert len(s.content.preds) == 2
    for _ in range(14):  # 0.25 -> 0.95
        press(win, Qt.Key_BracketRight)
    assert s.threshold == pytest.approx(0.95)
    assert [p.conf for p in s.content.preds] == [0.95]
    press(win, Qt.Key_BracketLeft)
    assert s.threshold == pytest.approx(0.90) and len(s.content.preds) == 2
    assert win.settings.value("review/threshold") is not None


def test_visibility_toggles(project, open_window):
    win = open_window(project)
    s = win.session
    press(win, Qt.Key_P)
    assert not s.show_preds and s.show_labels
    press(win, Qt.Key_L)
    assert not s.show_labels
    press(win, Qt.Key_H)
    assert s.show_labels and s.show_preds
    press(win, Qt.Key_H)
    assert not s.show_labels and not s.show_preds


def test_remap_a_key_through_the_user_keymap(project, open_window, user_config):
    (user_config / "keymap.toml").write_text('[keys]\nnext_image = "K"\nprev_image = "D"\n')
    win = open_window(project)
    press(win, Qt.Key_K)
    assert win.session.image_id == project.image_ids[1]
    press(win, Qt.Key_D)  # D now goes back (and no longer forward)
    assert win.session.image_id == project.image_ids[0]
    assert "K" in win.qactions["next_image"].shortcut().toString()


def test_bad_user_keymap_is_reported_not_fatal(project, open_window, user_config):
    (user_config / "keymap.toml").write_text('[keys]\nnext_image = "K\n')
    win = open_window(project)
    assert any("keymap.toml" in w and "line" in w for w in win.keymap_warnings)
    press(win, Qt.Key_D)  # defaults still work
    assert win.session.image_id == project.image_ids[1]


def test_cheat_sheet_lists_the_keys_in_effect(project, open_window, user_config):
    (user_config / "keymap.toml").write_text('[keys]\nsnap_to_prediction = "G"\n')
    win = open_window(project)
    press(win, Qt.Key_F1)
    assert win._cheat.isVisible()
    assert "Snap the selected label" in win._cheat.text() and "<tt>G</tt>" in win._cheat.text()
    press(win, Qt.Key_F1)
    assert not win._cheat.isVisible()


def test_failed_write_is_kept_and_retried(project, open_window):
    win = open_window(project)
    s = win.session
    press(win, Qt.Key_Tab)
    lid = s.selection.id
    s.store.readonly = True  # the store now refuses to write, like a read-only file
    press(win, Qt.Key_2)
    assert labels_in_file(project, project.image_ids[0])[lid].cls == 0
    assert s.writer.pending == 1 and "not saved" in win.pending_label.text()
    assert win._write_box is not None and "read-only" in win._write_box.text()
    s.store.readonly = False
    s.writer.retry()
    assert labels_in_file(project, project.image_ids[0])[lid].cls == 1
    assert s.writer.pending == 0 and win.pending_label.text() == ""


def test_settings_persist_threshold_and_recent(project, open_window, tmp_path):
    win = open_window(project)
    press(win, Qt.Key_BracketRight)
    win.close()
    from desktop.app import make_settings

    st = make_settings(tmp_path / "settings0.ini")
    assert float(st.value("review/threshold")) == pytest.approx(0.30)
    assert str(project.path) in st.value("recent")
