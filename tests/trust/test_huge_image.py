"""A 20,000 x 20,000 image opens in the window downsampled (bounded memory), and its boxes
stay in image pixels: the picture is scaled back over the full image frame."""
from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord
from desktop.core.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.gui]
SIDE = 20_000


def test_20k_image_is_shown_downsampled_with_boxes_in_place(tmp_path, qtbot, monkeypatch):
    monkeypatch.setenv("BOXFIX_CONFIG_DIR", str(tmp_path / "cfg"))
    # A 1-bit PNG keeps the fixture small on disk and in PIL (50 MB) while Qt still has to
    # deal with 400 megapixels.
    im = Image.new("1", (SIDE, SIDE), 0)
    ImageDraw.Draw(im).rectangle([15_000, 2_000, 18_000, 6_000], fill=1)
    im.save(tmp_path / "huge.png")
    del im
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    store.import_dataset(DatasetRead(str(tmp_path), "folder", [ClassInfo(0, "thing")], iter([
        ImageRecord("huge.png", SIDE, SIDE, labels=(LabelRecord(Box(15_000, 2_000, 18_000, 6_000), 0),))])))
    store.close()

    from desktop.app import build_window
    from desktop.ui.canvas.loader import MAX_DISPLAY_SIDE

    win = build_window(tmp_path / "p.boxfix", settings_path=tmp_path / "s.ini")
    qtbot.addWidget(win)
    win.show()
    canvas = win.canvas
    qtbot.waitUntil(lambda: canvas._has_pixels, timeout=120_000)
    pm = canvas.pixmap_item.pixmap()
    assert max(pm.width(), pm.height()) <= MAX_DISPLAY_SIDE  # bounded: not 400 megapixels
    rect = canvas.pixmap_item.sceneBoundingRect()
    assert (round(rect.width()), round(rect.height())) == (SIDE, SIDE)  # scaled back to image pixels
    # The drawn rectangle is where its label says, in scene (= image) coordinates.
    img = pm.toImage()
    f = pm.width() / SIDE
    inside = img.pixelColor(int(16_500 * f), int(4_000 * f)).lightness()
    outside = img.pixelColor(int(5_000 * f), int(4_000 * f)).lightness()
    assert inside > 200 and outside < 50
    (label,) = win.session.content.labels
    assert (label.box.x0, label.box.y1) == (15_000, 6_000)
    win.close()
