"""Undo/redo through QUndoStack, and the writer that never drops an edit.

`EditCommand` wraps one core.edits.Edit: redo writes the edit, undo writes its inverse.
A run of arrow-key nudges on one box has equal `merge_key`s and folds into one step
(mergeWith); a multi-box action is a single Edit, hence one command.

`EditWriter` is the only path from the UI to Store.apply_edit. Edits are written in order,
each in its own transaction, the moment they are made (no Save button). When a write fails
(read-only file, full disk: the store raises), the edit and every later one stay queued in
memory, `pending_changed` tells the window (which shows a clear message), and the queue is
retried on a timer until it drains. On close, whatever is still queued is written to a
recovery file in BoxFix's data folder, so nothing is silently dropped.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand

from desktop.core.edits import Edit
from desktop.core.paths import data_dir

MERGE_ID = 0x426f78  # any constant: QUndoStack only merges commands with equal non-negative ids


def describe_error(exc: BaseException) -> str:
    """One sentence from whatever the store raised (ProjectError, SQLAlchemy's wrapped
    sqlite3 error, OSError) without a traceback."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the sqlite3 error as .orig
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class EditWriter(QObject):
    written = Signal(object)  # Edit, after it committed
    pending_changed = Signal(int, str)  # edits waiting, the last error ("" when drained)

    def __init__(self, store, retry_ms: int = 2000, parent=None):
        super().__init__(parent)
        self.store = store
        self._queue: list[Edit] = []
        self.last_error = ""
        self._timer = QTimer(self)
        self._timer.setInterval(retry_ms)
        self._timer.timeout.connect(self.retry)
        # issue id -> (image id, key): issue rows are re-created (new ids) when an image is
        # re-scored, so an undo/redo that names an old id is pointed at the same issue by key.
        self._issue_keys: dict[int, tuple[int, str]] = {}

    @property
    def pending(self) -> int:
        return len(self._queue)

    def is_pending(self, edit: Edit) -> bool:
        return any(e is edit for e in self._queue)

    def write(self, edit: Edit) -> bool:
        """Queue `edit` and write the queue. True when `edit` is committed now."""
        self._remember_issue_keys(edit)
        self._queue.append(edit)
        self._flush()
        return not self.is_pending(edit)

    def cancel_last(self, edit: Edit) -> bool:
        """Drop `edit` if it is the newest unwritten edit (undo of an edit never written)."""
        if self._queue and self._queue[-1] is edit:
            self._queue.pop()
            self._report()
            return True
        return False

    def retry(self) -> None:
        self._flush()

    def _flush(self) -> None:
        while self._queue:
            edit = self._queue[0]
            try:
                self.store.apply_edit(self._current_issue_ids(edit))
            except Exception as exc:  # the store's error types are not the UI's to import
                self.last_error = describe_error(exc)
                self._timer.start()
                self._report()
                return
            self._queue.pop(0)
            self.written.emit(edit)
        self._timer.stop()
        if self.last_error:
            self.last_error = ""
        self._report()

    def _report(self) -> None:
        self.pending_changed.emit(len(self._queue), self.last_error if self._queue else "")

    # ---------------------------------------------------------------- issue ids by key
    def _remember_issue_keys(self, edit: Edit) -> None:
        for issue_id, _b, _a in edit.issues:
            if issue_id not in self._issue_keys:
                issue = self.store.issue(issue_id)
                if issue is not None:
                    self._issue_keys[issue_id] = (issue.image_id, issue.key)

    def _current_issue_ids(self, edit: Edit) -> Edit:
        if not edit.issues:
            return edit
        fixed = []
        for issue_id, before, after in edit.issues:
            cur = self.store.issue(issue_id)
            if (cur is None or cur.status.value != before) and issue_id in self._issue_keys:
                image_id, key = self._issue_keys[issue_id]
                for cand in self.store.issues(status=before, image_id=image_id):
                    if cand.key == key:
                        self._issue_keys[cand.id] = (image_id, key)
                        issue_id = cand.id
                        break
            fixed.append((issue_id, before, after))
        return dataclasses.replace(edit, issues=tuple(fixed))

    # ---------------------------------------------------------------- close
    def rescue(self) -> Path | None:
        """Last try, then write what is still unwritten to a recovery file. Returns its path."""
        self._flush()
        if not self._queue:
            return None
        path = data_dir() / f"unsaved-edits-{Path(self.store.path).stem}-{int(time.time())}.json"
        path.write_text(json.dumps({"project": str(self.store.path), "error": self.last_error,
                                    "edits": [dataclasses.asdict(e) for e in self._queue]}, indent=1))
        return path


class EditCommand(QUndoCommand):
    def __init__(self, writer: EditWriter, edit: Edit, text: str):
        super().__init__(text)
        self.writer = writer
        self.edit = edit

    def redo(self) -> None:
        self.writer.write(self.edit)

    def undo(self) -> None:
        if not self.writer.cancel_last(self.edit):
            self.writer.write(self.edit.inverse())

    def id(self) -> int:
        return MERGE_ID if self.edit.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or not self.edit.merge_key \
                or other.edit.merge_key != self.edit.merge_key:
            return False
        if self.writer.is_pending(self.edit) or self.writer.is_pending(other.edit):
            return False  # keep unwritten edits as they were queued
        self.edit = self.edit.merged_with(other.edit)
        return True
