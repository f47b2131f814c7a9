"""What every layer renderer shares: the subscription, pen/brush caches, fast items.

A renderer is a thin adapter from one layer model to a handful of pyqtgraph
items. It never redraws on a model event: it folds the change into a
:class:`~layers.base.ChangeSet` and asks the canvas for a frame; the canvas
settles every dirty renderer once, just before paint, so a burst of deltas
becomes one redraw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph import Qt
from pyqtgraph.Qt import QtCore, QtGui
from shapely.geometry.base import BaseGeometry

from layers import declutter, palette
from layers.base import ChangeSet, LayerChange, LayerModel
from layers.fast_scatter import FastScatter, Style


class StyleBook:
    """Shared QPen/QBrush objects, one per look, so the symbol atlas stays small.

    pyqtgraph's atlas keys a style by the identity of its pen and brush objects;
    handing it the same object for the same look keeps one atlas entry per look.
    """

    def __init__(self) -> None:
        self._pens: dict[tuple[str, float, float], QtGui.QPen] = {}
        self._brushes: dict[tuple[str, float], QtGui.QBrush] = {}
        self.no_pen = QtGui.QPen(QtCore.Qt.PenStyle.NoPen)
        self.no_brush = QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush)

    def pen(self, colour: str, width: float = 1.0, alpha: float = 1.0) -> QtGui.QPen:
        """A cosmetic pen of a colour and pixel width."""
        key = (colour, width, alpha)
        pen = self._pens.get(key)
        if pen is None:
            pen = pg.mkPen(color=palette.hex_to_rgba(colour, alpha), width=width)
            pen.setCosmetic(True)
            self._pens[key] = pen
        return pen

    def brush(self, colour: str, alpha: float = 1.0) -> QtGui.QBrush:
        """A solid brush of a colour."""
        key = (colour, alpha)
        brush = self._brushes.get(key)
        if brush is None:
            brush = pg.mkBrush(palette.hex_to_rgba(colour, alpha))
            self._brushes[key] = brush
        return brush


class LabelsItem(pg.GraphicsObject):
    """Many short texts at map positions, painted by one item in screen pixels.

    Each distinct (text, colour) is rendered once with its halo into a sprite,
    the sprites are packed into one atlas pixmap, and a paint is a single
    ``drawPixmapFragments`` call for the labels on screen: no per-label Python
    and no view-sized layer to re-render when the zoom changes.

    Given a placement order (:meth:`set_labels`), labels are decluttered: each
    takes the first of ``candidates`` positions that overlaps no more important
    label, or is not drawn (see :mod:`layers.declutter`). The placement depends
    only on the labels and the zoom, so it is computed once per zoom or label
    change and reused by every other paint, pans included.
    """

    def __init__(
        self,
        offset: tuple[float, float] = (0.0, 0.0),
        centred: bool = False,
        candidates: Sequence[declutter.Candidate] | None = None,
        marker: float = 0.0,
    ) -> None:
        super().__init__()
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._texts: list[str] = []
        self._pens: list[QtGui.QPen] = []
        if candidates is None:
            dx, dy = offset
            only = (
                declutter.Candidate(fx=-0.5, fy=-0.5)
                if centred
                else declutter.Candidate(px=dx - 2, py=dy, fy=-0.5)
            )
            candidates = (only,)
        self.candidates = tuple(candidates)
        self._cand = np.array([(c.px, c.py, c.fx, c.fy) for c in self.candidates], dtype=float)
        #: Pixel size of the markers at the label points, which labels avoid covering.
        self.marker = marker
        self._order: np.ndarray | None = None
        self._placed = np.zeros(0, dtype=np.int64)
        self._placed_version = -1
        self._placed_scale: tuple[float, ...] = ()
        #: The map area whose labels were last placed fully, that placement, placement ranks.
        self._region = QtCore.QRectF()
        self._base = self._placed
        self._rank = np.zeros(0, dtype=np.int64)
        self._exact_due = False
        #: How long the zoom must rest before labels are placed fully again.
        self.settle_ms = 150
        self._settle = QtCore.QTimer()
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self._place_fully)
        #: Placements computed so far (zoom or labels changed).
        self.placements = 0
        #: Which labels the last paint drew, and their screen boxes (left, top, width, height).
        self.last_indices = np.zeros(0, dtype=np.int64)
        self.last_boxes = np.zeros((0, 4))
        self.max_labels = 600
        self.font = QtGui.QFont()
        self.font.setPointSizeF(9.5)
        self.font.setBold(True)
        self._halo = QtGui.QColor(palette.BACKGROUND)
        self._sprites: dict[tuple[str, int, float], QtGui.QPixmap] = {}
        self._atlas: QtGui.QPixmap | None = None
        self._atlas_dpr = 0.0
        #: Sprite key -> (x, y, w, h) in the atlas, in device pixels.
        self._slots: dict[tuple[str, int, float], tuple[int, int, int, int]] = {}
        #: Per label: its slot's source rect and logical size, for the current atlas.
        self._src = np.zeros((0, 4))
        self._src_version = -1
        self._version = 0
        self._frags = Qt.internals.PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        #: Atlas builds so far (new texts or colours appeared).
        self.layer_renders = 0
        #: Labels drawn by the last paint.
        self.last_drawn = 0

    def set_labels(
        self,
        x: np.ndarray,
        y: np.ndarray,
        texts: Sequence[str],
        pens: Sequence[QtGui.QPen],
        order: np.ndarray | None = None,
    ) -> None:
        """Replace all labels; with an ``order`` (most important first), declutter them."""
        self.prepareGeometryChange()
        self._x, self._y = np.asarray(x, float), np.asarray(y, float)
        self._texts, self._pens = list(texts), list(pens)
        self._order = None if order is None else np.asarray(order, dtype=np.int64)
        self._version += 1
        self.update()

    def _place_fully(self) -> None:
        """The zoom rested: place the labels fully at the next paint."""
        self._exact_due = True
        self._placed_scale = ()
        self.update()

    def texts(self) -> list[str]:
        """The label texts (for tests and tooltips)."""
        return list(self._texts)

    def viewTransformChanged(self) -> None:
        """Pixel padding of the bounds depends on zoom."""
        self.prepareGeometryChange()
        super().viewTransformChanged()

    def boundingRect(self) -> QtCore.QRectF:
        """The labels' anchor extent, padded by the widest label in pixels."""
        ok = np.isfinite(self._x) & np.isfinite(self._y)
        if not ok.any():
            return QtCore.QRectF()
        x0, x1 = float(self._x[ok].min()), float(self._x[ok].max())
        y0, y1 = float(self._y[ok].min()), float(self._y[ok].max())
        px, py = self.pixelVectors()
        pad_x = 260.0 * (px.length() if px is not None else 0.0)
        pad_y = 45.0 * (py.length() if py is not None else 0.0)
        return QtCore.QRectF(x0 - pad_x, y0 - pad_y, x1 - x0 + 2 * pad_x, y1 - y0 + 2 * pad_y)

    def _sprite(self, text: str, pen: QtGui.QPen, dpr: float) -> QtGui.QPixmap:
        """A label rendered once with its halo, then reused (label texts repeat a lot)."""
        key = (text, pen.color().rgba(), dpr)
        pm = self._sprites.get(key)
        if pm is None:
            fm = QtGui.QFontMetricsF(self.font)
            w, h = fm.horizontalAdvance(text) + 4, fm.height() + 4
            pm = QtGui.QPixmap(int(np.ceil(w * dpr)), int(np.ceil(h * dpr)))
            pm.setDevicePixelRatio(dpr)
            pm.fill(QtCore.Qt.GlobalColor.transparent)
            q = QtGui.QPainter(pm)
            q.setFont(self.font)
            base = QtCore.QPointF(2, 2 + fm.ascent())
            q.setPen(QtGui.QPen(self._halo))
            for ox, oy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                q.drawText(base + QtCore.QPointF(ox, oy), text)
            q.setPen(pen)
            q.drawText(base, text)
            q.end()
            self._sprites[key] = pm
        return pm

    def _ensure_atlas(self, dpr: float) -> None:
        """Slots for every label's sprite, repacking the atlas when new ones appear."""
        if self._src_version == self._version and self._atlas_dpr == dpr:
            return
        keys = [(t, p.color().rgba(), dpr) for t, p in zip(self._texts, self._pens, strict=True)]
        missing = self._atlas_dpr != dpr or any(k not in self._slots for k in keys)
        if missing:
            # Bounded: texts like "last seen N min ago" change, so old sprites are dropped.
            wanted = dict.fromkeys(keys)
            if len(self._slots) + len(wanted) > 4000 or self._atlas_dpr != dpr:
                self._slots.clear()
                self._sprites.clear()
            wanted.update(dict.fromkeys(self._slots))
            self._pack(list(wanted), dpr)
        slots = self._slots
        src = np.array([slots[k] for k in keys], dtype=float).reshape(-1, 4)
        self._src = src
        self._src_version = self._version
        self._atlas_dpr = dpr

    def _pack(self, keys: list[tuple[str, int, float]], dpr: float) -> None:
        """Shelf-pack the sprites of ``keys`` into one atlas pixmap."""
        pens: dict[int, QtGui.QPen] = {p.color().rgba(): p for p in self._pens}
        sprites = [
            self._sprite(t, pens.get(c) or QtGui.QPen(QtGui.QColor.fromRgba(c)), d)
            for t, c, d in keys
        ]
        width = 1024
        x = y = row_h = 0
        slots: dict[tuple[str, int, float], tuple[int, int, int, int]] = {}
        for k, pm in zip(keys, sprites, strict=True):
            w, h = pm.width(), pm.height()
            if x + w > width:
                x, y, row_h = 0, y + row_h, 0
            slots[k] = (x, y, w, h)
            x += w
            row_h = max(row_h, h)
        atlas = QtGui.QPixmap(width, max(1, y + row_h))
        atlas.fill(QtCore.Qt.GlobalColor.transparent)
        q = QtGui.QPainter(atlas)
        for k, pm in zip(keys, sprites, strict=True):
            sx, sy, _, _ = slots[k]
            q.drawPixmap(sx, sy, pm)
        q.end()
        self._atlas = atlas
        self._slots = slots
        self.layer_renders += 1

    def _placement(self, t: QtGui.QTransform, dpr: float, w: float, h: float) -> np.ndarray:
        """Per label, the candidate it is drawn at (-1: not drawn), for this zoom.

        Placed in pixels without the pan offset, for the labels within a screen's
        width and height around the view: a pan within that region keeps the same
        choice (no labels flickering) and costs nothing. New labels or a pan
        beyond the region place them again (a few ms for a few hundred). While
        the zoom keeps changing, the last full placement is reused at the new zoom
        minus the labels it would now overlap (sub-millisecond), and the full
        placement runs once the zoom has rested for :attr:`settle_ms`.
        """
        scale = (t.m11(), t.m12(), t.m21(), t.m22(), dpr)
        inv, ok = t.inverted()
        if not ok:
            return np.full(len(self._x), declutter.HIDDEN, dtype=np.int64)
        # The screen in map units, with the room labels may take beyond it.
        view = inv.mapRect(QtCore.QRectF(-260.0, -45.0, w + 520.0, h + 90.0))
        inside = self._region.contains(view)
        same = self._placed_version == self._version
        if same and inside and scale == self._placed_scale:
            return self._placed
        assert self._order is not None
        x = t.m11() * self._x + t.m21() * self._y
        y = t.m12() * self._x + t.m22() * self._y
        sw, sh = self._src[:, 2] / dpr, self._src[:, 3] / dpr
        if same and inside and not self._exact_due:
            # Only the zoom changed: repair the last full placement for this zoom,
            # and place fully once the zoom rests.
            shown = np.flatnonzero(self._base >= 0)
            by = shown[np.argsort(self._rank[shown])]
            left, top = declutter.boxes_of(
                x[by], y[by], sw[by], sh[by], self._base[by], self.candidates
            )
            keep = declutter.drop_overlaps(left, top, sw[by], sh[by])
            placed = self._base.copy()
            placed[by[~keep]] = declutter.HIDDEN
            self._placed, self._placed_scale = placed, scale
            self._settle.start(self.settle_ms)
            return placed
        region = inv.mapRect(QtCore.QRectF(-260.0 - w, -45.0 - h, 3 * w + 520.0, 3 * h + 90.0))
        far = ~(
            (self._x >= region.left())
            & (self._x <= region.right())
            & (self._y >= region.top())
            & (self._y <= region.bottom())
        )
        x[far] = np.nan  # not placed (and not drawn: off screen until placed again)
        self._placed = declutter.place_labels(
            x, y, sw, sh, self._order, self.candidates, self.marker, gap=1.0
        )
        self._rank = np.empty(len(self._order), dtype=np.int64)
        self._rank[self._order] = np.arange(len(self._order))
        self._base, self._region = self._placed, region
        self._placed_version, self._placed_scale = self._version, scale
        self._exact_due = False
        self.placements += 1
        return self._placed

    def paint(self, p: QtGui.QPainter, *args: Any) -> None:
        """Blit the on-screen labels from the atlas in one call (none when too many to read)."""
        self.last_drawn = 0
        self.last_indices = np.zeros(0, dtype=np.int64)
        self.last_boxes = np.zeros((0, 4))
        if not self._texts:
            return
        t = p.transform()
        dev = p.device()
        w, h = (dev.width(), dev.height()) if dev is not None else (1e9, 1e9)
        dpr = dev.devicePixelRatioF() if dev is not None else 1.0
        xs = t.m11() * self._x + t.m21() * self._y + t.dx()
        ys = t.m12() * self._x + t.m22() * self._y + t.dy()
        on = np.flatnonzero((xs > -260) & (xs < w + 260) & (ys > -45) & (ys < h + 45))
        if len(on) > self.max_labels:
            return  # too many to read: the map is zoomed out too far for labels
        if not len(on):
            return
        self._ensure_atlas(dpr)
        assert self._atlas is not None
        if self._order is None:
            cand = self._cand[np.zeros(len(on), dtype=np.int64)]
        else:
            chosen = self._placement(t, dpr, w, h)[on]
            keep = chosen >= 0
            on, cand = on[keep], self._cand[chosen[keep]]
            if not len(on):
                return
        src = self._src[on]
        sw, sh = src[:, 2] / dpr, src[:, 3] / dpr
        left = xs[on] + cand[:, 0] + cand[:, 2] * sw
        top = ys[on] + cand[:, 1] + cand[:, 3] * sh
        # Whole device pixels: a sprite drawn between pixels would blur.
        left, top = np.round(left * dpr) / dpr, np.round(top * dpr) / dpr
        self._frags.resize(len(on))
        frags = self._frags.ndarray()
        frags[:, 0] = left + sw / 2
        frags[:, 1] = top + sh / 2
        frags[:, 2:6] = src
        frags[:, 6:10] = [1 / dpr, 1 / dpr, 0.0, 1.0]
        p.save()
        p.resetTransform()
        p.drawPixmapFragments(*self._frags.drawargs(), self._atlas)
        p.restore()
        self.last_drawn = len(on)
        self.last_indices = on
        self.last_boxes = np.column_stack([left, top, sw, sh])


class LayerRenderer:
    """Base of layer renderers: subscribes to a model and settles changes once per frame."""

    z = 0

    def __init__(self, model: LayerModel, view: pg.ViewBox, request_frame: Callable[[], None]):
        self.model = model
        self.view = view
        self.styles = StyleBook()
        self._request_frame = request_frame
        self._pending = ChangeSet(structure=True, style={"visible", "opacity", "filters"})
        self.settle_count = 0
        self._items: list[pg.GraphicsObject] = []
        model.changed.connect(self._on_change)

    @property
    def name(self) -> str:
        """The layer's name."""
        return self.model.name

    def add_item(self, item: pg.GraphicsObject, z: float = 0.0) -> None:
        """Put one of this layer's items in the view (bounds ignored for auto-range)."""
        item.setZValue(self.z + z)
        self.view.addItem(item, ignoreBounds=True)
        self._items.append(item)

    def items(self) -> list[pg.GraphicsObject]:
        """The pyqtgraph items this layer draws with."""
        return list(self._items)

    def _on_change(self, change: LayerChange) -> None:
        self._pending.merge(change)
        self._request_frame()

    @property
    def dirty(self) -> bool:
        """Whether changes wait to be drawn."""
        return bool(self._pending)

    def mark_dirty(self) -> None:
        """Force a redraw of this layer's data on the next frame."""
        self._pending.structure = True
        self._request_frame()

    def settle(self) -> bool:
        """Bring the items up to date with the model; True when anything changed."""
        if not self._pending:
            return False
        changes = self._pending.take()
        if changes.ids or changes.structure:
            self.apply_data(changes)
        if changes.style:
            self.apply_style(changes.style)
        self.settle_count += 1
        return True

    def apply_data(self, changes: ChangeSet) -> None:
        """Recompute what the changed features look like."""
        raise NotImplementedError

    def apply_style(self, props: set[str]) -> None:
        """Apply layer-wide style: visibility, opacity (filters are per layer)."""
        if "visible" in props:
            for item in self._items:
                item.setVisible(self.model.visible)
        if "opacity" in props:
            for item in self._items:
                item.setOpacity(self.model.opacity)
        if "filters" in props:
            self.apply_filters()

    def apply_filters(self) -> None:
        """Show only the features that pass the model's filters."""
        self.mark_dirty()

    def view_scale_changed(self, metres_per_pixel: float) -> None:
        """The zoom changed (not called on pans)."""

    def pick(self, x: float, y: float, metres_per_pixel: float) -> list[int]:
        """Ids under a click at (x, y) metres (a cluster gives all its members)."""
        if not self.model.visible:
            return []
        fid = self.model.nearest(x, y, 8.0 * metres_per_pixel)
        return [] if fid is None else [fid]

    def select_area(self, area: BaseGeometry) -> list[int]:
        """Ids of shown features inside a polygon in metres."""
        return self.model.ids_in(area) if self.model.visible else []

    def tooltip(self, ids: list[int]) -> str:
        """Hover text for some features of this layer."""
        if not ids:
            return ""
        lines = [self.model.describe(i) for i in ids[:8]]
        if len(ids) > 8:
            lines.append(f"… and {len(ids) - 8} more")
        return "\n".join(lines)

    def detach(self) -> None:
        """Leave the view and stop listening to the model."""
        self.model.changed.disconnect(self._on_change)
        for item in self._items:
            self.view.removeItem(item)
        self._items.clear()


class PointRenderer(LayerRenderer):
    """A point layer in one scatter item, restyling only the rows a delta names.

    Subclasses say how rows look as :meth:`style_codes`: one small table of
    looks and an index into it per row, so restyling is a few numpy lookups.
    """

    #: Above this share of changed rows a full rebuild is cheaper than row updates.
    full_rebuild_share = 0.25

    def __init__(self, model: LayerModel, view: pg.ViewBox, request_frame: Callable[[], None]):
        super().__init__(model, view, request_frame)
        self.scatter = FastScatter(pxMode=True, hoverable=False, tip=None)
        self.add_item(self.scatter)
        self.full_rebuilds = 0
        self.row_updates = 0

    def style_codes(self, rows: np.ndarray) -> tuple[np.ndarray, list[Style]]:
        """A style code per table row and the table of (symbol, size, pen, brush) looks."""
        raise NotImplementedError

    def density_classes(self, rows: np.ndarray) -> np.ndarray | None:
        """Per-row class for the density level of detail (None: always draw symbols)."""
        return None

    def point_styles(
        self, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Symbols, sizes, pens and brushes (object arrays) of table rows."""
        codes, table = self.style_codes(rows)
        sym = np.empty(len(table), dtype=object)
        pen = np.empty(len(table), dtype=object)
        brush = np.empty(len(table), dtype=object)
        size = np.zeros(len(table))
        for i, (s, z, p, b) in enumerate(table):
            sym[i], size[i], pen[i], brush[i] = s, z, p, b
        return sym[codes], size[codes], pen[codes], brush[codes]

    def apply_data(self, changes: ChangeSet) -> None:
        """Move/restyle the named rows, or rebuild when rows were added or removed."""
        table = self.model.table
        n = len(table)
        if changes.structure or len(self.scatter.data) != n:
            self._rebuild()
        else:
            rows = table.rows_of(changes.ids)
            if len(rows) > self.full_rebuild_share * n:
                self._rebuild()
            elif len(rows):
                t = table.rows
                codes, looks = self.style_codes(rows)
                vis = self.model.shown_mask()[rows]
                self.scatter.update_styled(
                    rows, t["x"][rows], t["y"][rows], codes, looks, vis, self.density_classes(rows)
                )
                self.row_updates += 1
        self.after_data()

    def _rebuild(self) -> None:
        t = self.model.table.rows
        rows = np.arange(len(t))
        codes, looks = self.style_codes(rows)
        self.scatter.set_styled(
            t["x"].copy(),
            t["y"].copy(),
            codes,
            looks,
            self.model.shown_mask(),
            t["id"].copy(),
            self.density_classes(rows),
        )
        self.full_rebuilds += 1

    def after_data(self) -> None:
        """Hook for items derived from the points (labels, trails)."""

    def apply_filters(self) -> None:
        """Filters only toggle point visibility: no geometry is recomputed."""
        if len(self.scatter.data) == len(self.model.table):
            self.scatter.setPointsVisible(self.model.shown_mask())
            self.after_data()
        else:
            self.mark_dirty()
