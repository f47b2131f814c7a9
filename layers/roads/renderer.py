"""Draws the roads basemap from a cached pixmap, so a pan is a blit, not a redraw."""

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

#: The cache covers the view plus this share of it on every side, so pans stay in it.
CACHE_MARGIN = 0.25


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


def _same_scale(a: tuple[float, float, float] | None, b: tuple[float, float, float]) -> bool:
    """Scales equal to a part in a million: a pan may jitter the last bits of the scale."""
    if a is None:
        return False
    return all(abs(u - v) <= 1e-6 * max(abs(u), abs(v), 1e-12) for u, v in zip(a, b, strict=True))


class RoadsItem(pg.GraphicsObject):
    """All roads in one item: polylines per style group, painted via a pixmap cache.

    The cache is rebuilt only when the zoom changes, the view leaves the cached
    area, or the roads change; otherwise paint() blits one pixmap. Rebuilding
    draws only the polylines whose boxes meet the cached area, one
    ``drawPolyline`` each: stroking many short polylines is an order of
    magnitude faster than one antialiased ``QPainterPath`` holding them all.
    """

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[RoadGroup] = []
        self._bounds = QtCore.QRectF()
        self._cache: QtGui.QPixmap | None = None
        self._cache_key: tuple[float, float, float] | None = None
        self._cache_rect = QtCore.QRectF()  # in data coordinates
        self._cache_origin = (0.0, 0.0)  # pixmap offset for the scale-only transform
        self.cache_renders = 0
        self.paints = 0
        #: Polylines drawn by the last cache render (culling shows here).
        self.last_drawn = 0

    def set_groups(self, groups: list[RoadGroup]) -> None:
        """New geometry or style: drop the cache."""
        self.prepareGeometryChange()
        self.groups = groups
        bounds = QtCore.QRectF()
        for g in groups:
            if len(g.boxes):
                bounds = bounds.united(g.bounds())
        self._bounds = bounds
        self._cache = None
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        """The exact extent of the road vertices."""
        return QtCore.QRectF(self._bounds)

    def paint(self, p: QtGui.QPainter, option: Any, widget: Any = None) -> None:
        """Blit the cached pixmap, re-rendering it first when needed."""
        self.paints += 1
        if not self.groups:
            return
        t = p.transform()
        if t.m12() != 0 or t.m21() != 0:
            self._draw(p, None)  # rotated views are not cached
            return
        sx, sy = t.m11(), t.m22()
        dpr = widget.devicePixelRatioF() if widget is not None else 1.0
        vb = self.getViewBox()
        view = vb.viewRect() if vb is not None else self._bounds
        key = (sx, sy, dpr)
        if (
            self._cache is None
            or not _same_scale(self._cache_key, key)
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
        # Pen widths spill a few pixels past the cached area: pad the cull box by them.
        pad = 4.0 / max(abs(sx), 1e-12)
        self._draw(q, rect.adjusted(-pad, -pad, pad, pad))
        q.end()
        self._cache = pm
        self._cache_key = (sx, sy, dpr)
        self._cache_rect = rect
        self._cache_origin = (ox, oy)
        self.cache_renders += 1

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
