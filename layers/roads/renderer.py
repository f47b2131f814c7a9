"""Draws the roads basemap from cached tiles, so a pan or a zoom seen before is a blit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from pyqtgraph.Qt import QtCore, QtGui

from layers import palette
from layers.base import ChangeSet
from layers.rendering import LayerRenderer
from layers.roads.model import RoadLayerModel
from layers.tiles import (
    TILE_PX,
    Level,
    Levels,
    TileCache,
    TileKey,
    tile_data_rect,
    tile_range,
    world_px_rect,
)


@dataclass
class RoadGroup:
    """One style group: its pen, its polylines and each polyline's bounding box."""

    pen: QtGui.QPen
    polylines: list[QtGui.QPolygonF]
    #: (n, 4) xmin, ymin, xmax, ymax per polyline, for culling to the cached area.
    boxes: np.ndarray

    @classmethod
    def from_parts(cls, pen: QtGui.QPen, parts: list[np.ndarray]) -> RoadGroup:
        """Polylines straight from numpy vertex arrays (no per-vertex Python)."""
        polys = []
        boxes = np.zeros((len(parts), 4))
        for i, part in enumerate(parts):
            poly = fn.create_qpolygonf(len(part))
            fn.ndarray_from_qpolygonf(poly)[:] = part
            polys.append(poly)
            boxes[i, :2] = part.min(axis=0)
            boxes[i, 2:] = part.max(axis=0)
        return cls(pen, polys, boxes)

    def bounds(self) -> QtCore.QRectF:
        """The group's extent."""
        if not len(self.boxes):
            return QtCore.QRectF()
        x0, y0 = self.boxes[:, :2].min(axis=0)
        x1, y1 = self.boxes[:, 2:].max(axis=0)
        return QtCore.QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


class RoadsItem(pg.GraphicsObject):
    """All roads in one item: polylines per style group, painted from cached tiles.

    The picture is cut into squares of :data:`~layers.tiles.TILE_PX` screen
    pixels anchored at the map's origin, one set per zoom level seen, kept in
    an LRU cache bounded by bytes. A pan blits the tiles it already has and
    renders only the squares it newly exposes; going back to a zoom seen before
    (zooming in and out again, the usual wheel steps) renders nothing. Missing
    tiles are rendered in strips, each drawing only the polylines whose boxes
    meet it, one ``drawPolyline`` each: stroking many short polylines is an
    order of magnitude faster than one antialiased ``QPainterPath`` holding
    them all. New geometry or style drops every tile.
    """

    #: Bytes of tile pictures kept (256 KB a tile at 1x): about 1,000 tiles, ~25 views.
    cache_budget_bytes = 256 * 1024 * 1024

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[RoadGroup] = []
        self._bounds = QtCore.QRectF()
        self.levels = Levels()
        self.tiles = TileCache(self.cache_budget_bytes, on_evict=self._evicted)
        self._per_level: dict[int, int] = {}
        self._dpr = 0.0
        self.paints = 0
        #: Tile strips rendered (each draws the polylines meeting it).
        self.strip_renders = 0
        #: Polylines drawn by the last strip render (culling shows here).
        self.last_drawn = 0
        #: Tiles blitted by the last paint.
        self.last_tiles = 0

    @property
    def cache_renders(self) -> int:
        """Tiles rendered so far (a blit-only frame adds none)."""
        return self.tiles.renders

    def _evicted(self, key: TileKey) -> None:
        left = self._per_level.get(key[0], 1) - 1
        if left > 0:
            self._per_level[key[0]] = left
        else:
            self._per_level.pop(key[0], None)
            self.levels.drop({key[0]})

    def _store(self, key: TileKey, tile: QtGui.QImage | None) -> None:
        if key not in self.tiles:
            self._per_level[key[0]] = self._per_level.get(key[0], 0) + 1
        self.tiles.put(key, tile, 0 if tile is None else tile.sizeInBytes())

    def set_groups(self, groups: list[RoadGroup]) -> None:
        """New geometry or style: drop every tile."""
        self.prepareGeometryChange()
        self.groups = groups
        bounds = QtCore.QRectF()
        for g in groups:
            if len(g.boxes):
                bounds = bounds.united(g.bounds())
        self._bounds = bounds
        self.invalidate_tiles()
        self.update()

    def invalidate_tiles(self) -> None:
        """Forget every cached tile (the next paint renders what it shows)."""
        self.tiles.clear()
        self.levels.clear()
        self._per_level.clear()

    def boundingRect(self) -> QtCore.QRectF:
        """The exact extent of the road vertices."""
        return QtCore.QRectF(self._bounds)

    def paint(self, p: QtGui.QPainter, option: Any, widget: Any = None) -> None:
        """Blit the tiles in view, rendering the missing ones first."""
        self.paints += 1
        self.last_tiles = 0
        if not self.groups:
            return
        t = p.transform()
        if t.m12() != 0 or t.m21() != 0:
            self._draw(p, None)  # rotated views are not cached
            return
        dpr = widget.devicePixelRatioF() if widget is not None else 1.0
        if dpr != self._dpr:
            self.invalidate_tiles()
            self._dpr = dpr
        level = self.levels.get(t.m11(), t.m22())
        vb = self.getViewBox()
        view = vb.viewRect() if vb is not None else self._bounds
        # Pen widths spill a few pixels past the vertices' extent.
        pad = 4.0 / max(abs(level.sx), 1e-12)
        area = view.intersected(self._bounds.adjusted(-pad, -pad, pad, pad))
        if area.isEmpty():
            return
        u0, v0, u1, v1 = world_px_rect(
            area.left(), area.top(), area.right(), area.bottom(), level.sx, level.sy
        )
        i0, j0, i1, j1 = tile_range(u0, v0, u1, v1)
        missing = [
            (i, j)
            for j in range(j0, j1 + 1)
            for i in range(i0, i1 + 1)
            if (level.id, i, j) not in self.tiles
        ]
        if missing:
            self._render_tiles(level, missing, dpr)
        ox, oy = round(t.dx()), round(t.dy())
        p.save()
        p.resetTransform()
        drawn = 0
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                key = (level.id, i, j)
                img = self.tiles.get(key) if key in self.tiles else None
                if img is not None:
                    p.drawImage(QtCore.QPointF(i * TILE_PX + ox, j * TILE_PX + oy), img)
                    drawn += 1
        p.restore()
        self.last_tiles = drawn

    def _render_tiles(self, level: Level, missing: list[tuple[int, int]], dpr: float) -> None:
        """Render missing tiles as rectangles of whole tiles, then cut them apart."""
        for i0, j0, i1, j1 in _blocks(missing):
            self._render_block(level, i0, j0, i1, j1, dpr)

    def _render_block(self, level: Level, i0: int, j0: int, i1: int, j1: int, dpr: float) -> None:
        pad = 4.0 / max(abs(level.sx), 1e-12)
        xa, ya, _, _ = tile_data_rect(level, i0, j0)
        _, _, xb, yb = tile_data_rect(level, i1, j1)
        x0, x1 = min(xa, xb), max(xa, xb)
        y0, y1 = min(ya, yb), max(ya, yb)
        # Which polylines meet each tile (a small boxes x tiles test), so empty tiles cost nothing.
        cols, rows = i1 - i0 + 1, j1 - j0 + 1
        nonempty = np.zeros((rows, cols), dtype=bool)
        picks: list[np.ndarray] = []
        for g in self.groups:
            b = g.boxes
            idx = np.flatnonzero(
                (b[:, 2] >= x0 - pad)
                & (b[:, 0] <= x1 + pad)
                & (b[:, 3] >= y0 - pad)
                & (b[:, 1] <= y1 + pad)
            )
            picks.append(idx)
            if len(idx):
                bu0, bv0, bu1, bv1 = _px_boxes(b[idx], level)
                pp = 4.0
                ci0 = np.floor((bu0 - pp) / TILE_PX).astype(np.int64) - i0
                ci1 = np.floor((bu1 + pp) / TILE_PX).astype(np.int64) - i0
                cj0 = np.floor((bv0 - pp) / TILE_PX).astype(np.int64) - j0
                cj1 = np.floor((bv1 + pp) / TILE_PX).astype(np.int64) - j0
                for r in range(rows):
                    on_r = (cj0 <= r) & (cj1 >= r)
                    if on_r.any():
                        lo, hi = ci0[on_r], ci1[on_r]
                        for c in range(cols):
                            if not nonempty[r, c]:
                                nonempty[r, c] = bool(((lo <= c) & (hi >= c)).any())
        if not nonempty.any():
            for j in range(j0, j1 + 1):
                for i in range(i0, i1 + 1):
                    self._store((level.id, i, j), None)
            return
        side = round(TILE_PX * dpr)
        img = QtGui.QImage(
            cols * side, rows * side, QtGui.QImage.Format.Format_ARGB32_Premultiplied
        )
        img.setDevicePixelRatio(dpr)
        img.fill(QtCore.Qt.GlobalColor.transparent)
        q = QtGui.QPainter(img)
        q.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        q.setTransform(QtGui.QTransform(level.sx, 0.0, 0.0, level.sy, -i0 * TILE_PX, -j0 * TILE_PX))
        q.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        drawn = 0
        for g, idx in zip(self.groups, picks, strict=True):
            if not len(idx):
                continue
            q.setPen(g.pen)
            polys = g.polylines
            for k in idx.tolist():
                q.drawPolyline(polys[k])
            drawn += len(idx)
        q.end()
        self.last_drawn = drawn
        self.strip_renders += 1
        for r in range(rows):
            for c in range(cols):
                key = (level.id, i0 + c, j0 + r)
                if not nonempty[r, c]:
                    self._store(key, None)
                    continue
                tile = img.copy(c * side, r * side, side, side)
                tile.setDevicePixelRatio(dpr)
                self._store(key, tile)

    def _draw(self, p: QtGui.QPainter, area: QtCore.QRectF | None) -> None:
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        drawn = 0
        for g in self.groups:
            p.setPen(g.pen)
            idx: Sequence[int]
            if area is None:
                idx = range(len(g.polylines))
            else:
                b = g.boxes
                idx = np.flatnonzero(
                    (b[:, 2] >= area.left())
                    & (b[:, 0] <= area.right())
                    & (b[:, 3] >= area.top())
                    & (b[:, 1] <= area.bottom())
                ).tolist()
            polys = g.polylines
            for i in idx:
                p.drawPolyline(polys[i])
            drawn += len(idx)
        self.last_drawn = drawn


def _px_boxes(
    boxes: np.ndarray, level: Level
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Data boxes (xmin, ymin, xmax, ymax) in world pixels: left, top, right, bottom."""
    ua, ub = boxes[:, 0] * level.sx, boxes[:, 2] * level.sx
    va, vb = boxes[:, 1] * level.sy, boxes[:, 3] * level.sy
    return np.minimum(ua, ub), np.minimum(va, vb), np.maximum(ua, ub), np.maximum(va, vb)


def _blocks(cells: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Cover tile cells with few rectangles: runs along rows, stacked where rows match."""
    by_row: dict[int, list[int]] = {}
    for i, j in cells:
        by_row.setdefault(j, []).append(i)
    runs: list[tuple[int, int, int]] = []  # (j, i0, i1)
    for j in sorted(by_row):
        cols = sorted(by_row[j])
        start = prev = cols[0]
        for i in cols[1:]:
            if i != prev + 1:
                runs.append((j, start, prev))
                start = i
            prev = i
        runs.append((j, start, prev))
    blocks: list[list[int]] = []  # [i0, j0, i1, j1]
    open_by_span: dict[tuple[int, int], list[int]] = {}
    for j, a, b in runs:
        blk = open_by_span.get((a, b))
        if blk is not None and blk[3] == j - 1:
            blk[3] = j
        else:
            blk = [a, j, b, j]
            blocks.append(blk)
            open_by_span[(a, b)] = blk
    return [(b[0], b[1], b[2], b[3]) for b in blocks]


class RoadLayerRenderer(LayerRenderer):
    """The roads layer: one cached item holding a path per road style group."""

    z = 0
    model: RoadLayerModel

    def __init__(
        self, model: RoadLayerModel, view: pg.ViewBox, request_frame: Callable[[], None]
    ) -> None:
        super().__init__(model, view, request_frame)
        self.item = RoadsItem()
        self.add_item(self.item)

    def apply_data(self, changes: ChangeSet) -> None:
        """Rebuild the group paths (roads change rarely; a city is a few ms)."""
        self._rebuild()

    def apply_filters(self) -> None:
        """Hidden road classes leave their group's path."""
        self._rebuild()

    def _rebuild(self) -> None:
        groups = []
        for style in sorted(palette.ROAD_STYLES.values(), key=lambda s: s.z):
            parts = self.model.parts(style.group)
            if not parts:
                continue
            pen = QtGui.QPen(self.styles.pen(style.colour, style.width))
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
            if style.dashed:
                pen.setStyle(QtCore.Qt.PenStyle.DashLine)
            groups.append(RoadGroup.from_parts(pen, parts))
        self.item.set_groups(groups)

    def pick(self, x: float, y: float, metres_per_pixel: float) -> list[int]:
        """Roads are the basemap: not picked by clicks."""
        return []

    def select_area(self, area: Any) -> list[int]:
        """Roads are not selected by rectangle or lasso."""
        return []
