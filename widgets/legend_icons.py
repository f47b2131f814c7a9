"""Legend icons drawn with the same symbols the map uses."""

from __future__ import annotations

from pyqtgraph.graphicsItems.ScatterPlotItem import Symbols, drawSymbol
from pyqtgraph.Qt import QtCore, QtGui

from layers import palette
from layers.base import LegendEntry

_ARROW = QtGui.QPainterPath()
_ARROW.moveTo(0.0, -0.5)
_ARROW.lineTo(0.38, 0.42)
_ARROW.lineTo(0.0, 0.2)
_ARROW.lineTo(-0.38, 0.42)
_ARROW.closeSubpath()


def legend_icon(entry: LegendEntry, size: int = 18) -> QtGui.QIcon:
    """A small icon: the entry's symbol in its colour (hollow when the status is)."""
    pm = QtGui.QPixmap(size, size)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    p.translate(size / 2, size / 2)
    colour = QtGui.QColor(entry.colour)
    if entry.symbol == "_":
        pen = QtGui.QPen(colour, 3)
        p.setPen(pen)
        p.drawLine(QtCore.QPointF(-size / 2 + 2, 0), QtCore.QPointF(size / 2 - 2, 0))
    else:
        symbol = _ARROW if entry.symbol == "crew_arrow" else entry.symbol
        if isinstance(symbol, str) and symbol not in Symbols:
            symbol = "o"
        if entry.filled:
            pen = QtGui.QPen(QtGui.QColor(palette.BACKGROUND), 1)
            brush = QtGui.QBrush(colour)
        else:
            pen = QtGui.QPen(colour, 2)
            brush = QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush)
        pen.setCosmetic(True)
        drawSymbol(p, symbol, size - 4, pen, brush)
    p.end()
    return QtGui.QIcon(pm)
