"""`blocked(*objects)`: silence the signals of several widgets while code sets their values,
so that programmatic changes do not look like user input (and do not loop back)."""
from __future__ import annotations


class blocked:
    def __init__(self, *objects):
        self._objects = objects
        self._old: list[bool] = []

    def __enter__(self):
        self._old = [o.blockSignals(True) for o in self._objects]
        return self

    def __exit__(self, *exc):
        for o, old in zip(self._objects, self._old):
            o.blockSignals(old)
