"""The assets layer model: where each asset is, its kind and its status (no Qt)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from layers import palette
from layers.base import LayerModel, Record


class AssetLayerModel(LayerModel):
    """Assets as points; filters by ``kind`` and ``status``."""

    name = "assets"
    title = "Assets"
    dtype = np.dtype(
        [
            ("id", "i8"),
            ("x", "f8"),
            ("y", "f8"),
            ("lon", "f8"),
            ("lat", "f8"),
            ("kind_code", "i2"),
            ("status_code", "i2"),
        ]
    )
    filter_fields = ("kind", "status")

    def _fill(self, pending: dict[int, Record], errors: list[str]) -> tuple[set[int], bool]:
        """Vectorised fill: one Python pass to read the records, then column writes.

        Only features that are new or moved are projected, so a burst of
        status changes never touches pyproj.
        """
        nan = float("nan")
        kind_code = self.vocab["kind"].code
        status_code = self.vocab["status"].code
        fids: list[int] = []
        recs: list[Record] = []
        lons: list[float] = []
        lats: list[float] = []
        kinds: list[int] = []
        states: list[int] = []
        for fid, rec in pending.items():
            lon, lat = rec.get("lon"), rec.get("lat")
            try:
                lo = nan if lon is None else float(lon)
                la = nan if lat is None else float(lat)
            except (TypeError, ValueError) as exc:
                errors.append(f"{self.name} record {fid}: {exc!r}")
                continue
            kinds.append(kind_code(str(rec.get("kind") or "unknown")))
            states.append(status_code(str(rec.get("status") or "ok")))
            fids.append(fid)
            recs.append(rec)
            lons.append(lo)
            lats.append(la)
        if not fids:
            return set(), False
        rows_idx, new = self.table.ensure_many(np.array(fids, dtype=np.int64))
        lon, lat = np.array(lons, dtype=float), np.array(lats, dtype=float)
        missing = ~(np.isfinite(lon) & np.isfinite(lat))
        lon[missing] = lat[missing] = nan
        t = self.table.rows
        # NaN never equals NaN: a feature without a position is re-projected (to NaN).
        moved = new | (t["lon"][rows_idx] != lon) | (t["lat"][rows_idx] != lat)
        t["lon"][rows_idx] = lon
        t["lat"][rows_idx] = lat
        t["kind_code"][rows_idx] = kinds
        t["status_code"][rows_idx] = states
        if moved.any():
            self._project_rows(rows_idx[moved])
        self.records.update(zip(fids, recs, strict=True))
        return set(fids), bool(new.any())

    def _fill_row(self, row: int, record: Record, new: bool) -> None:
        kind = str(record.get("kind") or "unknown")
        status = str(record.get("status") or "ok")
        lon, lat = record.get("lon"), record.get("lat")
        if lon is not None:
            lon = float(lon)
        if lat is not None:
            lat = float(lat)
        self._set_lon_lat(row, lon, lat)
        self._set_code(row, "kind", kind)
        self._set_code(row, "status", status)

    def _legend_values(self, field_name: str) -> Sequence[str]:
        return tuple(palette.ASSET_STATUSES) if field_name == "status" else ()

    def _legend_look(self, field_name: str, value: str) -> tuple[str, str, str, bool]:
        if field_name == "status":
            s = palette.asset_status_style(value)
            return s.label, s.colour, "o", s.filled
        return value.replace("_", " "), palette.INK, palette.asset_symbol(value), True

    def describe(self, fid: int) -> str:
        """``Hydrant 12 · Main St · Alarm``."""
        rec = self.records[fid]
        kind = str(rec.get("kind") or "asset").replace("_", " ").capitalize()
        status = palette.asset_status_style(str(rec.get("status") or "ok")).label
        name = rec.get("name")
        return " · ".join(p for p in (f"{kind} {fid}", name, status) if p)
