"""Map a model's classes onto the project's, by name, with the user's remapping on top.

- A model class matches the project class of the same name (case, spaces, '_' and '-'
  ignored: "Traffic_Light" == "traffic light").
- The user's override wins; its keys and values may be indices or names; a value of None
  (or -1) means "this model class is not a project class".
- Model classes that match nothing map to None: their predictions are kept (cls -1,
  model_cls set) and shown as unknown, never dropped.
- Project classes no model class maps to are "missing" (RunInfo.missing_classes): their
  labels are not flagged as spurious for want of a prediction.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from desktop.core.model import ClassInfo

__all__ = ["ClassMapError", "build_class_map", "missing_project_classes", "normalize_name", "map_classes"]


class ClassMapError(ValueError):
    """A remapping that names a class which does not exist."""


def normalize_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name)).strip().casefold()


def _resolve(key, names: Sequence[str], what: str) -> int:
    if isinstance(key, (int,)) or (isinstance(key, str) and key.strip().lstrip("-").isdigit()):
        idx = int(key)
        if 0 <= idx < len(names):
            return idx
        raise ClassMapError(f"{what} class index {idx} does not exist (there are {len(names)})")
    wanted = normalize_name(key)
    for i, n in enumerate(names):
        if normalize_name(n) == wanted:
            return i
    raise ClassMapError(f"no {what} class named {key!r}")


def build_class_map(model_classes: Sequence[str], project_classes: Sequence[ClassInfo],
                    override: Mapping | None = None) -> dict[int, int | None]:
    """model class index -> project class idx (ClassInfo.idx) or None."""
    by_name: dict[str, int] = {}
    for c in project_classes:
        by_name.setdefault(normalize_name(c.name), c.idx)
    mapping = {i: by_name.get(normalize_name(n)) for i, n in enumerate(model_classes)}
    if override:
        project_names = [c.name for c in project_classes]
        for key, value in override.items():
            m = _resolve(key, list(model_classes), "model")
            if value is None or (isinstance(value, int) and value < 0):
                mapping[m] = None
            elif isinstance(value, int):
                if value not in {c.idx for c in project_classes}:
                    raise ClassMapError(f"project class index {value} does not exist")
                mapping[m] = value
            else:
                mapping[m] = project_classes[_resolve(value, project_names, "project")].idx
    return mapping


def missing_project_classes(class_map: Mapping[int, int | None], project_classes: Sequence[ClassInfo]) -> list[int]:
    mapped = {v for v in class_map.values() if v is not None}
    return sorted(c.idx for c in project_classes if c.idx not in mapped)


def map_classes(model_cls, class_map: Mapping[int, int | None]):
    """Vectorised: model class indices (N,) -> project indices (N,), -1 for unknown."""
    import numpy as np

    model_cls = np.asarray(model_cls, dtype=np.int64)
    if not len(class_map):
        return np.full(model_cls.shape, -1, dtype=np.int64)
    size = max(int(max(class_map)), int(model_cls.max(initial=0))) + 1
    lut = np.full(size, -1, dtype=np.int64)
    for k, v in class_map.items():
        if v is not None:
            lut[int(k)] = int(v)
    return lut[model_cls]
