"""From the classes a producer wrote (ids or names) to project class indices.

Default rules (no --class-map):
- BoxFix JSON Lines and YOLO txt: an integer is a project class index, a string a project
  class name;
- COCO results: a category id is matched by name through the companion annotations file's
  categories when one is given, else to the project class with that COCO id (see
  project_index.coco_category_ids).

A class map file (JSON or YAML) replaces the default rules. Either
    {SOURCE: PROJECT, ...}   SOURCE = a class id or name as written in the predictions,
                             PROJECT = a project class name (or index), or null for
                             "no project class" (kept as an unmapped prediction, not reported);
or a file with a `names:` key (an Ultralytics data YAML or a model's names), a list or an
{id: name} mapping: ids become names, and names are matched to project classes by name.
Source classes the map does not list are reported and kept unmapped.

Every source class also gets a dense "model class" index: the run's model_classes list and
class_map {model idx: project idx | None}, as for a run that BoxFix made itself.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from ..model import Problem
from ._common import PredictionFormatError
from .project_index import ProjectIndex

_UNSET = object()


def load_class_map(path: str | Path, index: ProjectIndex) -> tuple[dict[str, int | None], dict[str, str]]:
    """Read a class map file. Returns (explicit {source key: project idx | None},
    source names {source key: name}). Raises PredictionFormatError with file and reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionFormatError(f"{path}: cannot read the class map ({exc})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PredictionFormatError(f"{path}: the class map is not valid JSON/YAML ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise PredictionFormatError(f"{path}: a class map must be a mapping {{source class: project class name}} "
                                    "or a file with a 'names:' key")
    explicit: dict[str, int | None] = {}
    names: dict[str, str] = {}
    if "names" in data:
        raw = data["names"]
        items = enumerate(raw) if isinstance(raw, list) else raw.items() if isinstance(raw, dict) else None
        if items is None:
            raise PredictionFormatError(f"{path}: 'names' must be a list or an {{id: name}} mapping")
        for k, name in items:
            names[_key(k)] = str(name)
            c = index.class_by_name.get(str(name))
            if c is not None:
                explicit[_key(k)] = c.idx
        return explicit, names
    for k, v in data.items():
        if v is None:
            explicit[_key(k)] = None
            continue
        c = index.class_by_name.get(str(v))
        if c is None and isinstance(v, int) and not isinstance(v, bool):
            c = index.class_by_idx.get(v)
        if c is None:
            known = ", ".join(repr(c.name) for c in index.classes[:20])
            raise PredictionFormatError(f"{path}: {k!r} maps to {v!r}, which is not a project class "
                                        f"(project classes: {known or 'none'})")
        explicit[_key(k)] = c.idx
    return explicit, names


def _key(k) -> str:
    """Class ids and names share one key space: 3, 3.0 and '3' are the same source class."""
    if isinstance(k, bool):
        return str(k)
    if isinstance(k, float) and k.is_integer():
        return str(int(k))
    return str(k).strip()


class ClassMapper:
    def __init__(self, index: ProjectIndex, mode: str = "index", explicit: dict[str, int | None] | None = None,
                 source_names: dict[str, str] | None = None, map_file: str = "") -> None:
        self.index = index
        self.mode = mode  # "index" | "coco"
        self.explicit = explicit
        self.source_names = source_names or {}
        self.map_file = map_file
        self.model_classes: list[str] = []
        self.class_map: dict[int, int | None] = {}
        self._model_idx: dict[str, int] = {}
        self._unknown: dict[str, list] = {}  # key -> [file, first line, count]
        self._known_ints: dict[int, tuple[int, int]] = {}  # int id -> (project idx or -1, model idx)

    def _resolve(self, key: str) -> int | None | object:
        """Project idx, None for 'deliberately unmapped', or _UNSET when unknown."""
        if self.explicit is not None:
            if key in self.explicit:
                return self.explicit[key]
            # A map written with names works for a file that writes ids (COCO + annotations).
            return self.explicit.get(self.source_names.get(key, key), _UNSET)
        if key in self.source_names:
            c = self.index.class_by_name.get(self.source_names[key])
            return c.idx if c else _UNSET
        as_int = _int_or_none(key)
        if self.mode == "coco":
            c = self.index.class_by_coco_id.get(as_int) if as_int is not None else self.index.class_by_name.get(key)
        else:
            c = self.index.class_by_idx.get(as_int) if as_int is not None else self.index.class_by_name.get(key)
        return c.idx if c else _UNSET

    def _register(self, key: str) -> int:
        m = self._model_idx.get(key)
        if m is None:
            m = len(self.model_classes)
            self._model_idx[key] = m
            target = self._resolve(key)
            proj = None if target is _UNSET else target
            name = self.source_names.get(key)
            if name is None and proj is not None and self.mode != "coco" and self.explicit is None:
                name = self.index.class_by_idx[proj].name
            self.model_classes.append(name if name is not None else key)
            self.class_map[m] = proj
            if target is _UNSET:
                self._unknown[key] = ["", None, 0]
        return m

    def map_one(self, raw, file: str, line: int | None) -> tuple[int, int]:
        """(project idx or -1, model idx) for one source class; counts unknown ones."""
        key = _key(raw)
        m = self._register(key)
        proj = self.class_map[m]
        if key in self._unknown:
            u = self._unknown[key]
            if u[2] == 0:
                u[0], u[1] = file, line
            u[2] += 1
        return (-1 if proj is None else proj), m

    def map_ints(self, ids: np.ndarray, file: str, lines) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised map_one for integer class ids."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # Fast path: every id seen before and known to the project (a cached dict lookup per
        # box beats np.unique on the ~10 boxes of an image).
        cache = self._known_ints
        try:
            pairs = [cache[c] for c in ids.tolist()]
        except KeyError:
            pass
        else:
            arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
            return arr[:, 0], arr[:, 1]
        uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        proj = np.empty(len(uniq), np.int64)
        model = np.empty(len(uniq), np.int64)
        for j, u in enumerate(uniq):
            key = str(int(u))
            m = self._register(key)
            p = self.class_map[m]
            proj[j], model[j] = (-1 if p is None else p), m
            if key not in self._unknown:
                self._known_ints[int(u)] = (proj[j], m)
            if key in self._unknown:
                rec = self._unknown[key]
                if rec[2] == 0:
                    line = None if lines is None else lines[first[j]]
                    rec[0], rec[1] = file, (None if line is None else int(line))  # never a numpy int in a report
                rec[2] += int(np.count_nonzero(inverse == j))
        return proj[inverse], model[inverse]

    def problems(self) -> list[Problem]:
        out = []
        for key, (file, line, count) in self._unknown.items():
            if count == 0:
                continue
            how = f"in the class map {self.map_file}" if self.explicit is not None else "in the project"
            name = self.source_names.get(key)
            label = f"class {key!r}" + (f" ({name})" if name and name != key else "")
            out.append(Problem(file, f"{label} has no project class {how}",
                               f"kept {count} prediction(s) as unmapped (no project class)", line))
        return out


def _int_or_none(key: str) -> int | None:
    try:
        return int(key)
    except ValueError:
        return None
