"""Small overlays drawn over the map view: the scale bar and the cursor readout."""

from __future__ import annotations

import math

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from layers import palette


def nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``metres``."""
    if metres <= 0 or not math.isfinite(metres):
        return 0.0
    exp = math.floor(math.log10(metres))
    for m in (5.0, 2.0, 1.0):
        v = m * 10.0**exp
        if v <= metres:
            return v
    return 10.0**exp


def format_length(metres: float) -> str:
    """``500 m`` or ``2 km``."""
    if metres >= 1000:
        km = metres / 1000
        return f"{km:g} km"
    return f"{metres:g} m"


class ScaleBar(QtWidgets.QWidget):
    """A map scale bar: a round length and a bar that long on screen."""

    TARGET_PX = 140

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.metres_per_pixel = 0.0
        self.length_m = 0.0
        self.resize(self.TARGET_PX + 40, 34)

    def set_metres_per_pixel(self, mpp: float) -> None:
        """Follow the zoom."""
        if mpp <= 0 or not math.isfinite(mpp):
            return
        self.metres_per_pixel = mpp
        self.length_m = nice_length(mpp * self.TARGET_PX)
        self.update()

    @property
    def bar_px(self) -> float:
        """The bar's length on screen."""
        return self.length_m / self.metres_per_pixel if self.metres_per_pixel else 0.0

    def text(self) -> str:
        """What the bar says."""
        return format_length(self.length_m)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        """Bar with end ticks and its length above, on a dark plate."""
        if not self.length_m:
            return
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor(17, 21, 28, 170))
        ink = QtGui.QColor(palette.INK)
        p.setPen(QtGui.QPen(ink, 2))
        x0, y = 8.0, self.height() - 8.0
        x1 = x0 + self.bar_px
        p.drawLine(QtCore.QPointF(x0, y), QtCore.QPointF(x1, y))
        p.drawLine(QtCore.QPointF(x0, y - 6), QtCore.QPointF(x0, y))
        p.drawLine(QtCore.QPointF(x1, y - 6), QtCore.QPointF(x1, y))
        p.drawText(QtCore.QPointF(x0, y - 9), self.text())
        p.end()


def format_lon_lat(lon: float, lat: float) -> str:
    """``42.37312° N  71.10345° W``."""
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.5f}° {ns}  {abs(lon):.5f}° {ew}"


class CursorReadout(QtWidgets.QLabel):
    """The cursor's lon/lat, on a dark plate."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet(
            f"color: {palette.INK}; background: rgba(17,21,28,170); padding: 3px 6px;"
        )
        self.setText(" ")

    def show_lon_lat(self, lon: float, lat: float) -> None:
        """Show a position."""
        self.setText(format_lon_lat(lon, lat))
        self.adjustSize()
