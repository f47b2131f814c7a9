"""Building the driving graph from the imported ``roads`` table."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Road
from backend.routing.graph import RoadGraph, RoadRecord


def load_road_records(
    session: Session, bbox: tuple[float, float, float, float] | None = None
) -> list[RoadRecord]:
    """Drivable roads as records, optionally only those touching ``bbox``.

    ``bbox`` is (min lon, min lat, max lon, max lat).
    """
    query = select(
        Road.id, Road.geom, Road.road_class, Road.oneway, Road.length_m, Road.name
    ).where(Road.drivable.is_(True))
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        query = query.where(
            Road.max_lon >= min_lon,
            Road.min_lon <= max_lon,
            Road.max_lat >= min_lat,
            Road.min_lat <= max_lat,
        )
    return [
        RoadRecord(
            road_id=row.id,
            geom=row.geom,
            road_class=row.road_class,
            oneway=row.oneway,
            drivable=True,
            length_m=row.length_m,
            name=row.name,
        )
        for row in session.execute(query.order_by(Road.id))
    ]


def graph_from_db(
    session: Session,
    bbox: tuple[float, float, float, float] | None = None,
    speeds: Mapping[str, float] | None = None,
) -> RoadGraph:
    """The driving graph of the roads stored in the database (all of them, or those in ``bbox``)."""
    return RoadGraph.from_records(load_road_records(session, bbox), speeds)
