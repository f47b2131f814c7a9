"""Draws the roads basemap from a cached pixmap, so a pan is a blit, not a redraw."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

from layers import palette
from layers.base import ChangeSet
from layers.rendering import LayerRenderer
from layers.roads.model import RoadLayerModel

#: The cache covers the view plus this share of it on every side, so pans stay in it.
CACHE_MARGIN = 0.25


class RoadsItem(pg.GraphicsObject):
    """All roads in one item: a QPainterPath per style group, painted via a pixmap cache.

    The cache is rebuilt only when the zoom changes, the view leaves the cached
    area, or the roads change; otherwise paint() blits one pixmap.
    """

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[tuple[QtGui.QPainterPath, QtGui.QPen]] = []
        self._bounds = QtCore.QRectF()
        self._cache: QtGui.QPixmap | None = None
        self._cache_key: tuple[float, float, float] | None = None
        self._cache_rect = QtCore.QRectF()  # in data coordinates
        self._cache_origin = (0.0, 0.0)  # pixmap offset for the scale-only transform
        self.cache_renders = 0
        self.paints = 0

    def set_paths(self, paths: list[tuple[QtGui.QPainterPath, QtGui.QPen]]) -> None:
        """New geometry or style: drop the cache."""
        self.prepareGeometryChange()
        self.paths = paths
        bounds = QtCore.QRectF()
        for path, _ in paths:
            bounds = bounds.united(path.boundingRect())
        self._bounds = bounds
        self._cache = None
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        """The exact extent of the road vertices."""
        return QtCore.QRectF(self._bounds)

    def paint(self, p: QtGui.QPainter, option: Any, widget: Any = None) -> None:
        """Blit the cached pixmap, re-rendering it first when needed."""
        self.paints += 1
        if not self.paths:
            return
        t = p.transform()
        if t.m12() != 0 or t.m21() != 0:
            self._draw_paths(p)  # rotated views are not cached
            return
        sx, sy = t.m11(), t.m22()
        dpr = widget.devicePixelRatioF() if widget is not None else 1.0
        vb = self.getViewBox()
        view = vb.viewRect() if vb is not None else self._bounds
        key = (sx, sy, dpr)
        if (
            self._cache is None
            or self._cache_key != key
            or not self._cache_rect.contains(view.intersected(self._bounds))
        ):
            self._render_cache(view, sx, sy, dpr)
        assert self._cache is not None
        ox, oy = self._cache_origin
        p.save()
        p.resetTransform()
        p.drawPixmap(QtCore.QPointF(t.dx() - ox, t.dy() - oy), self._cache)
        p.restore()

    def _render_cache(self, view: QtCore.QRectF, sx: float, sy: float, dpr: float) -> None:
        mx, my = view.width() * CACHE_MARGIN, view.height() * CACHE_MARGIN
        rect = view.adjusted(-mx, -my, mx, my).intersected(self._bounds.adjusted(-1, -1, 1, 1))
        xs = (rect.left() * sx, rect.right() * sx)
        ys = (rect.top() * sy, rect.bottom() * sy)
        ox, oy = -min(xs), -min(ys)
        w = max(1, int(np.ceil(abs(xs[1] - xs[0]))) + 2)
        h = max(1, int(np.ceil(abs(ys[1] - ys[0]))) + 2)
        pm = QtGui.QPixmap(int(w * dpr), int(h * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(QtCore.Qt.GlobalColor.transparent)
        q = QtGui.QPainter(pm)
        q.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        q.setTransform(QtGui.QTransform(sx, 0.0, 0.0, sy, ox, oy))
        self._draw_paths(q)
        q.end()
        self._cache = pm
        self._cache_key = (sx, sy, dpr)
        self._cache_rect = rect
        self._cache_origin = (ox, oy)
        self.cache_renders += 1

    def _draw_paths(self, p: QtGui.QPainter) -> None:
        for path, pen in self.paths:
            p.setPen(pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawPath(path)


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
        paths = []
        for style in sorted(palette.ROAD_STYLES.values(), key=lambda s: s.z):
            x, y, connect = self.model.polylines(style.group)
            if not len(x):
                continue
            pen = QtGui.QPen(self.styles.pen(style.colour, style.width))
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
            if style.dashed:
                pen.setStyle(QtCore.Qt.PenStyle.DashLine)
            paths.append((pg.arrayToQPath(x, y, connect=connect.astype(np.int32)), pen))
        self.item.set_paths(paths)

    def pick(self, x: float, y: float, metres_per_pixel: float) -> list[int]:
        """Roads are the basemap: not picked by clicks."""
        return []

    def select_area(self, area: Any) -> list[int]:
        """Roads are not selected by rectangle or lasso."""
        return []
