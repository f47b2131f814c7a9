"""A scatter item for large point layers: style codes, culling, and a density level of detail.

pyqtgraph's ``ScatterPlotItem`` already blits symbols from an atlas, but it
finds each point's atlas entry with Python per point (``setData``,
``setPointsVisible`` and ``updateSpots`` all do), and every paint maps and
masks every point. :class:`FastScatter` keeps pyqtgraph's per-point data
array (so ``data["brush"][row]`` still says how a row draws) but fills it from
a small style table and one integer code per point, so a million points or
ten thousand restyles cost a few numpy passes.

Painting culls to the view first, through a uniform grid index
(:mod:`layers.spatial_index`), so a street-level frame touches only the points
near the view, not all of them. When the points in view are too dense to read
as symbols (more than :attr:`FastScatter.lod_points_per_mpx` per million screen
pixels), the item draws a density picture instead: a grid of small cells
coloured by the most severe class (e.g. asset status) among their points,
brighter where more points fall, cut into tiles cached per zoom like the roads
and updated in place when classes change (:mod:`layers.density`). This is what
desktop GIS does at city zoom, where a million symbols would be sub-pixel anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

from layers.density import DensityTiles
from layers.spatial_index import GridIndex

#: (symbol, size, pen, brush): one look, one atlas entry.
Style = tuple[Any, float, QtGui.QPen, QtGui.QBrush]

#: Below this many points a plain scan beats the grid index.
INDEX_MIN_POINTS = 4096


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
        #: The grid index over the points (None until there are enough of them).
        self.index: GridIndex | None = None
        self.density = DensityTiles()
        #: What the last paint drew: "symbols" or "density", and how many symbols.
        self.last_mode = ""
        self.last_drawn = 0

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
        self._new_index()
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.bounds = [None, None]
        self.updateSpots()
        self._version += 1
        self.sigPlotChanged.emit(self)

    def _new_index(self) -> None:
        """Index the current positions afresh; the density tiles start over."""
        d = self.data
        if len(d) >= INDEX_MIN_POINTS:
            self.index = GridIndex(np.ascontiguousarray(d["x"]), np.ascontiguousarray(d["y"]))
        else:
            self.index = None
        self.density.invalidate()

    @property
    def density_renders(self) -> int:
        """Density tiles built so far (a blit-only frame adds none)."""
        return self.density.builds

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
        self._new_index()
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
        moved = ~((d["x"][rows] == x) | (np.isnan(d["x"][rows]) & np.isnan(x)))
        moved |= ~((d["y"][rows] == y) | (np.isnan(d["y"][rows]) & np.isnan(y)))
        old_on = d["visible"][rows].copy()
        dc = self.density_classes
        track = classes is not None and dc is not None and len(dc) == len(d)
        old_class = dc[rows].copy() if track and dc is not None else None
        d["x"][rows], d["y"][rows] = x, y
        d["symbol"][rows], d["size"][rows] = sym[codes], size[codes]
        d["pen"][rows], d["brush"][rows] = pen[codes], brush[codes]
        d["visible"][rows] = visible
        d["sourceRect"][rows] = 0
        self._codes[rows] = codes
        self._table = list(table)
        if classes is not None and self.density_classes is not None:
            self.density_classes[rows] = classes
        new_on = np.asarray(visible, dtype=bool)
        if moved.any():
            if self.index is not None:
                self.index.x[rows], self.index.y[rows] = x, y
                self.index.invalidate()
            self.density.invalidate()
            self.prepareGeometryChange()
            self.informViewBoundsChanged()
            self.bounds = [None, None]
        else:
            if self.index is not None and self.index.has_weights:
                flip = old_on != new_on
                self.index.adjust_weights(rows[flip], np.where(new_on[flip], 1, -1))
            if old_class is not None:
                self.density.update(
                    np.asarray(x, float),
                    np.asarray(y, float),
                    old_class,
                    old_on,
                    np.asarray(classes, dtype=np.int64),
                    new_on,
                )
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
        # Filters changed which points count: the density and the counts start over.
        density = getattr(self, "density", None)
        if density is not None:
            density.invalidate()
        index = getattr(self, "index", None)
        if index is not None:
            index.set_weights(self.data["visible"])

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
        x0, x1 = rect.left() - pad, rect.right() + pad
        y0, y1 = rect.top() - pad, rect.bottom() + pad
        if self.index is not None and len(self.index) == len(d):
            return self.index.query(x0, y0, x1, y1, d["visible"])
        x, y = d["x"], d["y"]
        return np.flatnonzero(d["visible"] & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))

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
            self._paint_density(p, t, dpr)
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
        """Whether the points in view are too many per screen pixel to draw as symbols.

        The count is the grid index's per-cell tally over the cells the view
        meets (an upper bound, O(1)): a level-of-detail switch needs no exact count.
        """
        if self.density_classes is None or len(self.density_classes) != len(self.data):
            return False
        mpx = abs(view.width() * sx * view.height() * sy) / 1e6
        if mpx <= 0:
            return False
        if len(self.data) / mpx <= self.lod_points_per_mpx:
            return False  # even all of them would not crowd the view
        index = self.index
        if index is None or len(index) != len(self.data):
            n_in = len(self.rows_in(view))
        else:
            if not index.has_weights:
                index.set_weights(self.data["visible"])
            n_in = index.estimate(view.left(), view.top(), view.right(), view.bottom())
        return n_in / mpx > self.lod_points_per_mpx

    def _paint_density(self, p: QtGui.QPainter, t: QtGui.QTransform, dpr: float) -> None:
        assert self.density_classes is not None
        self.last_mode, self.last_drawn = "density", 0
        if self.index is None or len(self.index) != len(self.data):
            self.index = GridIndex(
                np.ascontiguousarray(self.data["x"]), np.ascontiguousarray(self.data["y"])
            )
        b = self.index.bounds()
        if b is None:
            return
        area = self.viewRect().intersected(QtCore.QRectF(b[0], b[1], b[2] - b[0], b[3] - b[1]))
        self.density.set_look(self.density_rank, self.density_colours)
        self.density.paint(p, t, area, self.index, self.data["visible"], self.density_classes, dpr)

    def density_classes_shown(self) -> set[int]:
        """Classes that top at least one cell of the density tiles last drawn."""
        ranks = {int(r): i for i, r in enumerate(self.density_rank)}
        return {ranks[r] for r in self.density.classes_shown() if r in ranks}
