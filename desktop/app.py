"""Wiring: the one module that builds core + detect + ui together (the review window).
Placeholder until the review window lands."""
from __future__ import annotations


def run_gui(project: str | None = None) -> int:
    from desktop.cli import build_parser

    build_parser().print_help()
    return 0
