"""Vectorised box geometry. Arrays are (N, 4) float xyxy in absolute pixels."""
from __future__ import annotations

import numpy as np


def as_boxes(a) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    return arr.reshape(-1, 4)


def areas(boxes: np.ndarray) -> np.ndarray:
    b = as_boxes(boxes)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in `a` against every box in `b`: shape (len(a), len(b)).
    Degenerate boxes have IoU 0 with everything (never NaN)."""
    a = as_boxes(a)
    b = as_boxes(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    union = areas(a)[:, None] + areas(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return out


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    b = as_boxes(boxes)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    b = as_boxes(boxes)
    return np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], axis=1)


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    b = as_boxes(boxes)
    return np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    b = as_boxes(boxes)
    return np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], axis=1)


def clip(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    b = as_boxes(boxes).copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b


def nudge(box: tuple, dx: float, dy: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)


def move_edge(box: tuple, edge: str, delta: float) -> tuple[float, float, float, float]:
    """Move one edge ('left', 'right', 'top', 'bottom') outward by `delta` pixels (negative
    delta moves it inward). The box never inverts: an edge stops 1 px from its opposite."""
    x0, y0, x1, y1 = box
    if edge == "left":
        x0 = min(x0 - delta, x1 - 1)
    elif edge == "right":
        x1 = max(x1 + delta, x0 + 1)
    elif edge == "top":
        y0 = min(y0 - delta, y1 - 1)
    elif edge == "bottom":
        y1 = max(y1 + delta, y0 + 1)
    else:
        raise ValueError(f"unknown edge {edge!r}")
    return (x0, y0, x1, y1)
