"""The density picture of a crowded point layer, tiled per zoom and updated in place.

At city zoom a large point layer is drawn as a grid of small screen cells, each
coloured by the most severe class among its points (for assets: the status)
and brighter where more points fall. The grid is cut into tiles like the roads
(:mod:`layers.tiles`): a tile keeps, per cell, a count of points per class and
its pixels in a numpy array that a ``QImage`` paints from directly. A burst of
class changes adjusts the counts of the cells its points are in and repaints
those cells' pixels, in every cached tile: the work follows the number of
changed points, not the number of points. Moves, filters and new colours drop
the tiles; they are rebuilt (through the grid index) when next shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pyqtgraph.Qt import QtCore, QtGui

from layers.spatial_index import GridIndex
from layers.tiles import TILE_PX, Level, Levels, TileCache, TileKey, tile_data_rect, tile_range

#: Side of a density cell in screen pixels.
DENSITY_CELL_PX = 2
#: Cells along a tile's side.
CELLS = TILE_PX // DENSITY_CELL_PX
#: Alpha of a cell holding 1, 2-4 and 5+ points: density reads as brightness.
DENSITY_ALPHA = (150, 205, 255)


@dataclass
class DensityTile:
    """One tile: per-cell counts per class, and the pixels painted from them."""

    counts: np.ndarray  # (CELLS * CELLS, classes) uint32
    pixels: np.ndarray  # (side, side) uint32, premultiplied ARGB
    image: QtGui.QImage  # paints from ``pixels`` (keep both alive together)
    #: Cells whose counts changed since their pixels were last coloured.
    dirty: list[np.ndarray] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Memory held."""
        return int(self.counts.nbytes + self.pixels.nbytes)


class DensityTiles:
    """Density tiles for one point set (positions, a visibility mask, a class per point)."""

    #: Bytes of density tiles kept (~450 KB a tile at 1x with five classes).
    cache_budget_bytes = 160 * 1024 * 1024

    def __init__(self) -> None:
        self.levels = Levels()
        self.tiles = TileCache(self.cache_budget_bytes, on_evict=self._evicted)
        self._by_level: dict[int, set[tuple[int, int]]] = {}
        self.rank = np.zeros(0, dtype=np.uint8)
        self._lut = np.zeros(1, dtype=np.uint32)
        self._dpr = 0.0
        self.builds = 0
        self.cell_updates = 0
        self.last_tiles = 0
        self._last_keys: list[TileKey] = []

    # -- look ----------------------------------------------------------------------------------

    def set_look(self, rank: np.ndarray, colours: Sequence[QtGui.QColor]) -> None:
        """Rank of each class (higher wins a cell; 0 never drawn) and its colour."""
        rank = np.asarray(rank, dtype=np.uint8)
        lut = [0]
        by_rank = {int(rank[i]): colours[i] for i in range(min(len(rank), len(colours)))}
        for r in range(1, int(rank.max(initial=0)) + 1):
            col = by_rank.get(r, QtGui.QColor("white"))
            for a in DENSITY_ALPHA:
                # Premultiplied ARGB32, as the QImage format wants it.
                lut.append(
                    (a << 24)
                    | ((col.red() * a // 255) << 16)
                    | ((col.green() * a // 255) << 8)
                    | (col.blue() * a // 255)
                )
        new_lut = np.array(lut, dtype=np.uint32)
        if not np.array_equal(rank, self.rank) or not np.array_equal(new_lut, self._lut):
            self.rank = rank
            self._lut = new_lut
            self.invalidate()

    # -- cache ---------------------------------------------------------------------------------

    def _evicted(self, key: TileKey) -> None:
        cells = self._by_level.get(key[0])
        if cells is not None:
            cells.discard((key[1], key[2]))
            if not cells:
                del self._by_level[key[0]]
                self.levels.drop({key[0]})

    def invalidate(self) -> None:
        """Drop every tile (positions, filters or colours changed)."""
        self.tiles.clear()
        self._by_level.clear()
        self.levels.clear()

    # -- building ------------------------------------------------------------------------------

    @staticmethod
    def _cells(x: np.ndarray, y: np.ndarray, level: Level) -> tuple[np.ndarray, np.ndarray]:
        """Global cell column and row of points at a level (one formula for build and update)."""
        gi = np.floor(x * (level.sx / DENSITY_CELL_PX)).astype(np.int64)
        gj = np.floor(y * (level.sy / DENSITY_CELL_PX)).astype(np.int64)
        return gi, gj

    def _build(
        self,
        level: Level,
        i: int,
        j: int,
        index: GridIndex,
        visible: np.ndarray,
        classes: np.ndarray,
        dpr: float,
    ) -> DensityTile | None:
        x0, y0, x1, y1 = tile_data_rect(level, i, j)
        pad = abs(1.0 / level.sx)  # a hair more: the cell formula decides membership
        rows = index.query(x0 - pad, y0 - pad, x1 + pad, y1 + pad, visible)
        self.builds += 1
        if len(rows):
            gi, gj = self._cells(index.x[rows], index.y[rows], level)
            ci, cj = gi - i * CELLS, gj - j * CELLS
            inside = (ci >= 0) & (ci < CELLS) & (cj >= 0) & (cj < CELLS)
            rows, ci, cj = rows[inside], ci[inside], cj[inside]
        if not len(rows):
            return None
        k = max(len(self.rank), int(classes[rows].max()) + 1)
        flat = (cj * CELLS + ci) * k + classes[rows]
        counts = np.bincount(flat, minlength=CELLS * CELLS * k).astype(np.uint32)
        counts = counts.reshape(CELLS * CELLS, k)
        side = round(TILE_PX * dpr)
        pixels = np.zeros((side, side), dtype=np.uint32)
        tile = DensityTile(counts, pixels, _wrap(pixels, dpr))
        self._paint_cells(tile, np.arange(CELLS * CELLS), full=True)
        return tile

    def _colour(self, counts: np.ndarray) -> np.ndarray:
        """Premultiplied colour of cells from their per-class counts."""
        k = counts.shape[1]
        rank = np.zeros(k, dtype=np.int64)
        n = min(k, len(self.rank))
        rank[:n] = self.rank[:n]
        top = ((counts > 0) * rank[None, :]).max(axis=1)
        total = counts.sum(axis=1)
        level = (total >= 2).astype(np.int64) + (total >= 5)
        code = np.where(top > 0, (top - 1) * len(DENSITY_ALPHA) + level + 1, 0)
        return self._lut[np.minimum(code, len(self._lut) - 1)]

    def _paint_cells(self, tile: DensityTile, cells: np.ndarray, full: bool = False) -> None:
        """Recolour some cells' pixels from their counts."""
        colour = self._colour(tile.counts[cells])
        side = tile.pixels.shape[0]
        f, rem = divmod(side, CELLS)
        if full or rem:
            # Whole tile (or a fractional device pixel ratio): expand every cell.
            grid = self._colour(tile.counts).reshape(CELLS, CELLS)
            rep = (np.arange(side) * CELLS) // side
            tile.pixels[:, :] = grid[rep[:, None], rep[None, :]]
            return
        block = tile.pixels.reshape(CELLS, f, CELLS, f)
        block[cells // CELLS, :, cells % CELLS, :] = colour[:, None, None]

    # -- updates -------------------------------------------------------------------------------

    def update(
        self,
        x: np.ndarray,
        y: np.ndarray,
        old_class: np.ndarray,
        old_on: np.ndarray,
        new_class: np.ndarray,
        new_on: np.ndarray,
    ) -> None:
        """Points at (x, y) (which did not move) changed class or visibility: adjust in place.

        Per cached zoom level, the changes become net count deltas per (tile,
        cell, class) in one sort, each touched tile adds its deltas in one
        indexed write, and its touched cells are queued to be recoloured the
        next time the tile is drawn: work in proportion to the changes.
        """
        if not len(self.tiles):
            return
        changed = (old_on != new_on) | (old_on & (old_class != new_class))
        if not changed.any():
            return
        x, y = x[changed], y[changed]
        old_class, old_on = old_class[changed], old_on[changed]
        new_class, new_on = new_class[changed], new_on[changed]
        kmax = int(max(old_class.max(initial=0), new_class.max(initial=0))) + 1
        for level in self.levels:
            have = self._by_level.get(level.id)
            if have:
                self._update_level(level, have, x, y, old_class, old_on, new_class, new_on, kmax)

    def _update_level(
        self,
        level: Level,
        have: set[tuple[int, int]],
        x: np.ndarray,
        y: np.ndarray,
        old_class: np.ndarray,
        old_on: np.ndarray,
        new_class: np.ndarray,
        new_on: np.ndarray,
        kmax: int,
    ) -> None:
        gi, gj = self._cells(x, y, level)
        ti, tj = gi // CELLS, gj // CELLS
        cell = (gj - tj * CELLS) * CELLS + (gi - ti * CELLS)
        # One address per (tile, cell, class); removals weigh -1, additions +1.
        ti0, tj0 = int(ti.min()), int(tj.min())
        rows_t = int(tj.max()) - tj0 + 1
        tcode = (ti - ti0) * rows_t + (tj - tj0)
        span = CELLS * CELLS * kmax
        addr = np.concatenate(
            [
                tcode[old_on] * span + cell[old_on] * kmax + old_class[old_on],
                tcode[new_on] * span + cell[new_on] * kmax + new_class[new_on],
            ]
        )
        if not len(addr):
            return
        weight = np.concatenate(
            [-np.ones(int(old_on.sum()), np.int64), np.ones(int(new_on.sum()), np.int64)]
        )
        order = np.argsort(addr)
        a_s = addr[order]
        starts = np.flatnonzero(np.concatenate(([True], a_s[1:] != a_s[:-1])))
        uniq = a_s[starts]
        delta = np.add.reduceat(weight[order], starts)
        keep = delta != 0
        uniq, delta = uniq[keep], delta[keep]
        if not len(uniq):
            return
        t_of = uniq // span
        cuts = np.flatnonzero(np.concatenate(([True], t_of[1:] != t_of[:-1], [True])))
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            t = int(t_of[a])
            i, j = ti0 + t // rows_t, tj0 + t % rows_t
            if (i, j) not in have:
                continue
            key = (level.id, i, j)
            tile = self.tiles.peek(key)
            if tile is None:
                # An empty tile that gains points: rebuild it when next shown.
                if (delta[a:b] > 0).any():
                    self.tiles.discard(key)
                    have.discard((i, j))
                continue
            local = uniq[a:b] - t * span
            c, cls = local // kmax, local % kmax
            k = tile.counts.shape[1]
            if kmax > k:
                grown = np.zeros((tile.counts.shape[0], kmax), dtype=np.uint32)
                grown[:, :k] = tile.counts
                tile.counts = grown
                k = kmax
            flat = tile.counts.reshape(-1)
            idx = c * k + cls
            flat[idx] = (flat[idx].astype(np.int64) + delta[a:b]).astype(np.uint32)
            tile.dirty.append(c)
            self.cell_updates += b - a

    # -- painting ------------------------------------------------------------------------------

    def paint(
        self,
        p: QtGui.QPainter,
        t: QtGui.QTransform,
        area: QtCore.QRectF,
        index: GridIndex,
        visible: np.ndarray,
        classes: np.ndarray,
        dpr: float,
    ) -> int:
        """Blit the tiles covering ``area`` (data units), building missing ones; tiles drawn."""
        if dpr != self._dpr:
            self.invalidate()
            self._dpr = dpr
        level = self.levels.get(t.m11(), t.m22())
        have = self._by_level.setdefault(level.id, set())
        us = (area.left() * level.sx, area.right() * level.sx)
        vs = (area.top() * level.sy, area.bottom() * level.sy)
        i0, j0, i1, j1 = tile_range(min(us), min(vs), max(us), max(vs))
        ox, oy = round(t.dx()), round(t.dy())
        p.save()
        p.resetTransform()
        drawn = 0
        self._last_keys = []
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                key = (level.id, i, j)
                self._last_keys.append(key)
                if key in self.tiles:
                    tile = self.tiles.get(key)
                else:
                    tile = self._build(level, i, j, index, visible, classes, dpr)
                    self.tiles.put(key, tile, 0 if tile is None else tile.nbytes)
                    have.add((i, j))
                if tile is not None:
                    if tile.dirty:
                        self._paint_cells(tile, np.unique(np.concatenate(tile.dirty)))
                        tile.dirty.clear()
                    p.drawImage(QtCore.QPointF(i * TILE_PX + ox, j * TILE_PX + oy), tile.image)
                    drawn += 1
        p.restore()
        self.last_tiles = drawn
        return drawn

    def flush(self) -> None:
        """Recolour every cached tile's changed cells now (painting does it lazily)."""
        for key in self.tiles:
            tile = self.tiles.peek(key)
            if tile is not None and tile.dirty:
                self._paint_cells(tile, np.unique(np.concatenate(tile.dirty)))
                tile.dirty.clear()

    def recompute(
        self,
        key: TileKey,
        index: GridIndex,
        visible: np.ndarray,
        classes: np.ndarray,
    ) -> DensityTile | None:
        """A cached tile's content computed from scratch (checks the in-place updates)."""
        level = next(lv for lv in self.levels if lv.id == key[0])
        return self._build(level, key[1], key[2], index, visible, classes, self._dpr or 1.0)

    def classes_shown(self) -> set[int]:
        """Ranks (not classes) that top at least one cell of the tiles last drawn."""
        out: set[int] = set()
        k = len(self.rank)
        for key in self._last_keys:
            tile = self.tiles.peek(key)
            if tile is None:
                continue
            c = tile.counts
            rank = np.zeros(c.shape[1], dtype=np.int64)
            rank[: min(k, c.shape[1])] = self.rank[: min(k, c.shape[1])]
            top = ((c > 0) * rank[None, :]).max(axis=1)
            out |= {int(r) for r in np.unique(top) if r > 0}
        return out


def _wrap(pixels: np.ndarray, dpr: float) -> QtGui.QImage:
    """A QImage painting from a numpy uint32 array (no copy: keep the array alive)."""
    h, w = pixels.shape
    img = QtGui.QImage(pixels.data, w, h, w * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    img.setDevicePixelRatio(dpr)
    return img
