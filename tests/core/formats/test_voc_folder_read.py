"""Pascal VOC (1-based inclusive pixels -> x0 = xmin - 1, x1 = xmax) and bare image folders."""
from __future__ import annotations

import pytest

from desktop.core.formats import FormatError, detect_format, read_dataset

from .helpers import make_image, write

XML = """<annotation><filename>{name}</filename><size><width>{w}</width><height>{h}</height><depth>3</depth></size>
{objects}</annotation>"""
OBJ = "<object><name>{cls}</name><difficult>{d}</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>" \
      "<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"


def _voc(tmp_path, name="a.jpg", w=100, h=80, objects=(("dog", (11, 21, 30, 40), 0),)):
    make_image(tmp_path / "JPEGImages" / name, w, h)
    objs = "".join(OBJ.format(cls=c, b=b, d=d) for c, b, d in objects)
    return write(tmp_path / "Annotations" / (name.rsplit(".", 1)[0] + ".xml"), XML.format(name=name, w=w, h=h,
                                                                                          objects=objs))


def test_voc_pixel_convention_and_classes(tmp_path):
    _voc(tmp_path, objects=[("dog", (11, 21, 30, 40), 0), ("cat", (1, 1, 100, 80), 1)])
    assert detect_format(tmp_path) == "voc"
    read = read_dataset(tmp_path)
    [rec] = list(read.images)
    assert rec.path == "JPEGImages/a.jpg" and (rec.width, rec.height) == (100, 80)
    assert [c.name for c in read.classes] == ["dog", "cat"]
    assert rec.labels[0].box.as_tuple() == (10, 20, 30, 40)
    assert rec.labels[1].box.as_tuple() == (0, 0, 100, 80)  # the whole image, exactly
    assert any("1 boxes are marked difficult" in p.message for p in read.problems)


def test_voc_problems(tmp_path):
    _voc(tmp_path, objects=[("dog", (50, 50, 50, 60), 0), ("dog", (90, 10, 130, 20), 0)])
    write(tmp_path / "Annotations" / "broken.xml", "<annotation><filename>x.jpg</filename>")
    write(tmp_path / "Annotations" / "nobox.xml", "<annotation><filename>a.jpg</filename><object><name>d</name>"
          "<bndbox><xmin>a</xmin></bndbox></object></annotation>")
    make_image(tmp_path / "JPEGImages" / "background.jpg", 10, 10)
    read = read_dataset(tmp_path / "Annotations", "voc")
    recs = {r.path: r for r in read.images}
    text = "\n".join(map(str, read.problems))
    assert "broken.xml:1: not valid XML" in text
    assert "nobox.xml" in text
    assert "zero-area" not in text  # VOC's inclusive pixels: xmin == xmax is one pixel wide
    assert "box extends outside the 100x80 image" in text
    assert len(recs["JPEGImages/a.jpg"].labels) == 2
    assert not recs["JPEGImages/background.jpg"].labelled


def test_bare_folder(tmp_path):
    make_image(tmp_path / "x" / "a.jpg", 10, 12)
    write(tmp_path / "b.png", b"garbage")
    assert detect_format(tmp_path) == "folder"
    read = read_dataset(tmp_path)
    recs = {r.path: r for r in read.images}
    assert (recs["x/a.jpg"].width, recs["x/a.jpg"].labelled) == (10, False)
    assert recs["b.png"].error and any(p.file == "b.png" for p in read.problems)
    assert read.classes == []


def test_nothing_recognisable(tmp_path):
    write(tmp_path / "notes.md", "hello")
    with pytest.raises(FormatError, match="no dataset found"):
        read_dataset(tmp_path)
    with pytest.raises(FormatError, match="no such file"):
        read_dataset(tmp_path / "nope")
