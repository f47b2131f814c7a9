"""Driving speed per road class: the one table that turns road length into travel time.

The figures are typical urban driving speeds for a response vehicle obeying the
limits (not the posted limit itself: junctions, lights and traffic slow a city
drive well below it). Keys are OSM ``highway`` values, which the importers use
as ``roads.road_class``; a drivable class missing here drives at
:data:`DEFAULT_SPEED_KMH`.
"""

from __future__ import annotations

from collections.abc import Mapping

#: km/h by road class.
SPEED_KMH: Mapping[str, float] = {
    "motorway": 90.0,
    "motorway_link": 50.0,
    "trunk": 60.0,
    "trunk_link": 40.0,
    "primary": 40.0,
    "primary_link": 30.0,
    "secondary": 35.0,
    "secondary_link": 30.0,
    "tertiary": 30.0,
    "tertiary_link": 25.0,
    "unclassified": 25.0,
    "residential": 25.0,
    "road": 25.0,
    "busway": 25.0,
    "service": 15.0,
    "living_street": 10.0,
}

#: km/h for a drivable class the table does not name.
DEFAULT_SPEED_KMH = 25.0


def speed_mps(road_class: str, table: Mapping[str, float] | None = None) -> float:
    """Driving speed in metres per second for ``road_class`` (from ``table``, else the default)."""
    kmh = (SPEED_KMH if table is None else table).get(road_class, DEFAULT_SPEED_KMH)
    if not kmh > 0:
        raise ValueError(f"speed for road class {road_class!r} must be positive, got {kmh!r}")
    return kmh / 3.6
