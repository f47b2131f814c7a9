"""A scatter item for large point layers: style codes, culling, and a density level of detail.

pyqtgraph's ``ScatterPlotItem`` already blits symbols from an atlas, but it
finds each point's atlas entry with Python per point (``setData``,
``setPointsVisible`` and ``updateSpots`` all do), and every paint maps and
masks every point. :class:`FastScatter` keeps pyqtgraph's per-point data
array (so ``data["brush"][row]`` still says how a row draws) but fills it from
a small style table and one integer code per point, so a million points or
ten thousand restyles cost a few numpy passes.

Painting culls to the view first. When the points in view are too dense to
read as symbols (more than :attr:`FastScatter.lod_points_per_mpx` per million
screen pixels), the item draws a density image instead: a grid of small cells
coloured by the most severe class (e.g. asset status) among their points,
brighter where more points fall, rendered once per zoom into a pixmap that
pans blit, like the roads cache. This is what desktop GIS does at city zoom,
where a million symbols would be sub-pixel anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

#: (symbol, size, pen, brush): one look, one atlas entry.
Style = tuple[Any, float, QtGui.QPen, QtGui.QBrush]

#: The density image covers the view plus this share of it on every side.
DENSITY_MARGIN = 0.25
#: Side of a density cell in screen pixels.
DENSITY_CELL_PX = 2
#: Alpha of a cell holding 1, 2-4 and 5+ points: density reads as brightness.
DENSITY_ALPHA = (150, 205, 255)


def _same_scale(a: tuple[float, ...] | None, b: tuple[float, ...]) -> bool:
    if a is None:
        return False
    return all(abs(u - v) <= 1e-6 * max(abs(u), abs(v), 1e-12) for u, v in zip(a, b, strict=True))


class FastScatter(pg.ScatterPlotItem):
    """A ScatterPlotItem filled from style codes, culled to the view, with a density LOD."""

    #: pyqtgraph's per-point structured array (x, y, size, symbol, pen, brush, ...).
    data: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._codes: np.ndarray | None = None
        self._table: list[Style] = []
        #: Per-row class for the density image (None: this item never draws density).
        self.density_classes: np.ndarray | None = None
        #: Colour of each class, and its rank: the higher rank wins a shared cell.
        self.density_colours: list[QtGui.QColor] = []
        self.density_rank = np.zeros(0, dtype=np.uint8)
        #: Above this many points per million screen pixels in view, draw density.
        self.lod_points_per_mpx = 20_000.0
        self._version = 0
        self._density: QtGui.QPixmap | None = None
        self._density_key: tuple[float, ...] | None = None
        self._density_rect = QtCore.QRectF()
        self._density_origin = (0.0, 0.0)
        self._density_version = -1
        self._density_cells = np.zeros((0, 0), dtype=np.uint8)
        #: What the last paint drew: "symbols" or "density", and how many symbols.
        self.last_mode = ""
        self.last_drawn = 0
        self.density_renders = 0

    # -- input -------------------------------------------------------------------------------

    def mouseClickEvent(self, ev: Any) -> None:
        """Clicks go to the map's view, which picks across layers (and clusters)."""
        ev.ignore()

    def hoverEvent(self, ev: Any) -> None:
        """Hover is the canvas's job (one rate-limited pick for all layers)."""

    # -- data --------------------------------------------------------------------------------

    @staticmethod
    def _columns(table: Sequence[Style]) -> tuple[np.ndarray, ...]:
        sym = np.empty(len(table), dtype=object)
        pen = np.empty(len(table), dtype=object)
        brush = np.empty(len(table), dtype=object)
        size = np.zeros(len(table))
        for i, (s, z, p, b) in enumerate(table):
            sym[i], size[i], pen[i], brush[i] = s, z, p, b
        return sym, size, pen, brush

    def set_styled(
        self,
        x: np.ndarray,
        y: np.ndarray,
        codes: np.ndarray,
        table: Sequence[Style],
        visible: np.ndarray,
        ids: np.ndarray,
        classes: np.ndarray | None = None,
    ) -> None:
        """Replace every point: positions, a style code each into ``table``, visibility, ids."""
        n = len(x)
        codes = np.asarray(codes, dtype=np.int64)
        sym, size, pen, brush = self._columns(table)
        d: Any = np.empty(n, dtype=self.data.dtype)
        d["x"], d["y"] = x, y
        d["symbol"], d["size"] = sym[codes], size[codes]
        d["pen"], d["brush"] = pen[codes], brush[codes]
        d["visible"] = visible
        d["data"] = ids
        d["hovered"] = False
        d["item"] = None
        d["sourceRect"] = 0
        self.data = d
        self._codes = codes.copy()
        self._table = list(table)
        if classes is not None:
            self.density_classes = np.asarray(classes, dtype=np.int64).copy()
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.bounds = [None, None]
        self.updateSpots()
        self._version += 1
        self.sigPlotChanged.emit(self)

    def set_all(
        self,
        x: np.ndarray,
        y: np.ndarray,
        symbol: np.ndarray,
        size: np.ndarray,
        pen: np.ndarray,
        brush: np.ndarray,
        visible: np.ndarray,
        ids: np.ndarray,
    ) -> None:
        """Replace every point from per-point style arrays (pyqtgraph's own path; small layers)."""
        self._codes = None
        self.density_classes = None
        self.setData(x=x, y=y, symbol=symbol, size=size, pen=pen, brush=brush, data=ids)
        if len(x) and not np.all(visible):
            self.setPointsVisible(visible)
        self._version += 1

    def update_styled(
        self,
        rows: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        codes: np.ndarray,
        table: Sequence[Style],
        visible: np.ndarray,
        classes: np.ndarray | None = None,
    ) -> None:
        """Write new state into ``rows``; only those rows look up their atlas entries."""
        if self._codes is None or len(self._codes) != len(self.data):
            raise RuntimeError("update_styled needs a set_styled first")
        d = self.data
        codes = np.asarray(codes, dtype=np.int64)
        sym, size, pen, brush = self._columns(table)
        moved = (d["x"][rows] != x) | (d["y"][rows] != y)
        d["x"][rows], d["y"][rows] = x, y
        d["symbol"][rows], d["size"][rows] = sym[codes], size[codes]
        d["pen"][rows], d["brush"][rows] = pen[codes], brush[codes]
        d["visible"][rows] = visible
        d["sourceRect"][rows] = 0
        self._codes[rows] = codes
        self._table = list(table)
        if classes is not None and self.density_classes is not None:
            self.density_classes[rows] = classes
        if moved.any():
            self.prepareGeometryChange()
            self.informViewBoundsChanged()
            self.bounds = [None, None]
        self.updateSpots()
        self._version += 1

    def setPointsVisible(
        self, visible: Any, update: bool = True, dataSet: Any = None, mask: Any = None
    ) -> None:
        """Visibility never changes a symbol's atlas entry: no re-lookup."""
        if dataSet is not None or mask is not None or getattr(self, "_codes", None) is None:
            super().setPointsVisible(visible, update=update, dataSet=dataSet, mask=mask)
        else:
            self.data["visible"] = visible
            self.invalidate()
        self._version = getattr(self, "_version", 0) + 1

    def updateSpots(self, dataSet: Any = None) -> None:
        """Atlas entries of rows that lack one, by style code (a lookup per style, not per row)."""
        codes_now = getattr(self, "_codes", None)  # pyqtgraph calls this from its __init__
        coded = codes_now is not None and len(codes_now) == len(self.data)
        if not coded or (dataSet is not None and dataSet is not self.data):
            super().updateSpots(dataSet)
            return
        assert self._codes is not None
        d = self.data
        need = np.flatnonzero(d["sourceRect"]["w"] == 0)
        if len(need):
            codes = self._codes[need]
            used = np.flatnonzero(np.bincount(codes, minlength=len(self._table)))
            coords = np.zeros((len(self._table), 4), dtype=np.int64)
            if len(used):
                got = self.fragmentAtlas[[self._table[i] for i in used]]
                coords[used] = np.asarray(got, dtype=np.int64).reshape(-1, 4)
            src = coords[codes]
            sr = d["sourceRect"]
            sr["x"][need], sr["y"][need] = src[:, 0], src[:, 1]
            sr["w"][need], sr["h"][need] = src[:, 2], src[:, 3]
        self._updateMaxSpotSizes()
        self.invalidate()

    def viewTransformChanged(self) -> None:
        """Data bounds do not depend on the view: keep them (pyqtgraph recomputes per pan)."""
        self.prepareGeometryChange()
        pg.GraphicsObject.viewTransformChanged(self)

    # -- paint -------------------------------------------------------------------------------

    def rows_in(self, rect: QtCore.QRectF, pad: float = 0.0) -> np.ndarray:
        """Visible rows whose position lies in ``rect`` grown by ``pad`` (map units)."""
        d = self.data
        x, y = d["x"], d["y"]
        return np.flatnonzero(
            d["visible"]
            & (x >= rect.left() - pad)
            & (x <= rect.right() + pad)
            & (y >= rect.top() - pad)
            & (y <= rect.bottom() + pad)
        )

    def paint(self, p: QtGui.QPainter, option: Any, widget: Any = None) -> None:
        """Density image when the view is crowded, else the symbols in view only."""
        t = p.transform()
        if (
            self._exportOpts is not False
            or not self.opts["pxMode"]
            or not self.opts["useCache"]
            or t.m12() != 0
            or t.m21() != 0
            or not len(self.data)
        ):
            self.last_mode = "symbols"
            super().paint(p, option, widget)
            return
        view = self.viewRect()
        sx, sy = t.m11(), t.m22()
        dpr = widget.devicePixelRatioF() if widget is not None else 1.0
        if self._density_wanted(view, sx, sy, dpr):
            self._paint_density(p, t)
            return
        atlas = self.fragmentAtlas
        if widget is not None and dpr != atlas.devicePixelRatio():
            atlas.setDevicePixelRatio(dpr)
            atlas.clear()
            self.data["sourceRect"] = 0
            self.updateSpots()
        pad = (atlas.maxWidth / 2.0 + 1.0) / max(abs(sx), 1e-12)
        rows = self.rows_in(view, pad)
        self.last_mode, self.last_drawn = "symbols", len(rows)
        if not len(rows):
            return
        d = self.data
        px = t.m11() * d["x"][rows] + t.dx()
        py = t.m22() * d["y"][rows] + t.dy()
        sr = d["sourceRect"][rows]
        p.resetTransform()
        self._pixmapFragments.resize(len(rows))
        frags = self._pixmapFragments.ndarray()
        frags[:, 0] = px
        frags[:, 1] = py
        frags[:, 2:6] = np.frombuffer(sr, dtype=int).reshape((-1, 4))
        frags[:, 6:10] = [1 / dpr, 1 / dpr, 0.0, 1.0]
        p.drawPixmapFragments(*self._pixmapFragments.drawargs(), atlas.pixmap)

    def _density_wanted(self, view: QtCore.QRectF, sx: float, sy: float, dpr: float) -> bool:
        """Whether the points in view are too many per screen pixel to draw as symbols."""
        if self.density_classes is None or len(self.density_classes) != len(self.data):
            return False
        key = (sx, sy, dpr)
        if (
            self._density is not None
            and self._density_version == self._version
            and _same_scale(self._density_key, key)
            and self._density_rect.contains(view)
        ):
            return True  # decided at this zoom for this data; a pan keeps it
        mpx = abs(view.width() * sx * view.height() * sy) / 1e6
        if mpx <= 0:
            return False
        if len(self.data) / mpx <= self.lod_points_per_mpx:
            return False  # even all of them would not crowd the view
        if len(self.rows_in(view)) / mpx <= self.lod_points_per_mpx:
            return False
        self._render_density(view, sx, sy, dpr)
        return True

    def _render_density(self, view: QtCore.QRectF, sx: float, sy: float, dpr: float) -> None:
        assert self.density_classes is not None
        mx, my = view.width() * DENSITY_MARGIN, view.height() * DENSITY_MARGIN
        rect = view.adjusted(-mx, -my, mx, my)
        xs = (rect.left() * sx, rect.right() * sx)
        ys = (rect.top() * sy, rect.bottom() * sy)
        ox, oy = -min(xs), -min(ys)
        c = DENSITY_CELL_PX
        w = (int(np.ceil(abs(xs[1] - xs[0]) / c)) + 4) // 4 * 4  # Indexed8 rows 4-aligned
        h = int(np.ceil(abs(ys[1] - ys[0]) / c)) + 1
        d = self.data
        rows = self.rows_in(rect)
        ci = np.floor((d["x"][rows] * sx + ox) / c).astype(np.int64)
        cj = np.floor((d["y"][rows] * sy + oy) / c).astype(np.int64)
        inside = (ci >= 0) & (ci < w) & (cj >= 0) & (cj < h)
        flat = cj[inside] * w + ci[inside]
        rank = self.density_rank[self.density_classes[rows[inside]]]
        top = np.zeros(w * h, dtype=np.uint8)
        np.maximum.at(top, flat, rank)
        count = np.bincount(flat, minlength=w * h)
        level = (count >= 2).astype(np.uint8) + (count >= 5)
        k = len(DENSITY_ALPHA)
        cells = np.where(top > 0, (top.astype(np.int64) - 1) * k + level + 1, 0).astype(np.uint8)
        cells = cells.reshape(h, w)
        self._density_cells = top.reshape(h, w)
        img = QtGui.QImage(cells.data, w, h, w, QtGui.QImage.Format.Format_Indexed8)
        table = [0]
        by_rank = sorted(range(len(self.density_colours)), key=lambda i: self.density_rank[i])
        colour_of_rank = {int(self.density_rank[i]): self.density_colours[i] for i in by_rank}
        for r in range(1, int(self.density_rank.max(initial=0)) + 1):
            col = colour_of_rank.get(r, QtGui.QColor("white"))
            for a in DENSITY_ALPHA:
                table.append(QtGui.qRgba(col.red(), col.green(), col.blue(), a))
        img.setColorTable(table)
        big = img.scaled(
            int(w * c * dpr), int(h * c * dpr), mode=QtCore.Qt.TransformationMode.FastTransformation
        ).convertToFormat(QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        big.setDevicePixelRatio(dpr)
        self._density = QtGui.QPixmap.fromImage(big)
        self._density_key = (sx, sy, dpr)
        self._density_rect = rect
        self._density_origin = (ox, oy)
        self._density_version = self._version
        self.density_renders += 1

    def _paint_density(self, p: QtGui.QPainter, t: QtGui.QTransform) -> None:
        assert self._density is not None
        self.last_mode, self.last_drawn = "density", 0
        ox, oy = self._density_origin
        p.save()
        p.resetTransform()
        p.drawPixmap(QtCore.QPointF(t.dx() - ox, t.dy() - oy), self._density)
        p.restore()

    def density_classes_shown(self) -> set[int]:
        """Classes (by rank order index) present in the last density image."""
        present = np.unique(self._density_cells)
        ranks = {int(r): i for i, r in enumerate(self.density_rank)}
        return {ranks[int(r)] for r in present if r > 0 and int(r) in ranks}
