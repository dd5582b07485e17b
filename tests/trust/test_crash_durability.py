"""SIGKILL in the middle of a burst of edits: every edit committed before the kill is there,
the file passes PRAGMA integrity_check, and history matches the label table."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from desktop.core.model import Box, ClassInfo, DatasetRead, ImageRecord, LabelRecord
from desktop.core.store import Store

WRITER = textwrap.dedent(
    """
    import sys
    from desktop.core import edits
    from desktop.core.model import Box
    from desktop.core.store import Store

    store = Store.open(sys.argv[1])
    row = store.label_rows([1])[0]
    for i in range(1000):
        new = edits.set_geometry(row, Box(row["x0"] + 1, row["y0"], row["x1"] + 1, row["y1"]))
        store.apply_edit(new)
        row = new.labels[0][1]
        # Report after the commit returned: everything reported must survive the kill.
        print(i, flush=True)
    """
)


def _project(tmp_path):
    store = Store.create(tmp_path / "p.boxfix", tmp_path)
    rec = ImageRecord("a.jpg", 2000, 100, labels=(LabelRecord(Box(0, 0, 10, 10), 0),))
    store.import_dataset(DatasetRead(str(tmp_path), "yolo", [ClassInfo(0, "a")], iter([rec])))
    store.close()
    return tmp_path / "p.boxfix"


def test_sigkill_mid_burst_loses_nothing_committed(tmp_path):
    path = _project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    acknowledged = -1
    deadline = time.monotonic() + 120
    while acknowledged < 150 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acknowledged >= 150, "the writer did not get going"

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    store = Store.open(path)  # the lock died with the process: no stale lock
    try:
        x0 = store.labels(1)[0].box.x0
        history = [h for h in store.history() if h["kind"] == "set-geometry"]
        # Every acknowledged edit is there (and possibly one more that committed before the kill).
        assert len(history) >= acknowledged + 1
        # History is consistent with the table: replaying it gives the stored geometry.
        assert x0 == len(history)
        assert history[-1]["after"]["labels"][0]["x0"] == x0
    finally:
        store.close()
