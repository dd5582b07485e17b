"""`boxfix report PROJECT -o FILE.html|.md|.json [--csv EDITS.csv] [--json]`: the correction
report (current labels against the labels as imported). The format follows the suffix of -o.
The project is opened read-only, so a report can be made while the window has it open."""
from __future__ import annotations

import sys
from pathlib import Path

from desktop.commands.common import UserError, emit_json, open_store


def register(sub) -> None:
    p = sub.add_parser("report", help="write the correction report: what changed since import (HTML, Markdown, JSON)",
                       description="Compare the current labels with the labels as imported and write the "
                       "correction report. The format follows the output file's suffix: .html (self-contained, "
                       "with before/after thumbnails), .md (short, for a pull request or data card) or .json.")
    p.add_argument("project", help="the project file (NAME.boxfix)")
    p.add_argument("-o", "--output", metavar="FILE", help="report file: FILE.html, FILE.md or FILE.json")
    p.add_argument("--csv", metavar="EDITS.csv", help="also write every edit as CSV (when, image, box, kind, before, after)")
    p.add_argument("--json", action="store_true", help="print the report's figures as JSON on stdout")
    p.set_defaults(func=run)


def _usage(msg: str) -> int:
    print(f"boxfix report: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    from desktop.core.report import FORMATS, build_report, format_for, write_edits_csv, write_report

    if not (args.output or args.csv or args.json):
        return _usage("nothing to write; give -o FILE.html|.md|.json, --csv FILE.csv or --json")
    if args.output and format_for(args.output) is None:
        return _usage(f"{args.output}: unknown report format; the suffix must be one of {', '.join(sorted(FORMATS))}")
    for target in filter(None, (args.output, args.csv)):
        parent = Path(target).resolve().parent
        if not parent.is_dir():
            raise UserError(f"{target}: folder {parent} does not exist")
    store = open_store(args.project, readonly=True)
    try:
        report = build_report(store)
        try:
            if args.output:
                write_report(store, args.output, report)
            n_edits = write_edits_csv(store, args.csv) if args.csv else None
        except OSError as exc:
            raise UserError(f"cannot write the report: {exc.strerror or exc} ({exc.filename or args.output})") from None
    finally:
        store.close()
    if args.json:
        d = report.to_dict()
        d.pop("changes")  # per-image detail lives in the .json report; stdout stays a summary
        emit_json(d)
    else:
        print(f"{report.images_changed} of {report.images} images changed ({100 * report.share_changed:.1f}%)"
              + (f"; report written to {args.output}" if args.output else "")
              + (f"; {n_edits} edits written to {args.csv}" if args.csv else ""))
    return 0
