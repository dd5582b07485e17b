"""Hypothesis fuzzing of the readers: whatever the bytes, a reader returns records and
problems, or raises FormatError (one sentence) when nothing can be imported. Never a crash."""
from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.core.formats import FormatError, read_dataset
from desktop.core.formats.yolo_rows import parse_batch, parse_text_slow

from .helpers import make_image, write

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 100),
                    st.sampled_from(["nan", "inf", "-inf", "1e308", "0x10", "1,5", "", "-0", "٣"]))
token = st.one_of(numbers.map(str), st.text(max_size=6))
row = st.lists(token, min_size=0, max_size=9).map(" ".join)
label_text = st.one_of(
    st.text(max_size=200),
    st.lists(row, max_size=8).flatmap(lambda rows: st.sampled_from(["\n", "\r\n", "\r", "\n\n"]).map(
        lambda sep: sep.join(rows))),
)


def _check_rows(parsed):
    rows, lines, problems, polygons = parsed
    assert rows.shape[1] == 5 and len(rows) == len(lines)
    for r in rows.tolist():
        assert all(math.isfinite(v) for v in r) and r[0] >= 0 and r[0] == int(r[0])
    for line, message, action in problems:
        assert isinstance(line, int) and message and action


@FUZZ
@given(texts=st.lists(label_text, min_size=1, max_size=5))
def test_yolo_row_parser_never_crashes(texts):
    fast = parse_batch(texts)
    for text, parsed in zip(texts, fast):
        _check_rows(parsed)
        slow = parse_text_slow(text)
        _check_rows(slow)
        assert parsed[0].tolist() == slow[0].tolist()  # the fast path agrees with the careful one


def _read_or_format_error(src, fmt):
    try:
        read = read_dataset(src, fmt)
    except FormatError as exc:
        assert str(exc)
        return None
    recs = list(read.images)
    for r in recs:
        assert r.width >= 0 and r.height >= 0
        for lab in r.labels:
            assert all(math.isfinite(v) for v in lab.box.as_tuple()) and lab.cls >= 0
    for p in read.problems:
        assert p.file and p.message
    return recs


@FUZZ
@given(text=label_text, raw=st.binary(max_size=60))
def test_yolo_reader_with_fuzzed_label_files(tmp_path, text, raw):
    make_image(tmp_path / "images" / "a.jpg", 20, 20) if not (tmp_path / "images" / "a.jpg").exists() else None
    make_image(tmp_path / "images" / "b.jpg", 20, 20) if not (tmp_path / "images" / "b.jpg").exists() else None
    write(tmp_path / "labels" / "a.txt", text)
    write(tmp_path / "labels" / "b.txt", raw)
    write(tmp_path / "data.yaml", "train: images\nnames: [a, b]\n")
    recs = _read_or_format_error(tmp_path, "yolo")
    assert recs is not None and len(recs) == 2


yaml_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.text(max_size=12),
                        # Not "/" or "..": a split that names the filesystem root is a real (slow) scan of it, as in
                        # ultralytics; the fuzzer would spend its budget listing the machine.
                        st.sampled_from(["images", "images/a.jpg", "list.txt", "/nonexistent-boxfix", "../nope",
                                         "nope/", "~"]))
yaml_value = st.recursive(yaml_scalar, lambda c: st.one_of(st.lists(c, max_size=4),
                                                           st.dictionaries(yaml_scalar.map(str), c, max_size=4)),
                          max_leaves=12)


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["path", "train", "val", "test", "names", "nc", "x"]), yaml_value,
                           max_size=6), garbage=st.one_of(st.none(), st.text(max_size=80)))
def test_data_yaml_reader(tmp_path, doc, garbage):
    import yaml

    make_image(tmp_path / "images" / "a.jpg", 20, 20) if not (tmp_path / "images" / "a.jpg").exists() else None
    write(tmp_path / "list.txt", "images/a.jpg\n./images/a.jpg\nnope.jpg\n")
    text = garbage if garbage is not None else yaml.safe_dump(doc)
    write(tmp_path / "data.yaml", text)
    _read_or_format_error(tmp_path / "data.yaml", "yolo")


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2, 12), st.floats(), st.text(max_size=8),
                        st.sampled_from(["a.jpg", "../a.jpg", "/etc/passwd", "3"]))
json_value = st.recursive(json_scalar, lambda c: st.one_of(st.lists(c, max_size=5),
                                                           st.dictionaries(st.text(max_size=5), c, max_size=4)),
                          max_leaves=10)
image_entry = st.fixed_dictionaries({}, optional={"id": json_scalar, "file_name": json_scalar, "width": json_scalar,
                                                  "height": json_scalar})
ann_entry = st.fixed_dictionaries({}, optional={
    "id": json_scalar, "image_id": json_scalar, "category_id": json_scalar, "iscrowd": json_scalar,
    "bbox": st.one_of(json_value, st.lists(json_scalar, min_size=4, max_size=4)),
    "segmentation": st.one_of(json_value, st.lists(st.lists(json_scalar, max_size=8), max_size=2))})
cat_entry = st.fixed_dictionaries({}, optional={"id": json_scalar, "name": json_scalar})


@FUZZ
@given(doc=st.one_of(
    json_value,
    st.fixed_dictionaries({"images": st.lists(st.one_of(image_entry, json_value), max_size=4)},
                          optional={"annotations": st.one_of(json_value, st.lists(st.one_of(ann_entry, json_value),
                                                                                  max_size=6)),
                                    "categories": st.one_of(json_value, st.lists(cat_entry, max_size=4))})))
def test_coco_reader(tmp_path, doc):
    make_image(tmp_path / "images" / "a.jpg", 20, 20) if not (tmp_path / "images" / "a.jpg").exists() else None
    write(tmp_path / "c.json", json.dumps(doc, allow_nan=True))
    _read_or_format_error(tmp_path / "c.json", "coco")


xml_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<>&\x00"),
                   max_size=8)
xml_object = st.builds(
    lambda name, vals, diff: f"<object><name>{name}</name><difficult>{diff}</difficult><bndbox>" + "".join(
        f"<{k}>{v}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), vals)) + "</bndbox></object>",
    xml_text, st.lists(st.one_of(numbers.map(str), xml_text), min_size=0, max_size=4), xml_text)


@FUZZ
@given(fname=st.one_of(st.just("a.jpg"), xml_text), size=st.lists(st.one_of(numbers.map(str), xml_text), max_size=2),
       objects=st.lists(xml_object, max_size=4), garbage=st.one_of(st.none(), st.binary(max_size=60)))
def test_voc_reader(tmp_path, fname, size, objects, garbage):
    make_image(tmp_path / "images" / "a.jpg", 20, 20) if not (tmp_path / "images" / "a.jpg").exists() else None
    sz = "".join(f"<{k}>{v}</{k}>" for k, v in zip(("width", "height"), size))
    text = f"<annotation><filename>{fname}</filename><size>{sz}</size>{''.join(objects)}</annotation>"
    write(tmp_path / "Annotations" / "a.xml", garbage if garbage is not None else text)
    _read_or_format_error(tmp_path, "voc")


@FUZZ
@given(sig=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff\xe1", b""]), tail=st.binary(max_size=120))
def test_header_parser_never_crashes(tmp_path, sig, tail):
    from desktop.core.formats.headers import fast_header
    from desktop.core.formats.images import image_size

    p = write(tmp_path / "x.img", sig + tail)
    fast = fast_header(str(p))
    assert fast is None or (len(fast) == 3 and all(isinstance(v, int) for v in fast))
    w, h, err = image_size(p)
    assert (err is None and w > 0 and h > 0) or (err and w == h == 0)


def test_coco_file_name_with_a_nul_byte_is_a_problem_not_a_crash(tmp_path):
    """Found by the fuzzer: open() raises ValueError on a NUL byte in a path."""
    (tmp_path / "c.json").write_text(json.dumps({"images": [{"id": 0, "file_name": "\x00"}], "annotations": [],
                                                 "categories": [{"id": 1, "name": "a"}]}))
    recs = _read_or_format_error(tmp_path / "c.json", "coco")
    assert recs is None or all(r.error for r in recs)
