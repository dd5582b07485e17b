"""Small status icons painted with QPainter (no image files to ship or lose).

The image list shows one per row, so they are cached: at most a few dozen distinct pixmaps
exist however many images there are. Painting needs a QGuiApplication, so nothing is drawn
at import time.
"""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

# The row states the image list distinguishes. "issues" wins over the review status: an image
# with open issues needs attention whether or not someone marked it reviewed.
UNREVIEWED = "unreviewed"
REVIEWED = "reviewed"
SKIPPED = "skipped"
ISSUES = "issues"
ERROR = "error"
STATES = (UNREVIEWED, REVIEWED, SKIPPED, ISSUES, ERROR)

COLORS = {
    UNREVIEWED: "#9e9e9e",
    REVIEWED: "#2e9d4f",
    SKIPPED: "#c9a227",
    ISSUES: "#d9432f",
    ERROR: "#7b1fa2",
}

SIZE = 16


def _paint_symbol(p: QPainter, state: str, r: QRectF) -> None:
    color = QColor(COLORS[state])
    p.setRenderHint(QPainter.Antialiasing)
    if state == UNREVIEWED:
        # Hollow ring: "nothing done yet".
        p.setPen(QPen(color, 1.6))
        p.setBrush(Qt.NoBrush)
        p.drawEllipse(r.adjusted(2, 2, -2, -2))
    elif state == REVIEWED:
        p.setPen(Qt.NoPen)
        p.setBrush(QBrush(color))
        p.drawEllipse(r.adjusted(1, 1, -1, -1))
        tick = QPainterPath(QPointF(r.left() + r.width() * 0.27, r.top() + r.height() * 0.52))
        tick.lineTo(r.left() + r.width() * 0.44, r.top() + r.height() * 0.70)
        tick.lineTo(r.left() + r.width() * 0.75, r.top() + r.height() * 0.33)
        p.setPen(QPen(QColor("white"), 1.8, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        p.setBrush(Qt.NoBrush)
        p.drawPath(tick)
    elif state == SKIPPED:
        p.setPen(QPen(color, 1.6))
        p.setBrush(Qt.NoBrush)
        p.drawEllipse(r.adjusted(2, 2, -2, -2))
        p.drawLine(QPointF(r.left() + 4, r.center().y()), QPointF(r.right() - 4, r.center().y()))
    elif state == ISSUES:
        # Filled triangle with an exclamation mark: the one state that asks for work.
        tri = QPainterPath(QPointF(r.center().x(), r.top() + 1))
        tri.lineTo(r.right() - 1, r.bottom() - 1.5)
        tri.lineTo(r.left() + 1, r.bottom() - 1.5)
        tri.closeSubpath()
        p.setPen(Qt.NoPen)
        p.setBrush(QBrush(color))
        p.drawPath(tri)
        p.setPen(QPen(QColor("white"), 1.8, Qt.SolidLine, Qt.RoundCap))
        cx = r.center().x()
        p.drawLine(QPointF(cx, r.top() + r.height() * 0.38), QPointF(cx, r.top() + r.height() * 0.62))
        p.drawPoint(QPointF(cx, r.top() + r.height() * 0.78))
    else:  # ERROR: a cross in a square, the image could not be read
        p.setPen(Qt.NoPen)
        p.setBrush(QBrush(color))
        p.drawRoundedRect(r.adjusted(1, 1, -1, -1), 3, 3)
        p.setPen(QPen(QColor("white"), 1.8, Qt.SolidLine, Qt.RoundCap))
        p.drawLine(QPointF(r.left() + 5, r.top() + 5), QPointF(r.right() - 5, r.bottom() - 5))
        p.drawLine(QPointF(r.right() - 5, r.top() + 5), QPointF(r.left() + 5, r.bottom() - 5))


@lru_cache(maxsize=None)
def status_pixmap(state: str, size: int = SIZE) -> QPixmap:
    """A square pixmap for one of STATES."""
    if state not in COLORS:
        raise ValueError(f"unknown status {state!r}; expected one of {STATES}")
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    _paint_symbol(p, state, QRectF(0, 0, size, size))
    p.end()
    return pm


def count_text(count: int) -> str:
    return "" if count <= 0 else ("99+" if count > 99 else str(count))


@lru_cache(maxsize=None)
def status_icon(state: str, count: int = 0, size: int = SIZE) -> QIcon:
    """The row icon of the image list: the status symbol, then the open-issue count (if any)
    in a fixed-width slot so that the paths line up. Counts above 99 share one '99+' icon,
    which bounds the cache."""
    count = min(max(int(count), 0), 100)
    width = size + 2 + int(size * 1.6)
    pm = QPixmap(width, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    _paint_symbol(p, state, QRectF(0, 0, size, size))
    text = count_text(count)
    if text:
        font = QFont()
        font.setPixelSize(int(size * 0.7))
        font.setBold(True)
        p.setFont(font)
        p.setPen(QColor(COLORS[ISSUES]))
        p.drawText(QRectF(size + 2, 0, width - size - 2, size), Qt.AlignLeft | Qt.AlignVCenter, text)
    p.end()
    return QIcon(pm)
