"""The typed action registry: every key press of the review window is one `Action`.

One source for three things: the QActions of the window (`install_actions`), the cheat
sheet overlay (F1 / ?), and the README's key table (`keymap_markdown`). Keys are never
written in code: they come from resources/keymap.toml, overridden line by line by the
user's config_dir()/keymap.toml.

A handler is named, not bound: `target` says which object owns it (the Session controller,
the canvas view, or the main window) and `method` which of its methods is called with
`args`. So the registry is importable without a window (for the README table and tests).
"""
from __future__ import annotations

import html
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from desktop.core.paths import config_dir, resources_dir


@dataclass(frozen=True)
class Action:
    id: str
    text: str
    group: str
    target: str  # "session" | "view" | "window"
    method: str
    args: tuple = ()


def _a(id, text, group, target, method, *args) -> Action:
    return Action(id, text, group, target, method, tuple(args))


NAV, REVIEW, EDIT, VIEW, PROJECT = "Moving through the dataset", "Reviewing issues", "Editing boxes", "View", \
    "Project and model"

ACTIONS: tuple[Action, ...] = (
    _a("next_image", "Next image", NAV, "session", "step_image", 1),
    _a("prev_image", "Previous image", NAV, "session", "step_image", -1),
    _a("next_image_with_issues", "Next image with open issues", NAV, "session", "step_image", 1, True),
    _a("prev_image_with_issues", "Previous image with open issues", NAV, "session", "step_image", -1, True),
    _a("next_issue", "Next issue in the queue (selects and centres its box)", NAV, "session", "step_issue", 1),
    _a("prev_issue", "Previous issue in the queue", NAV, "session", "step_issue", -1),
    _a("accept_issue", "Accept the issue's suggested fix (in draw mode: drop a box at the cursor)", REVIEW,
       "session", "accept_or_drop"),
    _a("dismiss_issue", "Dismiss the issue: the label is right (in draw mode: leave it)", REVIEW, "session",
       "dismiss_or_cancel"),
    _a("mark_reviewed", "Mark the image reviewed and go to the next one", REVIEW, "view", "hold_space"),
    _a("accept_all_unmatched", "Accept every unmatched prediction above the threshold (one undo step)", REVIEW,
       "session", "accept_all_unmatched"),
    _a("select_next", "Select the next box (labels, then predictions)", EDIT, "session", "cycle_selection", 1),
    _a("select_prev", "Select the previous box", EDIT, "session", "cycle_selection", -1),
    *(_a(f"class_{n}", f"Class {n} for the selected label, or the next box drawn", EDIT, "session",
         "class_key", n) for n in range(1, 10)),
    _a("delete_label", "Delete the selected label", EDIT, "session", "delete_selected"),
    _a("draw_mode", "Draw mode: drag a box, or Enter drops one sized like the last", EDIT, "session",
       "toggle_draw_mode"),
    _a("snap_to_prediction", "Snap the selected label to its best-matching prediction", EDIT, "session",
       "snap_selected"),
    _a("move_left", "Move the selected label left by one step", EDIT, "session", "move_selected", -1, 0),
    _a("move_right", "Move right by one step", EDIT, "session", "move_selected", 1, 0),
    _a("move_up", "Move up by one step", EDIT, "session", "move_selected", 0, -1),
    _a("move_down", "Move down by one step", EDIT, "session", "move_selected", 0, 1),
    _a("move_left_10", "Move left by ten steps", EDIT, "session", "move_selected", -10, 0),
    _a("move_right_10", "Move right by ten steps", EDIT, "session", "move_selected", 10, 0),
    _a("move_up_10", "Move up by ten steps", EDIT, "session", "move_selected", 0, -10),
    _a("move_down_10", "Move down by ten steps", EDIT, "session", "move_selected", 0, 10),
    _a("grow_left", "Grow: move the left edge outward", EDIT, "session", "resize_selected", "left", 1),
    _a("grow_right", "Grow: move the right edge outward", EDIT, "session", "resize_selected", "right", 1),
    _a("grow_top", "Grow: move the top edge outward", EDIT, "session", "resize_selected", "top", 1),
    _a("grow_bottom", "Grow: move the bottom edge outward", EDIT, "session", "resize_selected", "bottom", 1),
    _a("shrink_left", "Shrink: move the left edge inward", EDIT, "session", "resize_selected", "left", -1),
    _a("shrink_right", "Shrink: move the right edge inward", EDIT, "session", "resize_selected", "right", -1),
    _a("shrink_top", "Shrink: move the top edge inward", EDIT, "session", "resize_selected", "top", -1),
    _a("shrink_bottom", "Shrink: move the bottom edge inward", EDIT, "session", "resize_selected", "bottom", -1),
    _a("undo", "Undo", EDIT, "session", "undo"),
    _a("redo", "Redo", EDIT, "session", "redo"),
    _a("toggle_predictions", "Show / hide predictions", VIEW, "session", "toggle_predictions"),
    _a("toggle_labels", "Show / hide labels", VIEW, "session", "toggle_labels"),
    _a("hide_boxes", "Hide both (again: show both)", VIEW, "session", "hide_boxes"),
    _a("threshold_down", "Lower the confidence threshold by 0.05", VIEW, "session", "step_threshold", -1),
    _a("threshold_up", "Raise the confidence threshold by 0.05", VIEW, "session", "step_threshold", 1),
    _a("fit", "Fit the image to the window", VIEW, "view", "fit"),
    _a("zoom_100", "Zoom to 100%", VIEW, "view", "zoom_100"),
    _a("cheat_sheet", "Show the keys in effect", VIEW, "window", "toggle_cheat_sheet"),
    _a("open_project", "Open project...", PROJECT, "window", "open_project_dialog"),
    _a("open_dataset", "Open dataset (import into a new project)...", PROJECT, "window", "open_dataset_dialog"),
    _a("export", "Export...", PROJECT, "window", "export_dialog"),
    _a("load_model", "Load model...", PROJECT, "window", "load_model_dialog"),
    _a("run_model", "Run the model on the project", PROJECT, "window", "run_model"),
    _a("cancel_run", "Cancel the running model", PROJECT, "window", "cancel_run"),
    _a("quit", "Quit", PROJECT, "window", "close"),
)
BY_ID = {a.id: a for a in ACTIONS}


class KeymapError(ValueError):
    """A keymap file that cannot be read; the message names the file (and line)."""


def default_keymap_path() -> Path:
    return resources_dir() / "keymap.toml"


def user_keymap_path() -> Path:
    return config_dir() / "keymap.toml"


def _read_keys(path: Path) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Keys of one file, and warnings (unknown ids, bad values) naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:  # its message carries "(at line N, column M)"
        raise KeymapError(f"{path}: {exc}") from None
    except OSError as exc:
        raise KeymapError(f"{path}: {exc.strerror}") from None
    table = data.get("keys", data)  # a bare table of id = key is accepted too
    keys, warnings = {}, []
    for action_id, value in table.items():
        if action_id not in BY_ID:
            warnings.append(f"{path}: unknown action '{action_id}' (ignored); see the cheat sheet (F1) for ids")
            continue
        if isinstance(value, str):
            value = [value] if value else []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            warnings.append(f"{path}: '{action_id}' must be a key or a list of keys (ignored)")
            continue
        keys[action_id] = tuple(value)
    return keys, warnings


def load_keymap(user_path: Path | None = None) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Keys in effect: the shipped defaults, then the user's file line by line on top.
    Returns (action id -> keys, warnings). A broken user file is reported, never fatal."""
    keys, warnings = _read_keys(default_keymap_path())
    user_path = user_keymap_path() if user_path is None else Path(user_path)
    if user_path.is_file():
        try:
            user, more = _read_keys(user_path)
        except KeymapError as exc:
            return keys, warnings + [f"{exc} (using the default keys)"]
        warnings += more
        # A key the user gives to one action is taken away from the action that had it by
        # default, so remapping never leaves two actions on one key.
        taken = {k.lower() for ks in user.values() for k in ks}
        for aid, ks in keys.items():
            if aid not in user:
                keys[aid] = tuple(k for k in ks if k.lower() not in taken)
        keys.update(user)
    for aid in BY_ID:
        keys.setdefault(aid, ())
    return keys, warnings


def keymap_markdown(keys: dict[str, tuple[str, ...]] | None = None) -> str:
    """The README's key table, generated from the registry and the keymap in effect."""
    keys = keys if keys is not None else load_keymap()[0]
    lines = ["| Keys | Action |", "|---|---|"]
    group = None
    for a in ACTIONS:
        if a.group != group:
            group = a.group
            lines.append(f"| **{group}** | |")
        shown = " / ".join(f"`{k}`" for k in keys.get(a.id, ())) or "(unbound)"
        lines.append(f"| {shown} | {a.text} |")
    return "\n".join(lines) + "\n"


def cheat_sheet_html(keys: dict[str, tuple[str, ...]]) -> str:
    """The overlay's text: the same registry, grouped, in two columns per group."""
    out, group = [], None
    for a in ACTIONS:
        if a.group != group:
            if group is not None:
                out.append("</table>")
            group = a.group
            out.append(f"<h3 style='margin:6px 0 2px 0'>{html.escape(group)}</h3><table cellspacing=2>")
        shown = " / ".join(keys.get(a.id, ())) or "(unbound)"
        out.append(f"<tr><td style='padding-right:14px'><b><tt>{html.escape(shown)}</tt></b></td>"
                   f"<td>{html.escape(a.text)}</td></tr>")
    out.append("</table>")
    return "".join(out)


def install_actions(widget, targets: dict[str, object], keys: dict[str, tuple[str, ...]]) -> dict:
    """Make one QAction per registry entry on `widget` (window-wide shortcuts) and connect
    it to its handler. Returns id -> QAction (menus reuse them, so menus show the keys)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction, QKeySequence

    qactions = {}
    for a in ACTIONS:
        qa = QAction(a.text, widget)
        qa.setObjectName(a.id)
        qa.setShortcuts([QKeySequence(k) for k in keys.get(a.id, ())])
        qa.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        qa.triggered.connect(_handler(targets, a))
        widget.addAction(qa)
        qactions[a.id] = qa
    return qactions


def _handler(targets: dict[str, object], a: Action) -> Callable[[], None]:
    def run(_checked=False):
        getattr(targets[a.target], a.method)(*a.args)
    return run
