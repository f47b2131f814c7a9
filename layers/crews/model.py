"""The crews layer model: position, heading, status, staleness and trails (no Qt)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from layers import palette
from layers.base import LayerChange, LayerModel, Record, to_epoch

#: A crew not heard from for longer than this fades and says when it was last seen.
STALE_AFTER_S = 120.0
#: Positions kept per crew for its trail (the current one included).
TRAIL_LENGTH = 8


class CrewLayerModel(LayerModel):
    """Crews at their last reported position; filter by status."""

    name = "crews"
    title = "Crews"
    dtype = np.dtype(
        [
            ("id", "i8"),
            ("x", "f8"),
            ("y", "f8"),
            ("lon", "f8"),
            ("lat", "f8"),
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

    def _fill_row(self, row: int, record: Record, new: bool) -> None:
        lon, lat = record.get("last_lon"), record.get("last_lat")
        lon = None if lon is None else float(lon)
        lat = None if lat is None else float(lat)
        heading = record.get("last_heading")
        heading = float("nan") if heading is None else float(heading) % 360.0
        seen = to_epoch(record.get("last_seen_at"))
        rows = self.table.rows
        old_x, old_y = (float("nan"), float("nan")) if new else (rows["x"][row], rows["y"][row])
        self._set_lon_lat(row, lon, lat, prefix="", defer=False)  # the trail needs x/y now
        self._set_code(row, "status", str(record.get("status") or "available"))
        rows["heading"][row] = heading
        rows["seen_ts"][row] = seen
        x, y = rows["x"][row], rows["y"][row]
        if new:
            rows["trail_n"][row] = 0
        moved = math.isfinite(x) and not (x == old_x and y == old_y)
        if moved:
            n = int(rows["trail_n"][row])
            trail = rows["trail"][row]
            if n == TRAIL_LENGTH:
                trail[:-1] = trail[1:].copy()
                n -= 1
            trail[n] = (x, y)
            rows["trail_n"][row] = n + 1
        stale, minutes = self._staleness(seen, self.clock().timestamp())
        rows["stale"][row] = stale
        rows["stale_min"][row] = minutes

    @staticmethod
    def _staleness(seen: float, now: float) -> tuple[bool, int]:
        if not math.isfinite(seen):
            return True, -1
        age = now - seen
        return (True, int(age // 60)) if age > STALE_AFTER_S else (False, -1)

    def tick(self) -> None:
        """Fade crews that went quiet and advance "last seen N min ago"; announce only those."""
        rows = self.table.rows
        if not len(rows):
            return
        now = self.clock().timestamp()
        age = now - rows["seen_ts"]
        known = np.isfinite(age)
        stale = ~known | (age > STALE_AFTER_S)
        minutes = np.where(known & stale, np.floor(np.where(known, age, 0) / 60.0), -1).astype(
            np.int32
        )
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
