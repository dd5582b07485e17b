"""The review canvas: view (zoom, pan, mouse editing), box overlay, background image loader."""
from __future__ import annotations

import sys


def pin_none() -> None:
    """pyproject.toml pins PySide6-Essentials below 6.12 for this reason; this stays as a
    guard for installs that bring 6.12 anyway. Work around a PySide6 6.12 / shiboken bug on Python < 3.12: every Qt method that
    returns void hands back None WITHOUT a new reference, so each call (p.drawRect,
    p.setPen, label.setText...) permanently lowers None's reference count; after a few
    thousand calls CPython aborts with "none_dealloc: deallocating None". A canvas frame
    with 375 boxes makes thousands of such calls. Python 3.12+ has an immortal None; here
    we give None a reference count no session can exhaust (2**60). Idempotent."""
    if sys.version_info >= (3, 12):
        return
    from PySide6 import __version_info__ as qt_version

    if tuple(qt_version[:2]) != (6, 12):
        return
    import ctypes

    refcnt = ctypes.c_ssize_t.from_address(id(None))
    if refcnt.value < 2**59:
        refcnt.value += 2**60


pin_none()
