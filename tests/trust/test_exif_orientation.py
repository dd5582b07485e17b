"""All 8 EXIF orientations: the imported size is the displayed one, and the boxes of a YOLO
and a COCO export line up with what a viewer shows.

For each orientation we draw a red rectangle at a known place in the DISPLAYED frame, store
the pixels with the inverse transform plus the EXIF tag (what a phone camera writes), label
the rectangle where it is displayed, import, export, and then look at the exported image
through exif_transpose: the pixels under the exported box must be the red rectangle.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageOps

from desktop.core.formats import import_project
from desktop.core.formats.export import ExportOptions, export_project

W, H = 64, 40  # displayed frame
BOX = (10, 6, 34, 22)  # displayed red rectangle, xyxy pixels
# The transform exif_transpose applies for each tag, and its inverse (to make the stored pixels).
_T = Image.Transpose
APPLY = {1: None, 2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE,
         6: _T.ROTATE_270, 7: _T.TRANSVERSE, 8: _T.ROTATE_90}
INVERSE = {**APPLY, 6: _T.ROTATE_90, 8: _T.ROTATE_270}


def _displayed() -> Image.Image:
    im = Image.new("RGB", (W, H), (40, 40, 40))
    im.paste((230, 20, 20), BOX)  # paste fills [x0, x1) x [y0, y1): exactly the box's pixels
    return im


def _write_oriented(path, orientation: int) -> None:
    stored = _displayed() if INVERSE[orientation] is None else _displayed().transpose(INVERSE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, "JPEG", quality=98, exif=exif.tobytes())
    # The fixture itself must be right: a viewer shows the red box where we say it is.
    shown = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB")).astype(int)
    assert shown.shape[:2] == (H, W)
    assert _red_share(shown, BOX) > 0.95


def _red_share(rgb: np.ndarray, box) -> float:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    patch = rgb[y0:y1, x0:x1]
    red = (patch[..., 0] > 150) & (patch[..., 1] < 90) & (patch[..., 2] < 90)
    return float(red.mean()) if red.size else 0.0


def _shown(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB")).astype(int)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_boxes_line_up_through_import_and_export(tmp_path, orientation):
    src = tmp_path / "ds"
    (src / "images" / "train").mkdir(parents=True)
    (src / "labels" / "train").mkdir(parents=True)
    _write_oriented(src / "images" / "train" / "photo.jpg", orientation)
    x0, y0, x1, y1 = BOX
    (src / "labels" / "train" / "photo.txt").write_text(
        f"0 {(x0 + x1) / 2 / W:.8f} {(y0 + y1) / 2 / H:.8f} {(x1 - x0) / W:.8f} {(y1 - y0) / H:.8f}\n")
    (src / "data.yaml").write_text("path: .\ntrain: images/train\nnames:\n  0: thing\n")

    store, summary = import_project(src, tmp_path / "p.boxfix")
    try:
        (im,) = store.images()
        assert (im.width, im.height) == (W, H)
        (lab,) = store.labels(im.id)
        assert np.allclose(lab.box.as_tuple(), BOX, atol=1e-4)

        yolo = export_project(store, "yolo", tmp_path / "yolo")
        coco = export_project(store, "coco", tmp_path / "coco")
    finally:
        store.close()

    # YOLO: the normalised row, read against the exported image's displayed size.
    (img_file,) = [p for p in (tmp_path / "yolo" / "images").rglob("*.jpg")]
    (lbl_file,) = list((tmp_path / "yolo" / "labels").rglob("*.txt"))
    shown = _shown(img_file)
    h, w = shown.shape[:2]
    _c, cx, cy, bw, bh = map(float, lbl_file.read_text().split())
    ybox = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
    assert np.allclose(ybox, BOX, atol=1e-3)
    assert _red_share(shown, ybox) > 0.95

    # COCO: width/height are the displayed ones and bbox [x, y, w, h] is on the red rectangle.
    (jf,) = [p for p in (tmp_path / "coco").rglob("*.json")]
    doc = json.loads(jf.read_text())
    (cimg,) = doc["images"]
    (ann,) = doc["annotations"]
    assert (cimg["width"], cimg["height"]) == (W, H)
    bx, by, bw, bh = ann["bbox"]
    cbox = (bx, by, bx + bw, by + bh)
    assert np.allclose(cbox, BOX, atol=1e-3)
    cfile = next(p for p in (tmp_path / "coco").rglob(cimg["file_name"].split("/")[-1]) if p.is_file())
    assert _red_share(_shown(cfile), cbox) > 0.95
    assert yolo.images == coco.images == 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_detector_sees_the_displayed_frame(tmp_path, orientation):
    """The detector's pixels (load_image_bgr) are the displayed frame, so its boxes land in
    the labels' frame."""
    from desktop.detect.detector import load_image_bgr

    p = tmp_path / "photo.jpg"
    _write_oriented(p, orientation)
    bgr = load_image_bgr(p)
    assert bgr.shape == (H, W, 3)
    assert _red_share(bgr[..., ::-1].astype(int), BOX) > 0.95
