"""Tile bookkeeping shared by cached map pictures: zoom levels, tile ranges, an LRU by bytes.

Pure Python (no Qt): the cache holds whatever pictures a renderer makes and
only counts their bytes. A tile is addressed by ``(level, i, j)``: ``level`` is
a zoom seen before (matched within a part in a million, since a pan can jitter
the last bits of the scale), and ``(i, j)`` its square of ``size`` screen
pixels in a grid anchored at the map's origin, so the same tile serves every
pan at that zoom and a pan only renders the squares newly exposed.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: Side of a tile in logical screen pixels.
TILE_PX = 256


@dataclass(frozen=True)
class Level:
    """One zoom: its id and the exact pixels per metre it was first seen at."""

    id: int
    sx: float
    sy: float


class Levels:
    """Zoom levels seen so far, matched within a relative tolerance."""

    def __init__(self, tolerance: float = 1e-6) -> None:
        self.tolerance = tolerance
        self._levels: list[Level] = []
        self._next = 0

    def find(self, sx: float, sy: float) -> Level | None:
        """The known level at this scale, if any."""
        tol = self.tolerance
        for lv in self._levels:
            if abs(lv.sx - sx) <= tol * abs(lv.sx) and abs(lv.sy - sy) <= tol * abs(lv.sy):
                return lv
        return None

    def get(self, sx: float, sy: float) -> Level:
        """The level at this scale, made when new."""
        lv = self.find(sx, sy)
        if lv is None:
            lv = Level(self._next, sx, sy)
            self._next += 1
            self._levels.append(lv)
        return lv

    def drop(self, ids: set[int]) -> None:
        """Forget levels (their tiles were evicted)."""
        self._levels = [lv for lv in self._levels if lv.id not in ids]

    def clear(self) -> None:
        """Forget every level."""
        self._levels.clear()

    def __len__(self) -> int:
        return len(self._levels)

    def __iter__(self) -> Iterator[Level]:
        return iter(list(self._levels))


def tile_range(
    left: float, top: float, right: float, bottom: float, size: int = TILE_PX
) -> tuple[int, int, int, int]:
    """Tile columns i0..i1 and rows j0..j1 (inclusive) covering a rectangle in world pixels."""
    return (
        math.floor(left / size),
        math.floor(top / size),
        math.floor((right - 1e-9) / size),
        math.floor((bottom - 1e-9) / size),
    )


def world_px_rect(
    x0: float, y0: float, x1: float, y1: float, sx: float, sy: float
) -> tuple[float, float, float, float]:
    """A data rectangle in world pixels (x times sx, y times sy), as left, top, right, bottom."""
    us = (x0 * sx, x1 * sx)
    vs = (y0 * sy, y1 * sy)
    return min(us), min(vs), max(us), max(vs)


def tile_data_rect(
    level: Level, i: int, j: int, size: int = TILE_PX
) -> tuple[float, float, float, float]:
    """The data rectangle (xmin, ymin, xmax, ymax) a tile covers."""
    xa, xb = i * size / level.sx, (i + 1) * size / level.sx
    ya, yb = j * size / level.sy, (j + 1) * size / level.sy
    return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)


TileKey = tuple[int, int, int]


class TileCache:
    """Pictures by ``(level, i, j)``, least recently used dropped past a byte budget.

    A value of ``None`` is a tile known to be empty: it costs nothing and is
    never drawn. ``on_evict`` hears each key dropped for the budget.
    """

    def __init__(self, budget_bytes: int, on_evict: Callable[[TileKey], None] | None = None):
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[TileKey, tuple[Any, int]] = OrderedDict()
        self.bytes = 0
        self.on_evict = on_evict
        self.renders = 0
        self.hits = 0
        self.evictions = 0

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: TileKey) -> Any:
        """The picture (None when empty); KeyError when absent. Marks it recently used."""
        value, _ = self._items[key]
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def peek(self, key: TileKey) -> Any:
        """The picture without touching its recency (None when absent or empty)."""
        item = self._items.get(key)
        return None if item is None else item[0]

    def put(self, key: TileKey, value: Any, nbytes: int) -> None:
        """Store a picture, then drop the least recently used past the budget."""
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._items[key] = (value, nbytes)
        self.bytes += nbytes
        self.renders += 1
        while self.bytes > self.budget_bytes and len(self._items) > 1:
            k, (_, b) = self._items.popitem(last=False)
            self.bytes -= b
            self.evictions += 1
            if self.on_evict is not None:
                self.on_evict(k)

    def __iter__(self) -> Iterator[TileKey]:
        """Keys, least recently used first (a copy: safe to change the cache meanwhile)."""
        return iter(list(self._items))

    def discard(self, key: TileKey) -> None:
        """Drop one tile if present."""
        item = self._items.pop(key, None)
        if item is not None:
            self.bytes -= item[1]

    def clear(self) -> None:
        """Drop every tile."""
        self._items.clear()
        self.bytes = 0
