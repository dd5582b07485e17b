"""Number, time and label formatting shared by the HTML and Markdown reports."""
from __future__ import annotations

import time

KIND_TITLES = {"added": "added", "deleted": "deleted", "moved": "moved or resized", "class_changed": "class changed"}


def pct(share: float) -> str:
    """A share as a percentage with one decimal: 0.0583 -> '5.8%'."""
    return f"{100.0 * share:.1f}%"


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {s:02d} s"
    return f"{s} s"


def when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "-"


def change_summary(ch, class_names: dict[int, str]) -> str:
    """'2 added, 1 deleted, 1 moved, 1 class changed (cat -> dog)' for one image."""
    parts = []
    if ch.added:
        parts.append(f"{len(ch.added)} added")
    if ch.deleted:
        parts.append(f"{len(ch.deleted)} deleted")
    if ch.moved:
        parts.append(f"{len(ch.moved)} moved")
    if ch.class_changed:
        pairs = ", ".join(f"{class_names.get(a, a)} -> {class_names.get(b, b)}" for a, b in ch.relabels)
        parts.append(f"{len(ch.class_changed)} class changed ({pairs})")
    return ", ".join(parts)
