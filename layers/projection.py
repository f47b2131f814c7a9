"""A local map projection in metres, chosen from the city's extent.

An azimuthal equidistant projection centred on the city keeps distances and
shapes true to well under a part in a thousand across a city (tens of km), so
the canvas can lock its aspect and draw a scale bar in plain metres.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pyproj import CRS, Transformer


class LocalProjection:
    """WGS84 lon/lat to local metres (x east, y north) and back, around one centre."""

    def __init__(self, lon0: float, lat0: float) -> None:
        if not (math.isfinite(lon0) and math.isfinite(lat0)):
            raise ValueError(f"projection centre must be finite, got ({lon0}, {lat0})")
        if not (-180.0 <= lon0 <= 180.0 and -90.0 <= lat0 <= 90.0):
            raise ValueError(f"projection centre out of range: ({lon0}, {lat0})")
        self.lon0 = float(lon0)
        self.lat0 = float(lat0)
        self.crs = CRS.from_proj4(
            f"+proj=aeqd +lat_0={self.lat0} +lon_0={self.lon0} +datum=WGS84 +units=m +no_defs"
        )
        self._fwd = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self._inv = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def __repr__(self) -> str:
        return f"LocalProjection(lon0={self.lon0:.6f}, lat0={self.lat0:.6f})"

    @classmethod
    def for_extent(
        cls, min_lon: float, min_lat: float, max_lon: float, max_lat: float
    ) -> LocalProjection:
        """The projection centred on a lon/lat bounding box."""
        if min_lon > max_lon or min_lat > max_lat:
            raise ValueError("extent minimum exceeds maximum")
        return cls((min_lon + max_lon) / 2.0, (min_lat + max_lat) / 2.0)

    @classmethod
    def for_points(cls, lons: Iterable[float], lats: Iterable[float]) -> LocalProjection:
        """The projection centred on the extent of some lon/lat points (NaNs ignored)."""
        x = np.asarray(list(lons), dtype=float)
        y = np.asarray(list(lats), dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            raise ValueError("no finite points to choose a projection from")
        return cls.for_extent(
            float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())
        )

    @classmethod
    def for_records(cls, records: Sequence[dict[str, Any]]) -> LocalProjection:
        """The projection centred on records with ``lon``/``lat`` (or ``last_lon``/``last_lat``)."""
        lons = [r.get("lon", r.get("last_lon")) for r in records]
        lats = [r.get("lat", r.get("last_lat")) for r in records]
        return cls.for_points(
            (float("nan") if v is None else float(v) for v in lons),
            (float("nan") if v is None else float(v) for v in lats),
        )

    def forward(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """Project lon/lat (scalars or arrays) to x/y metres."""
        x, y = self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def inverse(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Unproject x/y metres to lon/lat."""
        lon, lat = self._inv.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    def forward_xy(self, coords: np.ndarray) -> np.ndarray:
        """Project an (n, 2) lon/lat array to an (n, 2) metre array."""
        coords = np.asarray(coords, dtype=float).reshape(-1, 2)
        x, y = self.forward(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])
