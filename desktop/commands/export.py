"""`boxfix export PROJECT --format yolo|coco -o DIR [--reviewed-only] [--original]
[--images copy|link|list] [--json]`. DIR must be new, empty, or an earlier BoxFix export
(it is then replaced as a whole, atomically). Conventions: docs/formats.md."""
from __future__ import annotations

from desktop.commands.common import UserError, emit_json, open_store, progress

SHOWN_PROBLEMS = 30


def register(sub) -> None:
    p = sub.add_parser("export", help="write the project's labels as a YOLO or COCO dataset",
                       description="Write the project as a YOLO or COCO dataset into DIR (new, empty, or an earlier "
                       "BoxFix export, which is replaced).")
    p.add_argument("project", help="the project file (NAME.boxfix)")
    p.add_argument("--format", required=True, choices=["yolo", "coco"], help="the output format")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder to write")
    p.add_argument("--reviewed-only", action="store_true", help="only images marked reviewed")
    p.add_argument("--original", action="store_true", help="the labels as imported, not the corrected ones")
    p.add_argument("--images", default="copy", choices=["copy", "link", "list"],
                   help="copy the images (default), hard-link them, or symlink them and write list files")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from desktop.core.formats.export import ExportError, ExportOptions, export_project

    store = open_store(args.project, readonly=True)
    try:
        opts = ExportOptions(reviewed_only=args.reviewed_only, original=args.original, images=args.images)
        with progress(store.image_count(), "exporting", enabled=not args.json) as bar:
            result = export_project(store, args.format, args.output, opts, progress=bar.update)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    except PermissionError as exc:
        raise UserError(f"{exc.filename}: permission denied") from None
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    finally:
        store.close()
    if args.json:
        emit_json(result.as_dict())
        return 0
    print(f"Exported {result.images} images, {result.labels} labels as {result.format} to {result.out}")
    for name in result.files:
        print(f"  {result.out / name}")
    if result.problems:
        print(f"{len(result.problems)} notes:")
        for p in result.problems[:SHOWN_PROBLEMS]:
            print(f"  {p}")
        if len(result.problems) > SHOWN_PROBLEMS:
            print(f"  ... and {len(result.problems) - SHOWN_PROBLEMS} more (--json lists them all)")
    return 0
