"""Shared helpers for subcommands: user errors, JSON output, progress bars."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path


class UserError(Exception):
    """A mistake the user can fix: printed as one sentence, exit code 1, no traceback."""


def emit_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


@contextmanager
def progress(total: int | None, desc: str, enabled: bool = True):
    """A tqdm bar on stderr (so --json stdout stays clean); disabled when not a terminal."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=not enabled or not sys.stderr.isatty(),
               dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def open_store(path: str, readonly: bool = False):
    from desktop.core.store import ProjectError, ProjectLockedError, Store

    try:
        return Store.open(Path(path), readonly=readonly)
    except (ProjectError, ProjectLockedError) as exc:
        raise UserError(str(exc)) from None
