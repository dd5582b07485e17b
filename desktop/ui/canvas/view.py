"""The canvas: a QGraphicsView showing the image and the BoxOverlay.

Zoom with the wheel around the cursor; pan with the middle button or Space+drag; F fits,
Ctrl+1 is 100 % (the digit 1 is a class key). Mouse editing: drag a label to move it, drag
a handle to resize it, drag in draw mode (W) to draw a box. Edits are previewed on the
overlay while dragging and handed to the Session once, on release (one undo step).

Space is shared: a tap marks the image reviewed, Space held while dragging pans. The
mark_reviewed action only arms `hold_space`; the key's release (seen by an application
event filter, whichever widget has focus) marks reviewed unless a pan happened meanwhile.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from desktop.core.model import Box
from desktop.ui.canvas.items import HANDLE_PX, BoxOverlay, handle_points
from desktop.ui.canvas.loader import ImageLoader

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0


class CanvasView(QGraphicsView):
    zoom_changed = Signal(float)
    frame_painted = Signal(int, bool)  # image id on screen, whether its pixels are shown (benchmarks)
    load_failed = Signal(str)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setObjectName("canvas")
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor("#202124"))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # Tags and handles are drawn in screen pixels outside item bounds; repaint the whole
        # viewport so nothing smears (cheap: one overlay item).
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setMouseTracking(True)
        # Scroll bars stay hidden (they still scroll): panning is middle button or Space+drag.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pixmap_item = QGraphicsPixmapItem()
        self.pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.pixmap_item)
        self.overlay = BoxOverlay()
        self.scene().addItem(self.overlay)
        self.loader = ImageLoader(parent=self)
        self.loader.loaded.connect(self._pixmap_arrived)
        self.loader.failed.connect(self._pixmap_failed)
        self.image_id: int | None = None
        self._has_pixels = False
        self._drag = None  # ("pan"|"move"|"resize"|"draw", ...)
        self._space_key = None
        self._panned = False
        self._cursor_scene: QPointF | None = None
        QApplication.instance().installEventFilter(self)
        s = session
        s.image_changed.connect(self.show_image)
        s.content_changed.connect(self.refresh)
        s.center_on.connect(self.center_box)
        s.draw_mode_changed.connect(self._draw_mode)

    # ---------------------------------------------------------------- image and boxes
    def show_image(self, image_id: int) -> None:
        img = self.session.image
        if img is None:
            return
        self.image_id = image_id
        path = str(self.session.image_file(img))
        pm = self.loader.request(image_id, path)
        same_size = self.sceneRect() == QRectF(0, 0, img.width, img.height)
        self.scene().setSceneRect(QRectF(0, 0, img.width, img.height))
        self._set_pixmap(pm if pm is not None else QPixmap())
        self._has_pixels = pm is not None
        if not same_size or not self._fitted_once:
            self.fit()
        self._prefetch()
        self.viewport().update()

    _fitted_once = False

    def _set_pixmap(self, pm: QPixmap) -> None:
        """Show `pm` over the whole image: a huge image arrives downsampled (loader.py), and is
        scaled back so that scene coordinates stay image pixels, where the boxes live."""
        self.pixmap_item.setPixmap(pm)
        img = self.session.image
        scale = img.width / pm.width() if img is not None and not pm.isNull() and pm.width() else 1.0
        self.pixmap_item.setScale(scale)

    def _prefetch(self) -> None:
        s = self.session
        for nid in s.neighbour_ids():
            info = s.images[s._pos[nid]]
            self.loader.request(nid, str(s.image_file(info)), prefetch=True)

    def _pixmap_arrived(self, image_id: int, pm: QPixmap) -> None:
        if image_id == self.image_id:
            self._set_pixmap(pm)
            self._has_pixels = True
            self.viewport().update()

    def _pixmap_failed(self, image_id: int, error: str) -> None:
        if image_id == self.image_id:
            self.load_failed.emit(error)

    def refresh(self) -> None:
        s = self.session
        self.overlay.set_state(s.content, s.show_labels, s.show_preds, s.selection, s.issue)
        self.viewport().update()

    def center_box(self, box: Box) -> None:
        r = QRectF(QPointF(box.x0, box.y0), QPointF(box.x1, box.y1))
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if r.width() > visible.width() * 0.9 or r.height() > visible.height() * 0.9:
            self.fitInView(r.adjusted(-r.width() * 0.2, -r.height() * 0.2, r.width() * 0.2, r.height() * 0.2),
                           Qt.AspectRatioMode.KeepAspectRatio)
            self._zoomed()
        self.centerOn(r.center())

    # ---------------------------------------------------------------- zoom and pan
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        r = self.sceneRect()
        if r.isEmpty():
            return
        self.fitInView(r, Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted_once = True
        self._zoomed()

    def zoom_100(self) -> None:
        center = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(center)
        self._zoomed()

    def set_zoom(self, z: float) -> None:
        z = min(MAX_ZOOM, max(MIN_ZOOM, z))
        self.scale(z / self.zoom(), z / self.zoom())
        self._zoomed()

    def _zoomed(self) -> None:
        self.session.zoom = self.zoom()
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, ev) -> None:
        steps = ev.angleDelta().y() / 120.0
        if steps:
            factor = 1.25 ** steps
            z = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
            self.scale(z / self.zoom(), z / self.zoom())  # AnchorUnderMouse keeps the cursor's point still
            self._zoomed()
        ev.accept()

    def hold_space(self) -> None:
        """The mark_reviewed key went down: remember it; its release decides (see module doc)."""
        if self._space_key is None:
            self._space_key = True
            self._panned = False

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.KeyRelease and self._space_key and not ev.isAutoRepeat():
            self._space_key = None
            if not self._panned:
                self.session.mark_reviewed_next()
            self._panned = False
        return False

    # ---------------------------------------------------------------- mouse
    def _scene_pos(self, ev) -> QPointF:
        return self.mapToScene(ev.position().toPoint())

    def mousePressEvent(self, ev) -> None:
        btn = ev.button()
        if btn == Qt.MouseButton.MiddleButton or (btn == Qt.MouseButton.LeftButton and self._space_key):
            self._drag = ("pan", ev.position())
            self._panned = True
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if btn != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(ev)
        self.setFocus()
        pos = self._scene_pos(ev)
        s = self.session
        if s.draw_mode:
            self._drag = ("draw", pos, pos)
            return
        lab = s.selected_label()
        if lab is not None and s.show_labels:
            edges = self._handle_at(lab.box, ev.position())
            if edges:
                self._drag = ("resize", lab.id, edges, lab.box)
                return
        hit = self._hit(pos)
        s.select(hit)
        if hit is not None and hit.kind == "label":
            self._drag = ("move", hit.id, pos, self._label_box(hit.id))

    def mouseMoveEvent(self, ev) -> None:
        pos = self._scene_pos(ev)
        self._cursor_scene = pos
        self.session.cursor = (pos.x(), pos.y())
        d = self._drag
        if d is None:
            if self.session.draw_mode:
                self.viewport().update()
            return super().mouseMoveEvent(ev)
        if d[0] == "pan":
            delta = ev.position() - d[1]
            self._drag = ("pan", ev.position())
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
        elif d[0] == "draw":
            self._drag = ("draw", d[1], pos)
        elif d[0] == "move":
            _, lid, start, box = d
            dx, dy = round(pos.x() - start.x()), round(pos.y() - start.y())
            self.overlay.override = {lid: Box(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy)}
        elif d[0] == "resize":
            _, lid, edges, box = d
            x0, y0, x1, y1 = box.as_tuple()
            px, py = round(pos.x()), round(pos.y())
            if "left" in edges:
                x0 = min(px, x1 - 1)
            if "right" in edges:
                x1 = max(px, x0 + 1)
            if "top" in edges:
                y0 = min(py, y1 - 1)
            if "bottom" in edges:
                y1 = max(py, y0 + 1)
            self.overlay.override = {lid: Box(x0, y0, x1, y1)}
        self.viewport().update()

    def mouseReleaseEvent(self, ev) -> None:
        d, self._drag = self._drag, None
        self.viewport().unsetCursor()
        if d is None:
            return super().mouseReleaseEvent(ev)
        if d[0] == "draw":
            a, b = d[1], d[2]
            self.session.add_drawn_box(Box(round(min(a.x(), b.x())), round(min(a.y(), b.y())),
                                           round(max(a.x(), b.x())), round(max(a.y(), b.y()))))
        elif d[0] in ("move", "resize"):
            new = self.overlay.override.get(d[1])
            self.overlay.override = {}
            if new is not None:
                self.session.set_label_box(d[1], new)
        self.viewport().update()

    def _label_box(self, label_id: int) -> Box:
        return next(lab.box for lab in self.session.content.labels if lab.id == label_id)

    def _hit(self, pos: QPointF):
        """The smallest box under the point: labels first, then predictions."""
        from desktop.ui.session import Selection

        c = self.session.content
        if c is None:
            return None
        for kind, items, shown in (("label", c.labels, self.session.show_labels),
                                   ("pred", c.preds, self.session.show_preds)):
            if not shown or not items:
                continue
            b = np.array([it.box.as_tuple() for it in items])
            inside = (b[:, 0] <= pos.x()) & (pos.x() <= b[:, 2]) & (b[:, 1] <= pos.y()) & (pos.y() <= b[:, 3])
            if inside.any():
                area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
                i = int(np.argmin(np.where(inside, area, np.inf)))
                return Selection(kind, items[i].id)
        return None

    def _handle_at(self, box: Box, vpos: QPointF) -> str | None:
        r = self.mapFromScene(QRectF(QPointF(box.x0, box.y0), QPointF(box.x1, box.y1))).boundingRect()
        for edges, pt in handle_points(QRectF(r)).items():
            if abs(pt.x() - vpos.x()) <= HANDLE_PX and abs(pt.y() - vpos.y()) <= HANDLE_PX:
                return edges
        return None

    def _draw_mode(self, on: bool) -> None:
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.viewport().update()

    # ---------------------------------------------------------------- painting
    def drawForeground(self, p: QPainter, rect: QRectF) -> None:
        d = self._drag
        if d is not None and d[0] == "draw":
            p.setPen(QPen(QColor("#00e5ff"), 0, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(d[1], d[2]).normalized())
        if self.session.draw_mode and self._cursor_scene is not None:
            c, r = self._cursor_scene, self.sceneRect()
            p.setPen(QPen(QColor(0, 229, 255, 180), 0))  # cosmetic: 1 screen px at any zoom
            p.drawLine(QPointF(r.left(), c.y()), QPointF(r.right(), c.y()))
            p.drawLine(QPointF(c.x(), r.top()), QPointF(c.x(), r.bottom()))

    def paintEvent(self, ev) -> None:
        super().paintEvent(ev)
        if self.image_id is not None:
            self.frame_painted.emit(self.image_id, self._has_pixels)
