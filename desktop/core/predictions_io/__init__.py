"""Predictions made elsewhere, in and out: COCO results JSON, YOLO txt with confidence
(Ultralytics save_txt + save_conf), and BoxFix JSON Lines. See docs/predictions-format.md.

    report = import_predictions(store, "preds.jsonl", name="cluster run 3")
    report.run_id, report.problems            # a run of kind 'imported', like a model run
    export_predictions(store, run_id, "out.json", "coco-results")

Readers yield ImageResult per image and put every skipped or altered thing into a
ProblemLog: nothing is dropped silently. The run is created only when the first batch is
ready, so a file that cannot be read at all leaves no empty run behind.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..model import Problem
from . import boxfix_jsonl, coco_results, yolo_conf
from ._common import ImageResult, PredictionFormatError, ProblemLog
from .class_map import ClassMapper, load_class_map
from .detect import FORMATS, detect_format
from .project_index import ProjectIndex, coco_category_ids, coco_image_ids
from .writers import WRITERS, ExportReport

__all__ = [
    "FORMATS", "ImageResult", "ImportReport", "ExportReport", "PredictionFormatError", "ProjectIndex",
    "detect_format", "read_predictions", "import_predictions", "export_predictions", "coco_image_ids",
    "coco_category_ids", "run_problems", "NothingImported",
]

BATCH_IMAGES = 5000


class NothingImported(PredictionFormatError):
    """No prediction matched the project; `problems` says why. No run was made."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = "; ".join(str(p) for p in problems[:3])
        super().__init__(f"no prediction could be imported ({len(problems)} problem(s), first: {first})")


@dataclass
class ImportReport:
    run_id: int | None
    format: str
    images: int
    predictions: int
    problems: list[Problem] = field(default_factory=list)
    model_classes: list[str] = field(default_factory=list)
    class_map: dict[int, int | None] = field(default_factory=dict)


@dataclass
class PredictionRead:
    """What read_predictions returns: `results` is a generator; `problems()` and the class
    tables are complete once it has been consumed."""

    format: str
    results: Iterator[ImageResult]
    log: ProblemLog
    mapper: ClassMapper

    def problems(self) -> list[Problem]:
        return self.log.problems() + self.mapper.problems()


def read_predictions(path: str | Path, index: ProjectIndex, fmt: str = "auto", class_map: str | Path | None = None,
                     annotations: str | Path | None = None) -> PredictionRead:
    """Open a predictions file (or folder) against a project snapshot. Raises
    PredictionFormatError for a file that cannot be read at all; everything else is a Problem."""
    path = Path(path)
    if not path.exists():
        raise PredictionFormatError(f"{path}: no such file or folder")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise PredictionFormatError(f"unknown predictions format {fmt!r} (known: {', '.join(FORMATS)})")
    if annotations is not None and fmt != "coco-results":
        raise PredictionFormatError("--annotations is for COCO results only (it maps COCO image ids to file names)")
    explicit, names = (None, {})
    if class_map is not None:
        explicit, names = load_class_map(class_map, index)
        if not explicit and names:
            explicit = {}
    log = ProblemLog()
    if fmt == "coco-results":
        source_names = {}
        if annotations is not None:
            _files, cats = coco_results.load_annotations(annotations)
            source_names = {str(k): v for k, v in cats.items()}
        source_names.update(names)
        mapper = ClassMapper(index, "coco", explicit, source_names, str(class_map or ""))
        results = coco_results.read(path, index, mapper, log, annotations)
    else:
        mapper = ClassMapper(index, "index", explicit, names, str(class_map or ""))
        reader = yolo_conf if fmt == "yolo-conf" else boxfix_jsonl
        results = reader.read(path, index, mapper, log)
    return PredictionRead(fmt, results, log, mapper)


def import_predictions(store, path: str | Path, name: str, fmt: str = "auto", class_map: str | Path | None = None,
                       annotations: str | Path | None = None, activate: bool = True,
                       progress: Callable[[int], None] | None = None) -> ImportReport:
    """Read a predictions file into a new run of kind 'imported'. Returns the report; the
    run's problems are also kept in the project (see run_problems)."""
    index = ProjectIndex.from_store(store)
    read = read_predictions(path, index, fmt, class_map, annotations)
    source = str(Path(path).resolve())
    params = {"format": read.format, "file": source,
              "class_map": str(Path(class_map).resolve()) if class_map else None,
              "annotations": str(Path(annotations).resolve()) if annotations else None}
    # The run's model classes are known only once the file is read. With a store that can
    # update them afterwards, batches stream into the project; otherwise the (compact, numpy)
    # results are held until the end and the run is created complete.
    streaming = hasattr(store, "update_run_classes")
    run_id = None
    n_images = n_preds = n_listed = 0
    pending: list[tuple] = []

    def flush(batch: list[tuple]) -> None:
        nonlocal run_id, n_preds
        if run_id is None:
            run_id = store.create_run(name, kind="imported", model_path=source, params=params, source=source,
                                      model_classes=list(read.mapper.model_classes),
                                      class_map=dict(read.mapper.class_map), activate=activate)
        if batch:
            n_preds += store.add_predictions(run_id, batch)
            if progress:
                progress(len(batch))

    for result in read.results:
        pending.append(result.as_tuple())
        n_images += 1
        n_listed += result.listed
        if streaming and len(pending) >= BATCH_IMAGES:
            flush(pending)
            pending = []
    problems = read.problems()
    if n_listed == 0 and any(p.severity == "error" for p in problems):
        # Nothing matched and something was wrong: most likely the wrong project or format.
        # No run is made; the caller shows the problems.
        raise NothingImported(problems)
    for start in range(0, max(len(pending), 1), BATCH_IMAGES):
        flush(pending[start:start + BATCH_IMAGES])  # an empty file still makes an (empty) run, and says so
    if streaming:
        store.update_run_classes(run_id, list(read.mapper.model_classes), dict(read.mapper.class_map))
    store.set_meta(f"run_problems:{run_id}", json.dumps([p.__dict__ for p in problems]))
    store.finish_run(run_id)
    return ImportReport(run_id, read.format, n_images, n_preds, problems, list(read.mapper.model_classes),
                        dict(read.mapper.class_map))


def run_problems(store, run_id: int) -> list[Problem]:
    raw = store.get_meta(f"run_problems:{run_id}")
    return [Problem(**p) for p in json.loads(raw)] if raw else []


def export_predictions(store, run_id: int, out: str | Path, fmt: str,
                       annotations: str | Path | None = None) -> ExportReport:
    """Write a run as COCO results (ids of the project's COCO export, or of `annotations`)
    or BoxFix JSON Lines."""
    if fmt not in WRITERS:
        raise PredictionFormatError(f"cannot export predictions as {fmt!r} (known: {', '.join(WRITERS)})")
    if annotations is not None and fmt != "coco-results":
        raise PredictionFormatError("--annotations is for COCO results only (it gives the image and category ids)")
    store.run_info(run_id)  # a clear error for a run that does not exist
    return WRITERS[fmt](store, run_id, out, annotations)
