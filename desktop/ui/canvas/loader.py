"""Background image decoding with prefetch and an LRU cache of ready pixmaps.

Decoding runs in a QThreadPool (QImageReader with setAutoTransform(True), so the image is
in its EXIF-rotated frame, the frame boxes live in). QImage is safe to hand between
threads; the QPixmap is made on the GUI thread when the result arrives (QPixmap is
GUI-thread only) and cached, so showing a cached image again costs nothing, and a huge
image is decoded once, never twice.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QRunnable, QSize, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

# Qt refuses to decode images above 256 MB by default; a 10,000 x 10,000 RGBA image is
# 400 MB. Raise the limit so large aerial/medical images open.
QImageReader.setAllocationLimit(4096)

# Larger images are decoded downsampled to this longest side (JPEG decodes straight to the
# smaller size): a 20,000 x 20,000 image would otherwise need 1.6 GB as a pixmap. The view
# scales the pixmap back up to the image's full size, so boxes stay in image pixels.
MAX_DISPLAY_SIDE = 8192


class _Relay(QObject):
    done = Signal(int, QImage, str)  # image id, image (null on failure), error


class _DecodeJob(QRunnable):
    def __init__(self, image_id: int, path: str, relay: _Relay):
        super().__init__()
        self.image_id, self.path, self.relay = image_id, path, relay

    def run(self) -> None:
        reader = QImageReader(self.path)
        reader.setAutoTransform(True)
        size = reader.size()  # before the EXIF transform; scaling is uniform, so it does not matter
        longest = max(size.width(), size.height())
        if longest > MAX_DISPLAY_SIDE:
            f = MAX_DISPLAY_SIDE / longest
            reader.setScaledSize(QSize(max(1, round(size.width() * f)), max(1, round(size.height() * f))))
        image = reader.read()
        error = "" if not image.isNull() else f"{self.path}: {reader.errorString()}"
        self.relay.done.emit(self.image_id, image, error)


class ImageLoader(QObject):
    loaded = Signal(int, QPixmap)  # image id, pixmap (ready, cached)
    failed = Signal(int, str)  # image id, a sentence naming the file

    def __init__(self, max_bytes: int = 1536 * 2**20, max_items: int = 24, threads: int = 2, parent=None):
        super().__init__(parent)
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._bytes = 0
        self.max_bytes, self.max_items = max_bytes, max_items
        self._in_flight: set[int] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._relay = _Relay()
        self._relay.done.connect(self._arrived)

    def cached(self, image_id: int) -> QPixmap | None:
        pm = self._cache.get(image_id)
        if pm is not None:
            self._cache.move_to_end(image_id)
        return pm

    def request(self, image_id: int, path: str, prefetch: bool = False) -> QPixmap | None:
        """The pixmap now if cached; else decoding starts (once) and `loaded` follows."""
        pm = self.cached(image_id)
        if pm is not None or image_id in self._in_flight:
            return pm
        self._in_flight.add(image_id)
        self._pool.start(_DecodeJob(image_id, path, self._relay), 0 if prefetch else 10)
        return None

    def _arrived(self, image_id: int, image: QImage, error: str) -> None:
        self._in_flight.discard(image_id)
        if image.isNull():
            self.failed.emit(image_id, error)
            return
        pm = QPixmap.fromImage(image)
        self._cache[image_id] = pm
        self._bytes += _size(pm)
        while self._cache and (self._bytes > self.max_bytes or len(self._cache) > self.max_items) \
                and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._bytes -= _size(old)
        self.loaded.emit(image_id, pm)

    def clear(self) -> None:
        self._cache.clear()
        self._bytes = 0

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)


def _size(pm: QPixmap) -> int:
    return pm.width() * pm.height() * max(1, pm.depth() // 8)
