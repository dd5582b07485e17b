"""How boxes look. One `BoxOverlay` item paints every box of the image in one pass.

Why one item and not one QGraphicsItem per box: an image with 375 boxes would otherwise
build ~750 Python items per image switch; a single item with numpy hit-testing in the view
keeps "next image" within the latency goal. Outlines, tags, handles and badges are drawn
in device (screen) pixels, so they stay crisp and readable at every zoom.

Legend:
- label: solid outline in its class colour, tag "class" (with a check mark when matched);
- prediction: dashed, tag "class 0.87"; a matched prediction is drawn faint and dotted
  (it agrees with a label), an unmatched one at full strength (a possible missing box);
- focused issue: its boxes get a thick amber halo and a badge naming the kind and score;
- selected: a white outline with eight resize handles.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from desktop.core.model import Box

HALO = QColor("#ffb000")
HANDLE_PX = 7
UNKNOWN_CLASS = QColor("#dddddd")


def handle_points(r: QRectF) -> dict[str, QPointF]:
    """Resize handles (device rect): edge names the handle moves, e.g. 'left+top'."""
    cx, cy = r.center().x(), r.center().y()
    return {"left+top": r.topLeft(), "top": QPointF(cx, r.top()), "right+top": r.topRight(),
            "right": QPointF(r.right(), cy), "right+bottom": r.bottomRight(), "bottom": QPointF(cx, r.bottom()),
            "left+bottom": r.bottomLeft(), "left": QPointF(r.left(), cy)}


class BoxOverlay(QGraphicsItem):
    def __init__(self):
        super().__init__()
        self.content = None
        self.show_labels = True
        self.show_preds = True
        self.selection = None  # session.Selection
        self.issue = None  # focused Issue
        self.override: dict[int, Box] = {}  # label id -> box being dragged (preview, not yet written)
        self._rect = QRectF()
        self._font = QFont()
        self._font.setPixelSize(11)
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._fm = QFontMetrics(self._font)
        self.setZValue(10)

    def set_state(self, content, show_labels, show_preds, selection, issue) -> None:
        self.prepareGeometryChange()
        self.content, self.show_labels, self.show_preds = content, show_labels, show_preds
        self.selection, self.issue = selection, issue
        self.override = {}
        img = content.image if content else None
        # Generous bounds: boxes may poke outside the image, tags sit above boxes.
        self._rect = QRectF(-0.5 * img.width, -0.5 * img.height, 2 * img.width, 2 * img.height) if img else QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def _color(self, cls) -> QColor:
        if cls is None or self.content is None:
            return UNKNOWN_CLASS
        return QColor(self.content.class_colors.get(cls, "#dddddd"))

    def paint(self, p: QPainter, _opt, _widget=None) -> None:
        c = self.content
        if c is None:
            return
        t = p.worldTransform()
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        issue = self.issue if self.issue is not None and self.issue.image_id == c.image.id else None
        focus_labels = {i for i in (issue.label_id, issue.label2_id) if i is not None} if issue else set()
        focus_pred = issue.pred_id if issue else None
        matched_preds = set(c.matches.values())
        sel = self.selection
        halos = []
        if self.show_preds:
            for pr in c.preds:
                r = t.mapRect(_qrect(pr.box))
                matched = pr.id in matched_preds
                col = self._color(pr.cls)
                if matched:
                    col.setAlpha(150)
                pen = QPen(col, 1 if matched else 2, Qt.PenStyle.DotLine if matched else Qt.PenStyle.DashLine)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(r)
                if self._tag_fits(r) or pr.id == focus_pred:
                    name = c.class_names.get(pr.cls, "?") if pr.cls is not None else "?"
                    self._tag(p, r, f"{name} {pr.conf:.2f}", col, below=True, faint=matched)
                if pr.id == focus_pred:
                    halos.append(r)
                if sel is not None and sel.kind == "pred" and sel.id == pr.id:
                    self._selected(p, r, handles=False)
        if self.show_labels:
            for lab in c.labels:
                box = self.override.get(lab.id, lab.box)
                r = t.mapRect(_qrect(box))
                col = self._color(lab.cls)
                p.setPen(QPen(col, 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(r)
                if self._tag_fits(r) or lab.id in focus_labels:
                    name = c.class_names.get(lab.cls, f"class {lab.cls}")
                    self._tag(p, r, ("\u2713 " if lab.id in c.matches else "") + name, col)
                if lab.id in focus_labels:
                    halos.append(r)
                if sel is not None and sel.kind == "label" and sel.id == lab.id:
                    self._selected(p, r, handles=True)
        for r in halos:
            p.setPen(QPen(HALO, 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r.adjusted(-4, -4, 4, 4))
        if issue is not None and halos:
            self._badge(p, halos[0], f"{issue.kind.value.upper()}  {issue.score:.2f}")
        p.restore()

    @staticmethod
    def _tag_fits(r: QRectF) -> bool:
        # Tags on boxes smaller than a tag on screen hide the image (375 nuclei at fit zoom)
        # and cost most of the frame; zooming in brings them back, the inspector names any box.
        return r.width() >= 40 and r.height() >= 16

    def _tag(self, p: QPainter, r: QRectF, text: str, col: QColor, below: bool = False, faint: bool = False) -> None:
        w = self._fm.horizontalAdvance(text) + 6
        h = self._fm.height()
        y = r.bottom() + 1 if below else r.top() - h - 1
        bg = QColor(col)
        bg.setAlpha(90 if faint else 200)
        p.fillRect(QRectF(r.left(), y, w, h), bg)
        p.setFont(self._font)
        p.setPen(QColor("black") if bg.lightness() > 130 else QColor("white"))
        p.drawText(QRectF(r.left() + 3, y, w, h), Qt.AlignmentFlag.AlignVCenter, text)

    def _selected(self, p: QPainter, r: QRectF, handles: bool) -> None:
        p.setPen(QPen(QColor("white"), 1, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(r.adjusted(-2, -2, 2, 2))
        if handles:
            p.setPen(QPen(QColor("black"), 1))
            p.setBrush(QBrush(QColor("white")))
            s = HANDLE_PX
            for pt in handle_points(r).values():
                p.drawRect(QRectF(pt.x() - s / 2, pt.y() - s / 2, s, s))

    def _badge(self, p: QPainter, r: QRectF, text: str) -> None:
        fm = QFontMetrics(self._bold)
        w, h = fm.horizontalAdvance(text) + 10, fm.height() + 4
        x, y = r.right() + 6, r.top() - 4
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(HALO)
        p.drawRoundedRect(QRectF(x, y, w, h), 4, 4)
        p.setFont(self._bold)
        p.setPen(QColor("black"))
        p.drawText(QRectF(x, y, w, h), Qt.AlignmentFlag.AlignCenter, text)


def _qrect(b: Box) -> QRectF:
    return QRectF(QPointF(b.x0, b.y0), QPointF(b.x1, b.y1))
