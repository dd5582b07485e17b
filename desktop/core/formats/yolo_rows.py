"""Parsing YOLO label text into normalised rows, fast for clean files and careful for the rest.

A clean file (every line exactly five numbers) is parsed for a whole batch of files with one
numpy call. Anything else (blank lines, polygons, garbage, NaN, a fractional class) goes
through `parse_text_slow`, which explains each bad line. Both give rows
[cls, cx, cy, w, h] plus the 1-based line number of each row.
"""
from __future__ import annotations

import math
from itertools import chain

import numpy as np

EMPTY_ROWS = np.zeros((0, 5))
MAX_CLASS = 2**31 - 1  # a class id beyond this is garbage (and would overflow the store's integer)
EMPTY_LINES = np.zeros(0, dtype=np.int64)


def decode(raw: bytes) -> tuple[str, str | None]:
    """Text of a label file (BOM stripped) and an error when it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return raw.decode("utf-8-sig", errors="replace"), f"not UTF-8 text (byte {exc.start})"


def parse_text_slow(text: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str, str]], int]:
    """Rows, their line numbers, problems [(line, message, action)], and how many rows were
    polygons turned into their bounding box."""
    rows, lines, problems = [], [], []
    polygons = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        toks = line.split()
        if not toks:
            continue
        try:
            vals = [float(t) for t in toks]
        except ValueError:
            bad = next(t for t in toks if not _is_float(t))
            problems.append((lineno, f"malformed row: {bad[:40]!r} is not a number", "row skipped"))
            continue
        if not all(math.isfinite(v) for v in vals):
            problems.append((lineno, "malformed row: NaN or infinite value", "row skipped"))
            continue
        cls = vals[0]
        if cls != int(cls) or cls < 0 or cls > MAX_CLASS:
            problems.append((lineno, f"malformed row: class {toks[0][:20]!r} is not a non-negative integer (below 2^31)",
                             "row skipped"))
            continue
        n = len(vals)
        if n == 5:
            rows.append(vals)
        elif n >= 7 and n % 2 == 1:
            xs, ys = vals[1::2], vals[2::2]
            x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
            rows.append([cls, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])
            polygons += 1
        else:
            problems.append((lineno, f"malformed row: {n} values (a box has 5: class cx cy w h; a polygon "
                             "has class and 3 or more x y pairs)", "row skipped"))
            continue
        lines.append(lineno)
    if not rows:
        return EMPTY_ROWS, EMPTY_LINES, problems, polygons
    return np.array(rows, dtype=np.float64), np.array(lines, dtype=np.int64), problems, polygons


def _is_float(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def parse_batch(texts: list[str]) -> list[tuple[np.ndarray, np.ndarray, list, int] | None]:
    """Parse many files at once. Returns, per file, (rows, lines, problems, polygons)."""
    out: list = [None] * len(texts)
    fast_idx, fast_counts, tokens = [], [], []
    for i, text in enumerate(texts):
        if not text or text.isspace():
            out[i] = (EMPTY_ROWS, EMPTY_LINES, [], 0)
            continue
        split = [ln.split() for ln in text.splitlines()]
        if all(len(r) == 5 for r in split):
            fast_idx.append(i)
            fast_counts.append(len(split))
            tokens.append(split)
        else:
            out[i] = parse_text_slow(text)
    if fast_idx:
        try:
            arr = np.array(list(chain.from_iterable(chain.from_iterable(tokens))), dtype=np.float64).reshape(-1, 5)
        except ValueError:  # a word somewhere in the batch: let the careful parser name it
            arr = None
        if arr is not None:
            cls = arr[:, 0]
            row_ok = np.isfinite(arr).all(axis=1) & (cls >= 0) & (cls <= MAX_CLASS) & (cls == np.floor(cls))
            start = 0
            for i, n in zip(fast_idx, fast_counts):
                if row_ok[start:start + n].all():
                    out[i] = (arr[start:start + n], np.arange(1, n + 1), [], 0)
                else:
                    out[i] = parse_text_slow(texts[i])
                start += n
        else:
            for i in fast_idx:
                out[i] = parse_text_slow(texts[i])
    return out
