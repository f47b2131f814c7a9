"""The map's ViewBox: metres, locked aspect, pan/zoom, click, rectangle and lasso."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from layers import palette

Point = tuple[float, float]


class MapViewBox(pg.ViewBox):
    """A ViewBox for maps: y up, aspect locked, no context menu.

    Drag pans; Shift+drag draws a rectangle and Ctrl+drag a lasso (or set
    :attr:`selection_mode`). A left click emits ``sig_clicked``; a finished
    rectangle or lasso emits ``sig_area`` with its polygon in metres.
    """

    sig_clicked = QtCore.Signal(float, float, object)  # x, y (metres), keyboard modifiers
    sig_area = QtCore.Signal(object, object)  # list of (x, y) metres, modifiers

    def __init__(self) -> None:
        super().__init__(lockAspect=True, enableMenu=False, invertY=False, defaultPadding=0.02)
        #: "pan", "rect" or "lasso": what a plain left drag does.
        self.selection_mode = "pan"
        self._band = QtWidgets.QGraphicsPathItem()
        pen = QtGui.QPen(QtGui.QColor(palette.SELECTION), 1.5, QtCore.Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._band.setPen(pen)
        self._band.setBrush(QtGui.QBrush(QtGui.QColor(255, 255, 255, 30)))
        self._band.setZValue(1000)
        self._band.hide()
        self.addItem(self._band, ignoreBounds=True)
        self._lasso: list[Point] = []

    def _drag_kind(self, ev: Any) -> str:
        mods = ev.modifiers()
        if mods & QtCore.Qt.KeyboardModifier.ShiftModifier:
            return "rect"
        if mods & (
            QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.AltModifier
        ):
            return "lasso"
        return self.selection_mode

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:
        """Pan, or draw a selection rectangle or lasso."""
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        kind = self._drag_kind(ev)
        if kind == "pan":
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        here = self.mapToView(ev.pos())
        if kind == "rect":
            start = self.mapToView(ev.buttonDownPos())
            x0, y0, x1, y1 = start.x(), start.y(), here.x(), here.y()
            poly = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        else:
            if ev.isStart() or not self._lasso:
                start = self.mapToView(ev.buttonDownPos())
                self._lasso = [(start.x(), start.y())]
            self._lasso.append((here.x(), here.y()))
            poly = list(self._lasso)
        path = QtGui.QPainterPath()
        path.addPolygon(QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y in poly]))
        path.closeSubpath()
        self._band.setPath(path)
        self._band.show()
        if ev.isFinish():
            self._band.hide()
            self._lasso = []
            self.sig_area.emit(poly, ev.modifiers())

    def mouseClickEvent(self, ev: Any) -> None:
        """A left click selects what is under it."""
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapToView(ev.pos())
            self.sig_clicked.emit(p.x(), p.y(), ev.modifiers())
        else:
            super().mouseClickEvent(ev)

    def keyPressEvent(self, ev: Any) -> None:
        """Keys are handled by the canvas (see MapCanvas.handle_key)."""
        ev.ignore()
