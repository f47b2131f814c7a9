"""The assets layer model: where each asset is, its kind and its status (no Qt)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from layers import palette
from layers.base import POINT_FIELDS, Batch, LayerModel


class AssetLayerModel(LayerModel):
    """Assets as points; filters by ``kind`` and ``status``."""

    name = "assets"
    title = "Assets"
    dtype = np.dtype(
        [
            *POINT_FIELDS,
            ("kind_code", "i2"),
            ("status_code", "i2"),
        ]
    )
    filter_fields = ("kind", "status")

    def _fill(self, batch: Batch) -> None:
        """Fill columns for the whole batch: a few list passes, then fancy-indexed writes.

        Only the columns a record names are recomputed, and only features that
        are new or moved are projected, so a burst of status changes never
        touches pyproj.
        """
        which, lon, lat = self._positions(batch)
        self._place(batch)
        self._set_positions(batch, which, lon, lat)
        self._set_codes(batch, "kind", "unknown")
        self._set_codes(batch, "status", "ok")
        self._store(batch)

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
