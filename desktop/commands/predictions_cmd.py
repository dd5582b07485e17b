"""`boxfix predictions import|export`: predictions made by any detector, on any machine.

    boxfix predictions import PROJECT FILE --name RUN_NAME [--format auto|coco-results|yolo-conf|boxfix-json]
                              [--class-map FILE] [--annotations FILE] [--activate/--no-activate] [--json]
    boxfix predictions export PROJECT --run ID -o FILE --format coco-results|boxfix-json [--annotations FILE] [--json]

An imported file becomes a prediction run of kind 'imported' that the issue finder and the
window use like a run BoxFix made itself. Formats: docs/predictions-format.md.
Exit codes: 0 done (problems, if any, are listed), 1 a user error, 2 bad usage."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop.commands.common import UserError, emit_json, open_store, progress

SHOWN_PROBLEMS = 30


def register(sub) -> None:
    p = sub.add_parser("predictions", help="import predictions made elsewhere, or export a run",
                       description="Import predictions from any detector (COCO results JSON, YOLO txt with "
                       "confidence, BoxFix JSON Lines) as a prediction run, or export a run for evaluation.")
    ps = p.add_subparsers(dest="predictions_command", metavar="ACTION", required=True)

    imp = ps.add_parser("import", help="import a predictions file as a new run",
                        description="Import a predictions file (or folder) as a new prediction run of kind "
                        "'imported'. Problems (unknown images or classes, malformed rows, boxes outside the "
                        "image) are listed with file and line; nothing is dropped silently.")
    imp.add_argument("project", help="the project file (NAME.boxfix)")
    imp.add_argument("file", help="predictions: a .json / .jsonl file, or a folder of YOLO .txt or .jsonl files")
    imp.add_argument("--name", required=True, help="the run's name")
    imp.add_argument("--format", default="auto", choices=["auto", "coco-results", "yolo-conf", "boxfix-json"],
                     help="the file's format (default: detected from its start)")
    imp.add_argument("--class-map", metavar="FILE",
                     help="JSON or YAML {source class id or name: project class name}, or a file with 'names:'")
    imp.add_argument("--annotations", metavar="FILE",
                     help="COCO annotations file whose images/categories the COCO results refer to "
                     "(images are then matched by file_name, categories by name)")
    imp.add_argument("--activate", action=argparse.BooleanOptionalAction, default=True,
                     help="make the new run the active run (default: yes)")
    imp.add_argument("--json", action="store_true", help="print the import report as JSON on stdout")
    imp.set_defaults(func=run_import)

    exp = ps.add_parser("export", help="write a run as COCO results or BoxFix JSON Lines",
                        description="Write a prediction run out, e.g. to evaluate it with pycocotools.")
    exp.add_argument("project", help="the project file (NAME.boxfix)")
    exp.add_argument("--run", required=True, metavar="ID", help="the run's id (see `boxfix runs`) or its name")
    exp.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    exp.add_argument("--format", required=True, choices=["coco-results", "boxfix-json"], help="the file's format")
    exp.add_argument("--annotations", metavar="FILE",
                     help="coco-results only: take image ids (by file_name) and category ids (by name) from this "
                     "COCO annotations file, e.g. the one your evaluation uses")
    exp.add_argument("--json", action="store_true", help="print the export report as JSON on stdout")
    exp.set_defaults(func=run_export)


def _problem_dicts(problems) -> list[dict]:
    return [dict(p.__dict__) for p in problems]


def _print_problems(problems) -> None:
    for p in problems[:SHOWN_PROBLEMS]:
        print(f"  {p}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more (use --json for all)", file=sys.stderr)


def run_import(args) -> int:
    from desktop.core.predictions_io import NothingImported, PredictionFormatError, import_predictions

    for opt, value in (("FILE", args.file), ("--class-map", args.class_map), ("--annotations", args.annotations)):
        if value is not None and not Path(value).exists():
            raise UserError(f"{value}: no such file or folder ({opt})")
    store = open_store(args.project)
    try:
        with progress(None, "importing predictions") as bar:
            try:
                report = import_predictions(store, args.file, args.name, args.format, args.class_map,
                                            args.annotations, args.activate, progress=bar.update)
            except NothingImported as exc:
                if args.json:
                    emit_json({"run_id": None, "images": 0, "predictions": 0,
                               "problems": _problem_dicts(exc.problems)})
                else:
                    _print_problems(exc.problems)
                raise UserError(f"{args.file}: no prediction matched this project, so no run was made "
                                f"({len(exc.problems)} problem(s) listed)") from None
            except PredictionFormatError as exc:
                raise UserError(str(exc)) from None
            except OSError as exc:
                raise UserError(f"cannot read {exc.filename or args.file}: {exc.strerror or exc}") from None
    finally:
        store.close()
    if args.json:
        emit_json({"run_id": report.run_id, "name": args.name, "format": report.format, "images": report.images,
                   "predictions": report.predictions, "active": bool(args.activate),
                   "model_classes": report.model_classes,
                   "class_map": {str(k): v for k, v in report.class_map.items()},
                   "problems": _problem_dicts(report.problems)})
    else:
        print(f"imported {report.predictions} predictions for {report.images} images as run {report.run_id} "
              f"'{args.name}' ({report.format})" + (", now the active run" if args.activate else ""))
        if report.problems:
            print(f"{len(report.problems)} problem(s):", file=sys.stderr)
            _print_problems(report.problems)
    return 0


def _run_id(store, value: str) -> int:
    runs = store.runs()
    if value.isdigit() and any(r.id == int(value) for r in runs):
        return int(value)
    named = [r.id for r in runs if r.name == value]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise UserError(f"several runs are named {value!r} (ids {', '.join(map(str, named))}); give the id")
    known = ", ".join(f"{r.id} '{r.name}'" for r in runs[-10:]) or "none"
    raise UserError(f"no prediction run {value!r} in {store.path} (runs: {known})")


def run_export(args) -> int:
    from desktop.core.predictions_io import PredictionFormatError, export_predictions

    if args.annotations is not None and not Path(args.annotations).is_file():
        raise UserError(f"{args.annotations}: no such file (--annotations)")
    parent = Path(args.output).resolve().parent
    if not parent.is_dir():
        raise UserError(f"{args.output}: folder {parent} does not exist")
    store = open_store(args.project, readonly=True)
    try:
        run_id = _run_id(store, args.run)
        try:
            report = export_predictions(store, run_id, args.output, args.format, args.annotations)
        except PredictionFormatError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"cannot write {exc.filename or args.output}: {exc.strerror or exc}") from None
    finally:
        store.close()
    if args.json:
        emit_json({"run_id": run_id, "path": report.path, "format": report.format, "images": report.images,
                   "predictions": report.predictions, "problems": _problem_dicts(report.problems)})
    else:
        print(f"wrote {report.predictions} predictions for {report.images} images of run {run_id} "
              f"to {report.path} ({report.format})")
        if report.problems:
            _print_problems(report.problems)
    return 0
