"""One module per `boxfix` subcommand. Each exposes `register(subparsers)` and sets
`func=run` on its parser; `run(args) -> int` returns the exit code. cli.py discovers them
from COMMANDS, so adding a command never edits another command's file."""

COMMANDS = [
    "import_cmd",
    "info",
    "export",
    "relocate",
    "predict",
    "runs",
    "issues_cmd",
    "predictions_cmd",
    "demo",
    "doctor",
    "report",
    "crossval",
]
