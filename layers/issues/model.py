"""The open-issues layer model: category, status, age band, and grid clustering (no Qt)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layers import palette
from layers.base import POINT_FIELDS, Batch, LayerChange, LayerModel, to_epoch


@dataclass(frozen=True)
class Clusters:
    """Features grouped by a square grid: centres, counts and each row's cluster."""

    x: np.ndarray
    y: np.ndarray
    count: np.ndarray
    #: For each row given: the index of its cluster.
    label: np.ndarray
    #: The rows that were clustered (indices into the feature table).
    rows: np.ndarray

    def members(self, k: int) -> np.ndarray:
        """Table rows in cluster ``k``."""
        return self.rows[self.label == k]


def grid_clusters(x: np.ndarray, y: np.ndarray, cell: float) -> tuple[np.ndarray, ...]:
    """Group points by a ``cell``-sized square grid anchored at the origin.

    The grid is fixed in map metres, so panning never regroups; only a change
    of cell size (a zoom) does. Returns (centre x, centre y, count, label).
    """
    if cell <= 0:
        raise ValueError("cell size must be positive")
    if len(x) == 0:
        e = np.zeros(0)
        return e, e, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ix = np.floor(x / cell).astype(np.int64)
    iy = np.floor(y / cell).astype(np.int64)
    key = ix * 4_294_967_296 + iy
    _, label, count = np.unique(key, return_inverse=True, return_counts=True)
    cx = np.bincount(label, weights=x) / count
    cy = np.bincount(label, weights=y) / count
    return cx, cy, count, label


class IssueLayerModel(LayerModel):
    """Open issues as points; closed ones leave the layer. Filters by category and status."""

    name = "issues"
    title = "Open issues"
    dtype = np.dtype(
        [
            *POINT_FIELDS,
            ("category_code", "i2"),
            ("status_code", "i2"),
            ("requested_ts", "f8"),
            ("age_band", "i1"),
        ]
    )
    filter_fields = ("category", "status")

    def _accepted(self, batch: Batch) -> np.ndarray:
        """Closed issues leave the layer (judged on the merged record)."""
        status = batch.values("status", np.arange(batch.n))
        return np.array([str(v or "open") != "closed" for v in status], dtype=bool)

    def _fill(self, batch: Batch) -> None:
        """Fill columns for the whole batch; project only new or moved issues."""
        which_t = batch.touched("requested_at")
        ts = batch.converted("requested_at", which_t, to_epoch)
        which, lon, lat = self._positions(batch)
        self._place(batch)
        self._set_positions(batch, which, lon, lat)
        self._set_codes(batch, "category", "Other")
        self._set_codes(batch, "status", "open")
        t = self.table.rows
        keep = batch.ok[which_t]
        t["requested_ts"][batch.rows[which_t[keep]]] = ts[keep]
        # Every filled issue's band follows the clock now, as a fill always set it.
        rows = batch.rows[batch.ok]
        t["age_band"][rows] = self._bands(t["requested_ts"][rows], self.clock().timestamp())
        self._store(batch)

    @staticmethod
    def _bands(ts: np.ndarray, now: float) -> np.ndarray:
        """Age band of request times (0 when unknown), as :func:`palette.age_band` gives."""
        age = now - ts
        bands = np.zeros(len(ts), dtype=np.int8)
        for i, band in enumerate(palette.ISSUE_AGE_BANDS[:-1]):
            bands[age >= band.max_age_s] = i + 1
        bands[~np.isfinite(age)] = 0
        return bands

    def tick(self) -> None:
        """Move issues into older age bands; announces only those that moved."""
        rows = self.table.rows
        if not len(rows):
            return
        bands = self._bands(rows["requested_ts"], self.clock().timestamp())
        moved = bands != rows["age_band"]
        if moved.any():
            rows["age_band"][moved] = bands[moved]
            ids = frozenset(int(i) for i in rows["id"][moved])
            self.changed.emit(LayerChange(self.name, ids))

    def clusters(self, cell: float) -> Clusters:
        """Shown issues grouped by a grid of ``cell`` metres."""
        rows_idx = np.flatnonzero(self.shown_mask())
        rows = self.table.rows
        cx, cy, count, label = grid_clusters(rows["x"][rows_idx], rows["y"][rows_idx], cell)
        return Clusters(cx, cy, count, label, rows_idx)

    def age_seconds(self, fid: int) -> float:
        """How long an issue has waited, by the model's clock."""
        ts = self.table.rows["requested_ts"][self.table.row(fid)]
        return self.clock().timestamp() - float(ts)

    def _legend_values(self, field_name: str) -> Sequence[str]:
        return tuple(palette.ISSUE_STATUSES) if field_name == "status" else ()

    def _legend_look(self, field_name: str, value: str) -> tuple[str, str, str, bool]:
        if field_name == "status":
            s = palette.issue_status_style(value)
            return s.label, s.colour, "o", s.filled
        return value, palette.INK, palette.issue_symbol(value), True

    def describe(self, fid: int) -> str:
        """``Pothole · 12 Main St · open 3 h``."""
        rec = self.records[fid]
        age = self.age_seconds(fid)
        if not np.isfinite(age):
            waited = "age unknown"
        elif age < 3600:
            waited = f"{max(0, int(age // 60))} min"
        elif age < 2 * 86400:
            waited = f"{int(age // 3600)} h"
        else:
            waited = f"{int(age // 86400)} d"
        parts = (str(rec.get("category") or "Issue"), rec.get("address"), f"waiting {waited}")
        return f"#{fid} " + " · ".join(str(p) for p in parts if p)
