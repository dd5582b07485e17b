"""The nasty label corpus (tests/data/nasty): each file, read as the label of a 100x100
image, gives exactly the boxes and the problems stated here. Nothing is dropped silently."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop.core.formats import read_dataset

from .helpers import make_image, write

NASTY = Path(__file__).resolve().parents[2] / "data" / "nasty"

# file: (boxes kept, [(problem text, line)])
EXPECTED = {
    "bom.txt": (1, []),
    "crlf.txt": (2, []),
    "cr_only.txt": (2, []),
    "nan.txt": (1, [("NaN or infinite", 1)]),
    "inf.txt": (1, [("NaN or infinite", 2)]),
    "blank_last_line.txt": (1, []),
    "blank_middle.txt": (2, []),
    "negative_size.txt": (1, [("zero-area or negative", 1)]),
    "words.txt": (1, [("'person' is not a number", 1)]),
    "float_class.txt": (1, [("not a non-negative integer", 2)]),
    "negative_class.txt": (0, [("not a non-negative integer", 1)]),
    "polygon.txt": (1, [("polygon rows", None)]),
    "six_values.txt": (0, [("6 values", 1)]),
    "four_values.txt": (0, [("4 values", 1)]),
    "tabs.txt": (1, []),
    "class_out_of_range.txt": (1, [("class 7 is not in the class names", 1)]),
    "outside.txt": (1, [("outside the image", 1)]),
    "zero_area.txt": (1, [("zero-area", 1)]),
    "only_spaces.txt": (0, []),
    "empty.txt": (0, []),
    "no_final_newline.txt": (1, []),
    "exponent.txt": (1, []),
    "huge.txt": (0, [("overflows", 1)]),
    "duplicate_rows.txt": (2, [("duplicate row (same as line 1)", 2)]),
    "latin1.txt": (1, [("not UTF-8", None), ("malformed row", 2)]),
    "nul_bytes.txt": (0, [("malformed row", 1)]),
}


def test_every_nasty_file_has_an_expectation():
    assert sorted(p.name for p in NASTY.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nasty_label_file(tmp_path, name):
    n_boxes, wanted = EXPECTED[name]
    make_image(tmp_path / "images" / "a.jpg", 100, 100)
    (tmp_path / "labels").mkdir()
    shutil.copyfile(NASTY / name, tmp_path / "labels" / "a.txt")
    write(tmp_path / "data.yaml", "train: images\nnames: [cat, dog]\n")
    read = read_dataset(tmp_path)
    [rec] = list(read.images)
    assert rec.labelled
    assert len(rec.labels) == n_boxes
    label_problems = [p for p in read.problems if p.file == "labels/a.txt"]
    for text, line in wanted:
        assert any(text in p.message and p.line == line for p in label_problems), (text, line, label_problems)
    assert len(label_problems) == len(wanted), label_problems
