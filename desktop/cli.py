"""The `boxfix` command. With no subcommand it opens the review window (or prints help when
no display is available). Subcommands live in desktop/commands/, one file each.

Exit codes: 0 success, 1 a user error (one clear sentence, no traceback), 2 bad usage.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from desktop import __version__
from desktop.commands import COMMANDS
from desktop.commands.common import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="boxfix",
        description="Find and fix the mistakes in object-detection datasets. "
        "With no command, opens the review window; `boxfix PROJECT.boxfix` opens that project.",
    )
    parser.add_argument("--version", action="version", version=f"boxfix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"desktop.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"desktop.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices or {}) if parser._subparsers else set()
    if argv and not argv[0].startswith("-") and argv[0] not in known:
        # `boxfix PROJECT.boxfix` opens that project in the window.
        args = argparse.Namespace(command=None, project=argv[0])
    else:
        args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _gui(parser, getattr(args, "project", None))
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"boxfix: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("boxfix: interrupted", file=sys.stderr)
        return 130


def _gui(parser: argparse.ArgumentParser, project: str | None) -> int:
    try:
        from desktop.app import run_gui
    except ModuleNotFoundError as exc:
        if exc.name != "desktop.app":
            raise
        parser.print_help()
        return 0
    return run_gui(project)


if __name__ == "__main__":
    sys.exit(main())
