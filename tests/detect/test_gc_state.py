"""ultralytics re-enables automatic GC when it loads a dataset cache; BoxFix's window keeps it
off (collections run on the GUI thread, desktop/ui/gc_guard.py), so the state must survive."""
from __future__ import annotations

import gc

from desktop.detect.offline import import_ultralytics


def test_dataset_cache_load_keeps_gc_disabled(tmp_path):
    import_ultralytics()
    from ultralytics.data import dataset

    gc.disable()
    try:
        try:
            dataset.load_dataset_cache_file(tmp_path / "missing.cache")
        except Exception:  # no such cache: ultralytics raises, and re-enables GC in its finally
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
