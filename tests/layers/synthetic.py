"""Synthetic city records for layer tests: points and a street grid around a centre."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

CENTRE = (-71.1056, 42.3736)  # Cambridge, MA
NOW = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
ASSET_KINDS = ("street_light", "hydrant", "traffic_signal", "pump", "transformer")
ASSET_STATUSES = ("ok", "warning", "alarm", "out_of_service", "under_repair")
CATEGORIES = ("Street Light Outages", "Request for Pothole Repair", "Graffiti Removal")
CREW_STATUSES = ("available", "en_route", "on_site", "off_shift")


def _spread(rng: np.random.Generator, n: int, km: float) -> tuple[np.ndarray, np.ndarray]:
    lon = CENTRE[0] + rng.uniform(-1, 1, n) * km / 82.0
    lat = CENTRE[1] + rng.uniform(-1, 1, n) * km / 111.0
    return lon, lat


def assets(n: int, seed: int = 1, km: float = 3.0) -> list[dict[str, Any]]:
    """Asset records spread over a square ``2 km`` across."""
    rng = np.random.default_rng(seed)
    lon, lat = _spread(rng, n, km)
    return [
        {
            "id": i + 1,
            "kind": ASSET_KINDS[i % len(ASSET_KINDS)],
            "name": f"Asset {i + 1}",
            "lon": float(lon[i]),
            "lat": float(lat[i]),
            "status": "ok" if rng.random() < 0.8 else ASSET_STATUSES[int(rng.integers(1, 5))],
        }
        for i in range(n)
    ]


def issues(n: int, seed: int = 2, km: float = 3.0) -> list[dict[str, Any]]:
    """Open issue records with ages from minutes to weeks."""
    rng = np.random.default_rng(seed)
    lon, lat = _spread(rng, n, km)
    ages = rng.exponential(86400.0, n)
    return [
        {
            "id": i + 1,
            "category": CATEGORIES[i % len(CATEGORIES)],
            "lon": float(lon[i]),
            "lat": float(lat[i]),
            "status": "open",
            "requested_at": (NOW - timedelta(seconds=float(ages[i]))).isoformat(),
            "address": f"{i + 1} Main St",
        }
        for i in range(n)
    ]


def crews(n: int, seed: int = 3, km: float = 3.0, seen: datetime = NOW) -> list[dict[str, Any]]:
    """Crew records seen at ``seen``."""
    rng = np.random.default_rng(seed)
    lon, lat = _spread(rng, n, km)
    return [
        {
            "id": i + 1,
            "name": f"Crew {i + 1}",
            "status": CREW_STATUSES[i % len(CREW_STATUSES)],
            "last_lon": float(lon[i]),
            "last_lat": float(lat[i]),
            "last_heading": float(rng.uniform(0, 360)),
            "last_seen_at": seen,
            "skills": ["electrical"],
        }
        for i in range(n)
    ]


def roads(blocks: int = 12, km: float = 3.0) -> list[dict[str, Any]]:
    """A street grid: every fourth street an arterial, the middle one a major road."""
    out: list[dict[str, Any]] = []
    dlon, dlat = km / 82.0, km / 111.0
    lo0, la0 = CENTRE[0] - dlon, CENTRE[1] - dlat
    for i in range(blocks + 1):
        f = i / blocks
        cls = "primary" if i % 4 == 0 else "residential"
        if i == blocks // 2:
            cls = "motorway"
        out.append(
            {
                "id": len(out) + 1,
                "road_class": cls,
                "name": f"Street {i}",
                "oneway": 0,
                "coords": [[lo0, la0 + 2 * dlat * f], [lo0 + 2 * dlon, la0 + 2 * dlat * f]],
            }
        )
        out.append(
            {
                "id": len(out) + 1,
                "road_class": cls if i % 4 == 0 else "service",
                "name": f"Avenue {i}",
                "oneway": 1,
                "coords": [[lo0 + 2 * dlon * f, la0], [lo0 + 2 * dlon * f, la0 + 2 * dlat]],
            }
        )
    return out
