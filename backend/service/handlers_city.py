"""Read-only commands about the city itself: the road network for maps and routing, and who I am."""

from __future__ import annotations

from typing import Any

from shapely import to_wkb
from sqlalchemy import select

from backend.db.models import Road
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg

#: Roads per page: a few MB of WKB at most, well under the bus's payload limits.
ROADS_PAGE = 5000


def get_roads(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """One page of roads in id order, geometry as hex WKB (lon/lat).

    Args (optional): ``after_id`` (0 to start), ``limit`` (default and max 5000),
    ``drivable_only``. The reply's ``next_after_id`` is 0 on the last page.
    """
    after = arg(args, "after_id", int, required=False, default=0)
    limit = arg(args, "limit", int, required=False, default=ROADS_PAGE)
    if not 1 <= limit <= ROADS_PAGE:
        raise CommandError("bad_args", f"limit must be 1..{ROADS_PAGE}")
    query = select(
        Road.id,
        Road.road_class,
        Road.name,
        Road.oneway,
        Road.drivable,
        Road.length_m,
        Road.geom,
    ).where(Road.id > after)
    if arg(args, "drivable_only", bool, required=False, default=False):
        query = query.where(Road.drivable.is_(True))
    rows = ctx.session.execute(query.order_by(Road.id).limit(limit)).all()
    roads = [
        {
            "id": r.id,
            "road_class": r.road_class,
            "name": r.name,
            "oneway": r.oneway,
            "drivable": r.drivable,
            "length_m": r.length_m,
            "geom": to_wkb(r.geom, hex=True),
        }
        for r in rows
    ]
    return {"roads": roads, "next_after_id": roads[-1]["id"] if len(roads) == limit else 0}


def whoami(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """The acting user's name and role, as the backend knows them."""
    return {"name": ctx.user.name, "role": ctx.user.role}
