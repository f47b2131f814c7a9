"""A uniform grid index over points, so a view query touches only the points near it.

Pure numpy (no Qt). Points are sorted by the grid cell they fall in, row-major,
so the cells of one grid row that a rectangle spans are one contiguous run of
the sorted order: a query is one slice per grid row of the rectangle, then an
exact test on the few candidates. Building it is one ``argsort``; it is built
lazily and rebuilt only when points move (status changes never move points).
"""

from __future__ import annotations

import math

import numpy as np

#: Aim for about this many points per grid cell.
POINTS_PER_CELL = 24
#: Most grid cells along one side (bounds the ``starts`` array to ~16M entries).
MAX_SIDE = 4096


class GridIndex:
    """Rows of points bucketed in a uniform grid over their extent.

    ``x`` and ``y`` are kept by reference: the owner must call :meth:`invalidate`
    (or build a new index) when positions change. Points with a NaN coordinate
    are never returned.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        if self.x.shape != self.y.shape or self.x.ndim != 1:
            raise ValueError("x and y must be 1-d arrays of one length")
        self._built = False
        self.builds = 0
        self._sat: np.ndarray | None = None
        self._weights: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def invalidate(self) -> None:
        """Positions changed: rebuild on the next query."""
        self._built = False
        self._weights = self._sat = None

    def _keys(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Grid cell of rows (all when None); points without a position get no cell (-1)."""
        x = self.x if rows is None else self.x[rows]
        y = self.y if rows is None else self.y[rows]
        ok = np.isfinite(x) & np.isfinite(y)
        with np.errstate(invalid="ignore"):
            ci = np.clip(np.nan_to_num((x - self.x0) / self.cw).astype(np.int64), 0, self.nx - 1)
            cj = np.clip(np.nan_to_num((y - self.y0) / self.ch).astype(np.int64), 0, self.ny - 1)
        return np.where(ok, cj * self.nx + ci, -1)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(xmin, ymin, xmax, ymax) of the points with a position, or None."""
        if not self._built:
            self._build()
        return (self.x0, self.y0, self.x1, self.y1) if self._finite else None

    # -- counts for level-of-detail decisions -------------------------------------------------

    @property
    def has_weights(self) -> bool:
        """Whether per-cell counts are set (a rebuild drops them)."""
        return self._built and self._weights is not None

    def set_weights(self, mask: np.ndarray) -> None:
        """Count the points of ``mask`` per cell, for :meth:`estimate`."""
        if not self._built:
            self._build()
        keys = self._keys()
        keys = keys[mask & (keys >= 0)]
        self._weights = np.bincount(keys, minlength=self.nx * self.ny).astype(np.int64)
        self._sat = None

    def adjust_weights(self, rows: np.ndarray, delta: np.ndarray) -> None:
        """Rows entered (+1) or left (-1) the counted set: O(rows)."""
        if self._weights is None or not len(rows):
            return
        keys = self._keys(rows)
        ok = keys >= 0
        np.add.at(self._weights, keys[ok], np.asarray(delta)[ok])
        self._sat = None

    def estimate(self, x0: float, y0: float, x1: float, y1: float) -> int:
        """Counted points in the grid cells the rectangle meets (an upper bound), in O(1)."""
        if not self.has_weights:
            raise RuntimeError("estimate needs set_weights first")
        if not self._finite or x1 < self.x0 or x0 > self.x1 or y1 < self.y0 or y0 > self.y1:
            return 0
        if self._sat is None:
            assert self._weights is not None
            grid = self._weights.reshape(self.ny, self.nx)
            sat = np.zeros((self.ny + 1, self.nx + 1), dtype=np.int64)
            sat[1:, 1:] = grid.cumsum(axis=0).cumsum(axis=1)
            self._sat = sat
        i0 = int(np.clip((x0 - self.x0) // self.cw, 0, self.nx - 1))
        i1 = int(np.clip((x1 - self.x0) // self.cw, 0, self.nx - 1)) + 1
        j0 = int(np.clip((y0 - self.y0) // self.ch, 0, self.ny - 1))
        j1 = int(np.clip((y1 - self.y0) // self.ch, 0, self.ny - 1)) + 1
        s = self._sat
        return int(s[j1, i1] - s[j0, i1] - s[j1, i0] + s[j0, i0])

    def _build(self) -> None:
        x, y = self.x, self.y
        ok = np.isfinite(x) & np.isfinite(y)
        self._finite = int(ok.sum())
        if self._finite:
            self.x0, self.x1 = float(x[ok].min()), float(x[ok].max())
            self.y0, self.y1 = float(y[ok].min()), float(y[ok].max())
        else:
            self.x0 = self.x1 = self.y0 = self.y1 = 0.0
        w = max(self.x1 - self.x0, 1e-9)
        h = max(self.y1 - self.y0, 1e-9)
        cells = max(1.0, self._finite / POINTS_PER_CELL)
        side = math.sqrt(w * h / cells)
        self.nx = int(min(MAX_SIDE, max(1, math.ceil(w / side))))
        self.ny = int(min(MAX_SIDE, max(1, math.ceil(h / side))))
        self.cw = w / self.nx
        self.ch = h / self.ny
        # Points without a position sort after every cell and are never in a range.
        key = self._keys()
        key[key < 0] = self.nx * self.ny
        self.order = np.argsort(key, kind="stable")
        self.starts = np.searchsorted(key[self.order], np.arange(self.nx * self.ny + 1))
        self.xs = x[self.order]
        self.ys = y[self.order]
        self._built = True
        self._weights = self._sat = None
        self.builds += 1

    def query(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Rows (ascending) with ``x0 <= x <= x1`` and ``y0 <= y <= y1`` (and ``mask``)."""
        if not self._built:
            self._build()
        n = len(self.x)
        if not self._finite or x1 < self.x0 or x0 > self.x1 or y1 < self.y0 or y0 > self.y1:
            return np.zeros(0, dtype=np.int64)
        if x0 <= self.x0 and x1 >= self.x1 and y0 <= self.y0 and y1 >= self.y1:
            # The rectangle holds every point: one pass, already in row order.
            ok = np.isfinite(self.x) & np.isfinite(self.y)
            if mask is not None:
                ok &= mask
            return np.flatnonzero(ok)
        i0 = int(np.clip((x0 - self.x0) // self.cw, 0, self.nx - 1))
        i1 = int(np.clip((x1 - self.x0) // self.cw, 0, self.nx - 1))
        j0 = int(np.clip((y0 - self.y0) // self.ch, 0, self.ny - 1))
        j1 = int(np.clip((y1 - self.y0) // self.ch, 0, self.ny - 1))
        rows_j = np.arange(j0, j1 + 1)
        lo = self.starts[rows_j * self.nx + i0]
        hi = self.starts[rows_j * self.nx + i1 + 1]
        total = int((hi - lo).sum())
        if not total:
            return np.zeros(0, dtype=np.int64)
        # Positions in sorted order of every candidate: the runs, concatenated.
        lens = hi - lo
        pos = np.repeat(lo - np.cumsum(lens) + lens, lens) + np.arange(total)
        xs, ys = self.xs[pos], self.ys[pos]
        hit = pos[(xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)]
        rows = self.order[hit]
        if mask is not None:
            rows = rows[mask[rows]]
        if len(rows) > n // 8:
            keep = np.zeros(n, dtype=bool)
            keep[rows] = True
            return np.flatnonzero(keep)
        return np.sort(rows)
