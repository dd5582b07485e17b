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


def test_ultralytics_explicit_collect_is_a_no_op_off_the_main_thread():
    import threading

    import_ultralytics()
    from ultralytics.engine import trainer
    from ultralytics.utils import torch_utils

    results = []

    def work():
        for _ in range(100):  # cyclic garbage: a real collection here would return > 0
            cycle = []
            cycle.append(cycle)
        del cycle
        results.extend([trainer.gc.collect(), torch_utils.gc.collect()])

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert results == [0, 0]  # the worker never collects: the GUI thread does
    assert isinstance(trainer.gc.collect(), int)  # on the main thread it is the real gc
    assert trainer.gc.isenabled() == __import__("gc").isenabled()
