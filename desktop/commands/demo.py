"""`boxfix demo`: open the built-in demo project (generated, with planted mistakes) with the
bundled model predicting it. `--headless` does it without a window and prints the issue
summary; `--check` says how many planted mistakes are fixed, missed or still open."""
from __future__ import annotations

import os
import sys

from desktop.commands.common import UserError, emit_json


def register(sub) -> None:
    p = sub.add_parser("demo", help="open the built-in demo project with planted mistakes")
    p.add_argument("--headless", action="store_true", help="no window: predict, score and print the issue summary")
    p.add_argument("--check", action="store_true", help="how many planted mistakes are fixed, missed or still open")
    p.add_argument("--reset", action="store_true", help="rebuild the demo project from scratch (your demo edits are lost)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _say(args):
    return (lambda msg: print(msg, file=sys.stderr)) if not args.json else (lambda msg: None)


def run(args) -> int:
    from desktop.demo import project as demo

    if not demo.demo_model_path().is_file():
        raise UserError(f"the demo model is missing ({demo.demo_model_path()}); reinstall BoxFix or run "
                        "packaging/train_demo_model.py")
    if args.check:
        return _check(args, demo)
    if args.headless or not _has_display():
        if not args.headless:
            print("boxfix: no display found; running the demo headless", file=sys.stderr)
        return _headless(args, demo)
    project = demo.prepare_demo_project(reset=args.reset, say=_say(args))
    from desktop.app import run_gui

    return run_gui(str(project), demo=True)


def _has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform not in ("xcb", "wayland"):
        return platform != "offscreen" and platform != "minimal"
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _headless(args, demo) -> int:
    from desktop.core.store import Store
    from desktop.demo.recall import queue_recall
    from desktop.demo.generate import manifest_path_for

    result = demo.run_headless(reset=args.reset, say=_say(args))
    store = Store.open(result["project"], readonly=True)
    try:
        result["queue_recall_top10"] = queue_recall(store, manifest_path_for(store.dataset_root))
    finally:
        store.close()
    if args.json:
        result["queue_recall_top10"].pop("details", None)
        emit_json(result)
        return 0
    s = result["issues"]
    print(f"demo project: {result['project']}")
    print(f"open issues: {sum(s['by_kind'].values())} on {s['images_with_issues']} of {s['images']} images")
    for kind, n in sorted(s["by_kind"].items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<16} {n:>5}")
    r = result["queue_recall_top10"]
    print(f"planted missing/shifted/wrong-class mistakes in the top 10% of the queue "
          f"({r['budget_images']} images): {r['found']} / {r['mistakes']} ({100 * r['recall']:.0f}%)")
    _print_check(result["check"])
    return 0


def _check(args, demo) -> int:
    from desktop.core.store import Store

    project = demo.demo_project_path()
    if not project.exists():
        raise UserError("there is no demo project yet; run `boxfix demo` first")
    store = Store.open(project, readonly=True)
    try:
        result = demo.check(store)
    finally:
        store.close()
    if args.json:
        emit_json(result)
    else:
        _print_check(result)
    return 0


def _print_check(result: dict) -> None:
    keys = [k for k in ("fixed", "open", "missed", "still_open", "correct_changed", "total") if k in result]
    print("demo progress: " + ", ".join(f"{k.replace('_', ' ')} {result[k]}" for k in keys))
