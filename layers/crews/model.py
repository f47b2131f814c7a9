"""The crews layer model: position, heading, status, staleness and trails (no Qt)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from layers import palette
from layers.base import POINT_FIELDS, Batch, LayerChange, LayerModel, to_epoch

#: A crew not heard from for longer than this fades and says when it was last seen.
STALE_AFTER_S = 120.0
#: Positions kept per crew for its trail (the current one included).
TRAIL_LENGTH = 8
#: Whose label wins when labels would overlap on the map (lower first): crews at
#: work, then those free to send, then those off shift; other statuses last.
LABEL_RANK = {"en_route": 0, "on_site": 0, "available": 1, "off_shift": 2}
UNKNOWN_LABEL_RANK = 3


class CrewLayerModel(LayerModel):
    """Crews at their last reported position; filter by status."""

    name = "crews"
    title = "Crews"
    dtype = np.dtype(
        [
            *POINT_FIELDS,
            ("heading", "f8"),
            ("status_code", "i2"),
            ("seen_ts", "f8"),
            ("stale", "?"),
            #: Whole minutes since last seen (for the label), -1 when fresh.
            ("stale_min", "i4"),
            ("trail", "f8", (TRAIL_LENGTH, 2)),
            ("trail_n", "i2"),
        ]
    )
    filter_fields = ("status",)

    def _fill(self, batch: Batch) -> None:
        """Fill columns for the whole batch; each crew that moved adds a point to its trail."""
        which_h = batch.touched("last_heading")
        heading = batch.floats("last_heading", which_h) % 360.0
        which_s = batch.touched("last_seen_at")
        seen = batch.converted("last_seen_at", which_s, to_epoch)
        which, lon, lat = self._positions(batch, "last_lon", "last_lat")
        self._place(batch)
        t = self.table.rows
        placed = which[batch.ok[which]]
        rows = batch.rows[placed]
        fresh = batch.new[placed]
        old_x = np.where(fresh, np.nan, t["x"][rows])
        old_y = np.where(fresh, np.nan, t["y"][rows])
        self._set_positions(batch, which, lon, lat)
        x, y = t["x"][rows], t["y"][rows]
        moved = np.isfinite(x) & ~((x == old_x) & (y == old_y))
        self._push_trail(rows[moved], x[moved], y[moved])
        self._set_codes(batch, "status", "available")
        keep = batch.ok[which_h]
        t["heading"][batch.rows[which_h[keep]]] = heading[keep]
        keep = batch.ok[which_s]
        t["seen_ts"][batch.rows[which_s[keep]]] = seen[keep]
        # Staleness of every filled crew follows the clock now, as a fill always set it.
        filled = batch.rows[batch.ok]
        stale, minutes = self._staleness(t["seen_ts"][filled], self.clock().timestamp())
        t["stale"][filled] = stale
        t["stale_min"][filled] = minutes
        self._store(batch)

    def _push_trail(self, rows: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Append a position to some crews' trails, dropping the oldest from full ones."""
        if not len(rows):
            return
        t = self.table.rows
        n = t["trail_n"][rows].astype(np.int64)
        full = n >= TRAIL_LENGTH
        if full.any():
            fr = rows[full]
            t["trail"][fr, :-1] = t["trail"][fr, 1:]  # fancy indexing reads a copy first
            n[full] = TRAIL_LENGTH - 1
        t["trail"][rows, n, 0] = x
        t["trail"][rows, n, 1] = y
        t["trail_n"][rows] = n + 1

    @staticmethod
    def _staleness(seen: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Per crew: stale (never seen, or quiet too long), and whole minutes quiet (-1: n/a)."""
        age = now - seen
        known = np.isfinite(age)
        stale = ~known | (age > STALE_AFTER_S)
        minutes = np.where(known & stale, np.floor_divide(np.where(known, age, 0.0), 60.0), -1)
        return stale, minutes.astype(np.int32)

    def tick(self) -> None:
        """Fade crews that went quiet and advance "last seen N min ago"; announce only those."""
        rows = self.table.rows
        if not len(rows):
            return
        stale, minutes = self._staleness(rows["seen_ts"], self.clock().timestamp())
        moved = (stale != rows["stale"]) | (minutes != rows["stale_min"])
        if moved.any():
            rows["stale"][moved] = stale[moved]
            rows["stale_min"][moved] = minutes[moved]
            self.changed.emit(LayerChange(self.name, frozenset(int(i) for i in rows["id"][moved])))

    def trails(
        self, rows_idx: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All trails as one polyline: x, y and a connect array (False ends a trail)."""
        rows = self.table.rows
        if rows_idx is None:
            rows_idx = np.arange(len(rows))
        n = rows["trail_n"][rows_idx].astype(np.int64)
        keep = n >= 2
        rows_idx, n = rows_idx[keep], n[keep]
        if not len(rows_idx):
            e = np.zeros(0)
            return e, e, np.zeros(0, dtype=bool)
        pts = rows["trail"][rows_idx]  # (k, L, 2)
        take = np.arange(TRAIL_LENGTH)[None, :] < n[:, None]
        xy = pts[take]
        connect = np.ones(len(xy), dtype=bool)
        ends = np.cumsum(n) - 1
        connect[ends] = False
        return xy[:, 0], xy[:, 1], connect

    def label_rank(self, rows_idx: np.ndarray) -> np.ndarray:
        """Per table row, how much its label matters (lower wins; see :data:`LABEL_RANK`)."""
        names = self.vocab["status"].names
        lut = np.array([LABEL_RANK.get(n, UNKNOWN_LABEL_RANK) for n in names] or [0], np.int64)
        codes = self.table.rows["status_code"][rows_idx].astype(np.int64)
        return lut[codes] if len(names) else np.full(len(codes), UNKNOWN_LABEL_RANK, np.int64)

    def label(self, fid: int) -> str:
        """Name, status letters and, when stale, "last seen N min ago"."""
        rec = self.records[fid]
        rows = self.table.rows
        r = self.table.row(fid)
        style = palette.crew_status_style(str(rec.get("status") or ""))
        text = f"{rec.get('name') or fid} · {style.letter or style.label}"
        if rows["stale"][r]:
            m = int(rows["stale_min"][r])
            text += " · never seen" if m < 0 else f" · last seen {m} min ago"
        return text

    def _legend_values(self, field_name: str) -> Sequence[str]:
        return tuple(palette.CREW_STATUSES)

    def _legend_look(self, field_name: str, value: str) -> tuple[str, str, str, bool]:
        s = palette.crew_status_style(value)
        return f"{s.label} ({s.letter})", s.colour, "crew_arrow", s.filled

    def describe(self, fid: int) -> str:
        """The crew's label (name, status, staleness)."""
        return self.label(fid)
