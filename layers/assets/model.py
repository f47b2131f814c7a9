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
