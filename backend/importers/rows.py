"""Building road and asset rows the same way in every importer."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from pyproj import Geod
from shapely import wkb
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

_GEOD = Geod(ellps="WGS84")

#: Road classes a vehicle may drive on (OSM ``highway`` values and the like).
DRIVABLE_CLASSES = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "busway",
    }
)
#: Classes that are never driven: paths for people, bikes and trains.
NOT_DRIVABLE_CLASSES = frozenset(
    {
        "footway",
        "pedestrian",
        "steps",
        "path",
        "cycleway",
        "bridleway",
        "platform",
        "corridor",
        "elevator",
        "track",
        "construction",
        "proposed",
        "bus_stop",
        "raceway",
    }
)


def is_drivable(road_class: str) -> bool:
    """Whether a road class belongs in the driving graph."""
    return road_class in DRIVABLE_CLASSES


def geodesic_length_m(geom: BaseGeometry) -> float:
    """Length in metres of a lon/lat line on the WGS84 ellipsoid."""
    return float(_GEOD.geometry_length(geom))


def valid_lon_lat(lon: Any, lat: Any) -> bool:
    """True for finite WGS84 coordinates that are not the (0, 0) null island."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
        return False
    return not (abs(x) < 1e-9 and abs(y) < 1e-9)


def road_row(
    *,
    source: str,
    source_id: str,
    geom: LineString | MultiLineString,
    road_class: str,
    name: str | None = None,
    oneway: int = 0,
    drivable: bool | None = None,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``roads`` row with WKB geometry, bounding box and geodesic length."""
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return {
        "source": source,
        "source_id": source_id,
        "name": name,
        "road_class": road_class,
        "drivable": is_drivable(road_class) if drivable is None else drivable,
        "oneway": oneway,
        "length_m": geodesic_length_m(geom),
        "geom": wkb.dumps(geom),
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
        "attributes": attributes or {},
    }


def asset_row(
    *,
    source: str,
    source_id: str,
    kind: str,
    lon: float | None,
    lat: float | None,
    name: str | None = None,
    status: str = "ok",
    install_date: date | None = None,
    geom: BaseGeometry | None = None,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``assets`` row; ``geom`` only for lines and areas (points use lon/lat)."""
    return {
        "source": source,
        "source_id": source_id,
        "kind": kind,
        "name": name,
        "lon": lon,
        "lat": lat,
        "geom": None if geom is None else wkb.dumps(geom),
        "status": status,
        "install_date": install_date,
        "attributes": attributes or {},
        "version": 1,
    }
