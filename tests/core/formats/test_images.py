"""Image sizes come from headers, in the EXIF-rotated frame, without decoding pixels."""
from __future__ import annotations

import pytest
from PIL import Image, ImageFile

from desktop.core.formats.images import image_size, list_images

from .helpers import make_image, write


@pytest.mark.parametrize("orientation,expected", [(1, (60, 40)), (3, (60, 40)), (6, (40, 60)), (8, (40, 60)),
                                                  (5, (40, 60)), (7, (40, 60))])
def test_exif_orientation_swaps_width_and_height(tmp_path, orientation, expected):
    p = make_image(tmp_path / "r.jpg", 60, 40, orientation=orientation)
    assert image_size(p) == (*expected, None)


@pytest.mark.parametrize("name,mode", [("g.png", "L"), ("rgba.png", "RGBA"), ("d.png", "I;16"), ("c.jpg", "CMYK"),
                                       ("b.bmp", "RGB"), ("w.webp", "RGB"), ("t.tif", "RGB")])
def test_real_world_modes(tmp_path, name, mode):
    p = make_image(tmp_path / name, 33, 21, mode=mode)
    assert image_size(p) == (33, 21, None)


def test_sizes_are_read_without_decoding(tmp_path, monkeypatch):
    p = make_image(tmp_path / "r.jpg", 60, 40, orientation=6)
    q = make_image(tmp_path / "r.png", 61, 41)

    def boom(self, *a, **k):
        raise AssertionError("image decoded")

    monkeypatch.setattr(Image.Image, "load", boom)
    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    assert image_size(p) == (40, 60, None)
    assert image_size(q) == (61, 41, None)


def test_garbage_missing_and_truncated(tmp_path):
    bad = write(tmp_path / "bad.jpg", b"this is not an image")
    w, h, err = image_size(bad)
    assert (w, h) == (0, 0) and "not a readable image" in err
    assert image_size(tmp_path / "nope.jpg") == (0, 0, "image file not found")
    good = make_image(tmp_path / "t.jpg", 500, 300)
    empty = write(tmp_path / "empty.png", b"")
    assert image_size(empty)[2]
    # A truncated file still has its header: the size is known (decoding is the detector's job).
    trunc = write(tmp_path / "trunc.jpg", good.read_bytes()[: good.stat().st_size // 2])
    assert image_size(trunc)[:2] == (500, 300)


def test_list_images_sorted_and_skips_hidden(tmp_path):
    for rel in ["b/2.jpg", "a/1.png", ".hidden/x.jpg", "a/readme.txt", "c.JPG"]:
        write(tmp_path / rel, b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)] == ["a/1.png", "b/2.jpg", "c.JPG"]


@pytest.mark.parametrize("orientation", [None, 1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png")])
def test_fast_header_parser_agrees_with_pil(tmp_path, fmt, ext, orientation):
    from PIL import ImageOps

    from desktop.core.formats.headers import fast_header
    from desktop.core.formats.images import _pil_size

    p = make_image(tmp_path / f"x.{ext}", 37, 23, fmt=fmt, orientation=orientation)
    assert fast_header(str(p)) is not None
    with Image.open(p) as im:
        shown = ImageOps.exif_transpose(im).size  # decodes: the ground truth, for the test only
    assert image_size(p)[:2] == _pil_size(p)[:2] == shown


def test_progressive_and_cmyk_jpeg_headers(tmp_path):
    p = tmp_path / "prog.jpg"
    Image.new("RGB", (70, 30)).save(p, progressive=True)
    assert image_size(p) == (70, 30, None)
    q = make_image(tmp_path / "cmyk.jpg", 15, 9, mode="CMYK")
    assert image_size(q) == (15, 9, None)
