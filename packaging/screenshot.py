"""Take the README's screenshots of the real window: open a project, focus the Nth issue of
the queue (optionally of one kind), and grab the window. Run it under Xvfb with the xcb
platform so it is what a user sees:

    Xvfb :77 -screen 0 1600x1000x24 &  DISPLAY=:77 .venv/bin/python packaging/screenshot.py \
        PROJECT.boxfix docs/screenshot.png --issue 3 [--kind class] [--dashboard]
"""
from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("project")
    ap.add_argument("out")
    ap.add_argument("--issue", type=int, default=0, help="focus the Nth issue of the queue (0 = first)")
    ap.add_argument("--kind", help="only issues of this kind")
    ap.add_argument("--dashboard", action="store_true", help="show the dashboard dock")
    ap.add_argument("--size", default="1600x1000")
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from desktop.app import build_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = build_window(args.project)
    w, h = (int(v) for v in args.size.split("x"))
    win.resize(w, h)
    win.show()
    if args.dashboard:
        win.docks["dashboard"].show()

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    settle(2.0)
    s = win.session
    queue = [it for it in s.queue if not args.kind or it.kind.value == args.kind]
    if queue:
        s.focus_issue(queue[min(args.issue, len(queue) - 1)].id)
    settle(2.0)
    win.grab().save(args.out)
    print(f"saved {args.out}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
