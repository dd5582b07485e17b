"""The correction report's figures, checked against a project with known edits.

Six 100x80 images, each imported with a cat box and a dog box. Then, in order:
  im0: two boxes added (a cat and a dog)
  im1: the dog deleted, which fixes the spurious issue on it
  im2: the cat moved by 5 px
  im3: the cat nudged by 0.3 px (below the 0.5 px tolerance: not a change)
  im4: the cat relabelled as dog
  im5: the dog moved, then the move undone (no net change)
  reviewed: im0, im1, im5; skipped: im3
  issues: spurious on im1 (fixed), localization on im3 (dismissed), missing on im2 (left open)
History times are then set to known values so time spent is exact.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import re
import sqlite3

import numpy as np
import pytest
from PIL import Image

from desktop.core import edits
from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, IssueStatus, LabelRecord, ReviewStatus
from desktop.core.report import active_seconds, build_report, render, write_edits_csv, write_report
from desktop.core.report.markdown import render_markdown
from desktop.core.store import Store

CAT, DOG = 0, 1
CAT_BOX, DOG_BOX = Box(10, 10, 50, 40), Box(60, 20, 90, 70)
BACKGROUND = (40, 40, 40)
# Seconds between consecutive edits: one gap of 1000 s is a break, capped at 300 s.
GAPS = [10, 20, 1000, 5, 5, 30, 2, 2, 3, 4, 60, 7]
ACTIVE_SECONDS = sum(min(g, 300) for g in GAPS)
N_EDITS = len(GAPS) + 1
T0 = 1_700_000_000.0


def build_project(tmp_path) -> Store:
    root = tmp_path / "data"
    root.mkdir()
    recs = []
    for i in range(6):
        Image.new("RGB", (100, 80), BACKGROUND).save(root / f"im{i}.jpg", quality=95)
        recs.append(ImageRecord(f"im{i}.jpg", 100, 80, labels=(LabelRecord(CAT_BOX, CAT), LabelRecord(DOG_BOX, DOG))))
    store = Store.create(tmp_path / "p.boxfix", root)
    store.import_dataset(DatasetRead(str(root), "yolo", [ClassInfo(CAT, "cat", "#e6194b"), ClassInfo(DOG, "dog", "#4363d8")],
                                     iter(recs)))
    ids = {im.path: im.id for im in store.images()}
    lab = {p: {x.cls: x.id for x in store.labels(i)} for p, i in ids.items()}
    store.replace_issues(None, None, [
        {"image_id": ids["im1.jpg"], "kind": "spurious", "score": 0.9, "label_id": lab["im1.jpg"][DOG], "key": "s1"},
        {"image_id": ids["im3.jpg"], "kind": "localization", "score": 0.7, "label_id": lab["im3.jpg"][CAT], "key": "l3"},
        {"image_id": ids["im2.jpg"], "kind": "missing", "score": 0.5, "key": "m2"},
    ])
    issue = {i.key: i.id for i in store.issues(status=None)}

    def row(path, cls):
        return store.label_rows([lab[path][cls]])[0]

    store.apply_edit(edits.add_box(store.next_label_id(), ids["im0.jpg"], Box(5, 50, 25, 75), CAT))
    store.apply_edit(edits.add_box(store.next_label_id(), ids["im0.jpg"], Box(30, 45, 55, 78), DOG))
    store.apply_edit(edits.delete_labels([row("im1.jpg", DOG)], resolves=(issue["s1"],)))
    store.apply_edit(edits.set_geometry(row("im2.jpg", CAT), Box(15, 10, 55, 40)))
    store.apply_edit(edits.set_geometry(row("im3.jpg", CAT), Box(10.3, 10, 50.3, 40)))
    store.apply_edit(edits.set_class([row("im4.jpg", CAT)], DOG))
    move = edits.set_geometry(row("im5.jpg", DOG), Box(0, 0, 30, 30))
    store.apply_edit(move)
    store.apply_edit(move.inverse())
    for p in ("im0.jpg", "im1.jpg", "im5.jpg"):
        store.apply_edit(edits.set_status(ids[p], ReviewStatus.UNREVIEWED, ReviewStatus.REVIEWED))
    store.apply_edit(edits.set_status(ids["im3.jpg"], ReviewStatus.UNREVIEWED, ReviewStatus.SKIPPED))
    store.apply_edit(edits.set_issue_status(issue["l3"], ids["im3.jpg"], IssueStatus.OPEN, IssueStatus.DISMISSED))
    assert len(store.history()) == N_EDITS
    # Known edit times (a real session, compressed): rewrite the recorded times.
    times, t = [T0], T0
    for g in GAPS:
        t += g
        times.append(t)
    with sqlite3.connect(store.path) as conn:
        hist_ids = [r[0] for r in conn.execute("SELECT id FROM history ORDER BY id")]
        conn.executemany("UPDATE history SET time = ? WHERE id = ?", list(zip(times, hist_ids)))
    return store


@pytest.fixture
def project(tmp_path):
    store = build_project(tmp_path)
    yield store
    store.close()


def test_change_figures_match_the_edits(project):
    r = build_report(project)
    assert r.images == 6
    assert (r.labels_original, r.labels_current) == (12, 13)
    # im0 added, im1 deleted, im2 moved, im4 relabelled; im3 (0.3 px) and im5 (undone) unchanged.
    assert r.images_changed == 4
    assert r.share_changed == pytest.approx(4 / 6)
    assert r.images_with == {"added": 1, "deleted": 1, "moved": 1, "class_changed": 1}
    assert r.shares == {k: pytest.approx(1 / 6) for k in ("added", "deleted", "moved", "class_changed")}
    assert r.boxes == {"added": 2, "deleted": 1, "moved": 1, "class_changed": 1}
    by_path = {c.path: c for c in r.changes}
    assert set(by_path) == {"im0.jpg", "im1.jpg", "im2.jpg", "im4.jpg"}
    assert len(by_path["im0.jpg"].added) == 2 and by_path["im0.jpg"].total == 2
    assert r.changes[0].path == "im0.jpg"  # most-changed first
    assert by_path["im4.jpg"].relabels == [(CAT, DOG)]
    assert r.relabels == {"cat -> dog": 1}


def test_per_class_counts(project):
    r = build_report(project)
    cat, dog = r.per_class
    assert (cat.name, cat.original, cat.current, cat.added, cat.deleted, cat.moved,
            cat.relabelled_from, cat.relabelled_to) == ("cat", 6, 6, 1, 0, 1, 1, 0)
    assert (dog.name, dog.original, dog.current, dog.added, dog.deleted, dog.moved,
            dog.relabelled_from, dog.relabelled_to) == ("dog", 6, 7, 1, 1, 0, 0, 1)
    assert cat.current == project.class_counts()[CAT] and dog.current == project.class_counts()[DOG]
    for c in r.per_class:  # the identity docs/report.md states
        assert c.original + c.added - c.deleted - c.relabelled_from + c.relabelled_to == c.current


def test_issues_review_and_time(project):
    r = build_report(project)
    assert r.issues == {"found": 3, "fixed": 1, "dismissed": 1, "open": 1}
    assert r.issues_by_kind == {"spurious": {"fixed": 1}, "localization": {"dismissed": 1}, "missing": {"open": 1}}
    assert r.review == {"reviewed": 3, "skipped": 1, "unreviewed": 2}
    assert r.review_coverage == pytest.approx(0.5)
    assert r.changed_reviewed == 2  # im0 and im1
    assert r.edits == N_EDITS
    assert r.edits_by_kind["add-box"] == 2 and r.edits_by_kind["undo:set-geometry"] == 1
    assert r.edits_by_kind["set-status"] == 4 and r.edits_by_kind["issue-dismissed"] == 1
    assert r.active_seconds == pytest.approx(ACTIVE_SECONDS)  # the 1000 s break counts 300 s
    assert (r.first_edit, r.last_edit) == (T0, T0 + sum(GAPS))


def test_active_seconds_caps_each_gap_and_ignores_order():
    assert active_seconds(np.array([])) == 0.0
    assert active_seconds(np.array([5.0])) == 0.0
    assert active_seconds(np.array([100.0, 0.0, 10.0]), cap=50) == pytest.approx(10 + 50)


def test_untouched_project_reports_no_change(tmp_path):
    store = Store.create(tmp_path / "q.boxfix", tmp_path)
    store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a")],
                                     iter([ImageRecord("x.jpg", 10, 10, labels=(LabelRecord(Box(1, 1, 5, 5), 0),))])))
    r = build_report(store)
    assert (r.images_changed, r.boxes["added"], r.edits, r.active_seconds) == (0, 0, 0, 0.0)
    assert "0.0% of images changed" in render_markdown(r)
    store.close()


def test_empty_project_has_no_division_by_zero(tmp_path):
    store = Store.create(tmp_path / "e.boxfix", tmp_path)
    r = build_report(store)
    assert (r.images, r.share_changed, r.review_coverage) == (0, 0.0, 0.0)
    for fmt in ("html", "markdown", "json"):
        assert render(store, fmt, r)
    store.close()


def _thumbnails(html: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(m)))
            for m in re.findall(r"src='data:image/jpeg;base64,([A-Za-z0-9+/=]+)'", html)]


def test_html_is_one_self_contained_file_with_thumbnails(project, tmp_path):
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    write_report(project, out)
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # one file, no temp left
    html = out.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)  # every src is inline
    thumbs = _thumbnails(html)
    assert len(thumbs) == 4 and all(t.format == "JPEG" and t.size == (100, 80) for t in thumbs)
    assert "66.7%" in html and "im0.jpg" in html and "cat -&gt; dog" in html
    # The first thumbnail is im0: its added cat box (5,50)-(25,75) is drawn solid in the cat colour.
    px = np.asarray(thumbs[0].convert("RGB"), dtype=int)
    edge, inside = px[50, 15], px[60, 15]
    assert abs(edge - np.array([230, 25, 75])).max() < 60
    assert abs(inside - np.array(BACKGROUND)).max() < 30


def test_html_moved_box_shows_dashed_original_and_solid_current(project):
    html = render(project, "html")
    r = build_report(project)
    i = [c.path for c in r.changes].index("im2.jpg")
    px = np.asarray(_thumbnails(html)[i].convert("RGB"), dtype=int)
    # Red channel along the left edges (y 12..38): the background is 40, the cat colour 230.
    # JPEG blurs colour, so look at brightness of red only: solid stays high, dashes alternate.
    now_edge, orig_edge = px[12:38, 15, 0], px[12:38, 10, 0]
    assert (now_edge > 140).all()  # moved box, x0 = 15: solid
    assert (orig_edge > 140).any() and (orig_edge < 90).any()  # original box, x0 = 10: dashed


def test_html_still_renders_when_an_image_file_is_gone(project):
    (project.dataset_root / "im0.jpg").unlink()
    html = render(project, "html")
    assert len(_thumbnails(html)) == 4


def test_markdown_is_short(project):
    md = render(project, "markdown")
    assert len(md.splitlines()) <= 30 and len(md) < 2500
    assert "**66.7% of images changed** (4 of 6)" in md
    assert "| added | 1 | 16.7% | 2 |" in md
    assert "| cat | 6 | 6 | 1 | 0 | 1 | 1 | 0 |" in md
    assert "3 found, 1 fixed, 1 dismissed, 1 open" in md
    assert "50.0% (3 of 6 images reviewed, 1 skipped)" in md
    assert ACTIVE_SECONDS == 448 and "7 min 28 s over 13 edits" in md


def test_json_has_every_figure(project, tmp_path):
    write_report(project, tmp_path / "r.json")
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["images_changed"] == 4 and d["share_changed"] == pytest.approx(4 / 6)
    assert d["boxes"] == {"added": 2, "deleted": 1, "moved": 1, "class_changed": 1}
    assert d["issues"]["dismissed"] == 1 and d["review_coverage"] == 0.5
    assert d["active_seconds"] == ACTIVE_SECONDS
    assert sorted(c["path"] for c in d["changes"]) == ["im0.jpg", "im1.jpg", "im2.jpg", "im4.jpg"]


def test_csv_has_one_row_per_edit(project, tmp_path):
    n = write_edits_csv(project, tmp_path / "edits.csv")
    rows = list(csv.DictReader((tmp_path / "edits.csv").open(newline="")))
    assert n == len(rows) == N_EDITS
    assert [r["kind"] for r in rows][:3] == ["add-box", "add-box", "delete"]
    deleted = rows[2]
    assert deleted["image"] == "im1.jpg" and deleted["after"].count('"labels"') == 0
    before = json.loads(deleted["before"])
    assert before["labels"][0]["box"] == [60.0, 20.0, 90.0, 70.0] and before["issues"] == [[1, "open"]]
    assert json.loads(deleted["after"])["issues"] == [[1, "fixed"]]
    assert rows[0]["box"] and rows[0]["when"].startswith("2023-11-1")


def test_unknown_suffix_is_refused(project, tmp_path):
    with pytest.raises(ValueError, match="unknown report format"):
        write_report(project, tmp_path / "r.pdf")
