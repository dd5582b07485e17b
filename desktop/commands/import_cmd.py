"""`boxfix import SRC -o PROJECT.boxfix [--format auto|yolo|coco|voc|folder] [--json]`

Reads a dataset into a new project file and prints a summary and the import report (every
problem with file and line or annotation id, what is wrong, what was done).
Exit codes: 0 imported (problems, if any, are listed), 1 a user error, 2 bad usage."""
from __future__ import annotations

import sys
from pathlib import Path

from desktop.commands.common import UserError, emit_json, progress

SHOWN_PROBLEMS = 50


def register(sub) -> None:
    p = sub.add_parser("import", help="read a dataset (YOLO, COCO, VOC, image folder) into a new project",
                       description="Read a dataset into a new BoxFix project file. SRC is a data.yaml, a COCO "
                       "JSON, a folder of VOC XML, a dataset folder, or a folder of images.")
    p.add_argument("src", help="the dataset: a file or a folder")
    p.add_argument("-o", "--output", required=True, metavar="PROJECT", help="the project file to create (NAME.boxfix)")
    p.add_argument("--format", default="auto", choices=["auto", "yolo", "coco", "voc", "folder"],
                   help="the dataset's format (default: recognised from SRC)")
    p.add_argument("--overwrite", action="store_true", help="replace PROJECT if it exists")
    p.add_argument("--json", action="store_true", help="print the summary and the report as JSON on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from desktop.core.formats import FormatError, import_project
    from desktop.core.store import ProjectError, ProjectLockedError

    src, out = Path(args.src), Path(args.output)
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    if out.suffix != ".boxfix":
        raise UserError(f"{out}: a project file name must end in .boxfix")
    try:
        with progress(None, "reading", enabled=not args.json) as rbar, \
                progress(None, "writing", enabled=not args.json) as wbar:
            store, summary = import_project(src, out, args.format, overwrite=args.overwrite,
                                            progress=wbar.update, read_progress=rbar.update)
    except (FormatError, ProjectError, ProjectLockedError) as exc:
        raise UserError(str(exc)) from None
    except PermissionError as exc:
        raise UserError(f"{exc.filename}: permission denied") from None
    try:
        info = {"project": str(out), "format": store.get_meta("source_format"), "dataset_root": str(store.dataset_root),
                "images": summary.images, "labels": summary.labels, "classes": summary.classes,
                "splits": store.split_counts(),
                "problems": [dict(p.__dict__) for p in summary.problems]}
    finally:
        store.close()
    if args.json:
        emit_json(info)
        return 0
    print(f"Imported {info['format']} dataset {src} -> {out}")
    print(f"  root:    {info['dataset_root']}")
    print(f"  images:  {info['images']}  ({', '.join(f'{k} {v}' for k, v in sorted(info['splits'].items()))})")
    print(f"  labels:  {info['labels']}")
    print(f"  classes: {info['classes']}")
    problems = summary.problems
    if not problems:
        print("Import report: no problems.")
        return 0
    errors = sum(p.severity == "error" for p in problems)
    print(f"Import report: {len(problems)} problems ({errors} errors):")
    for p in problems[:SHOWN_PROBLEMS]:
        print(f"  {p}")
    if len(problems) > SHOWN_PROBLEMS:
        print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more (boxfix import --json lists them all)")
    sys.stdout.flush()
    return 0
