"""Hand-made road networks in local metres, for routing tests.

Coordinates are given in metres east/north of a point in Cambridge, MA and
turned into lon/lat through a transverse Mercator centred there, so lengths
in metres come back to within micrometres in the graph's own projection.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import LineString

from backend.importers.rows import road_row
from backend.routing import RoadGraph, RoadRecord, Router
from backend.routing.graph import local_transformer

LON0, LAT0 = -71.10, 42.37
_, _TO_LONLAT = local_transformer(LON0, LAT0)
#: 36 km/h = 10 m/s: a 100 m road takes 10 s.
SPEEDS = {"residential": 36.0, "primary": 72.0, "service": 18.0}


def ll(x: float, y: float) -> tuple[float, float]:
    """Lon/lat of a point ``x`` metres east and ``y`` metres north of the origin."""
    lon, lat = _TO_LONLAT.transform(x, y)
    return float(lon), float(lat)


def road(
    road_id: int,
    *points: tuple[float, float],
    oneway: int = 0,
    road_class: str = "residential",
    drivable: bool = True,
    length_m: float | None = None,
) -> RoadRecord:
    """A road record through ``points`` (metres)."""
    return RoadRecord(
        road_id=road_id,
        geom=LineString([ll(x, y) for x, y in points]),
        road_class=road_class,
        oneway=oneway,
        drivable=drivable,
        length_m=length_m,
    )


def road_table_row(source_id: str, *points: tuple[float, float], oneway: int = 0) -> dict[str, Any]:
    """A residential ``roads`` table row (as importers write it) through ``points`` (metres)."""
    return road_row(
        source="t",
        source_id=source_id,
        geom=LineString([ll(x, y) for x, y in points]),
        road_class="residential",
        oneway=oneway,
    )


def block_road_rows() -> list[dict[str, Any]]:
    """A 200 m square of ``roads`` rows whose west side is one-way northwards."""
    return [
        road_table_row("south", (0, 0), (200, 0)),
        road_table_row("east", (200, 0), (200, 200)),
        road_table_row("north", (200, 200), (0, 200)),
        road_table_row("west", (0, 0), (0, 200), oneway=1),
    ]


def router(*records: RoadRecord) -> Router:
    """A router over a graph of ``records`` with the test speed table."""
    return Router(RoadGraph.from_records(records, SPEEDS))


def seconds(r: Router, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Driving time between two points given in metres (inf when there is no drive)."""
    sa, sb = r.snapper.snap_many([ll(*a)[0], ll(*b)[0]], [ll(*a)[1], ll(*b)[1]])
    assert sa is not None and sb is not None
    return r.search_to(sb).seconds(sa)
