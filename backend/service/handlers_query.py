"""Read-only commands: an asset's history and the incident timeline (from the events log)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pyproj import Geod
from sqlalchemy import func, or_, select

from backend.db.models import Alarm, Asset, AssetEvent, Crew, Event, Issue, Job
from backend.protocol.state import BATCH_SUFFIX
from backend.protocol.topics import TOPIC_KINDS, topic
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg, get_row
from backend.service.entities import entity_state, row_state
from backend.service.handlers_assets import asset_position
from backend.service.readings import recent_readings

MAX_LIMIT = 5000
#: Citizen reports within this many metres show in an asset's history.
NEARBY_RADIUS_M = 100.0
MAX_NEARBY_RADIUS_M = 2000.0
#: Metres per degree of latitude (a floor over the ellipsoid: the prefilter box never
#: comes out smaller than the circle it must contain).
METRES_PER_DEG_LAT = 110_500.0
GEOD = Geod(ellps="WGS84")


def _limit(args: dict[str, Any], default: int) -> int:
    limit = arg(args, "limit", int, required=False, default=default)
    if not 1 <= limit <= MAX_LIMIT:
        raise CommandError("bad_args", f"limit must be 1..{MAX_LIMIT}")
    return int(limit)


def _event_map(e: Event) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "ts": e.ts,
        "type": e.type,
        "topic": e.topic,
        "actor": e.actor,
        "parent_id": e.parent_id,
        "body": e.body,
    }


def get_asset_history(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """An asset, its maintenance events, recent readings, jobs, alarms and bus events, newest first.

    Args: ``asset_id``; optional ``metric``, ``since`` (timestamp), ``limit`` (default 200),
    ``radius_m`` (for nearby reports, default 100).

    Reply: ``asset``, ``events``, ``readings`` (``[metric, ts, value]``), ``timeline``,
    ``jobs`` (each with ``crew_name``), ``alarms``, and ``nearby_issues`` (citizen
    reports within ``radius_m`` of the asset, nearest first, each with ``distance_m``).
    """
    asset = get_row(ctx, Asset, arg(args, "asset_id", int), "asset", lock=False)
    limit = _limit(args, 200)
    since = arg(args, "since", datetime, required=False)
    metric = arg(args, "metric", str, required=False)
    history = select(AssetEvent).where(AssetEvent.asset_id == asset.id)
    t = topic("asset", asset.id)
    bus = select(Event).where(Event.topic == t)
    if since is not None:
        history = history.where(AssetEvent.ts >= since)
        bus = bus.where(Event.ts >= since)
    s = ctx.session
    return {
        "asset": entity_state(s, asset),
        "events": [
            row_state(e) for e in s.scalars(history.order_by(AssetEvent.ts.desc()).limit(limit))
        ],
        "readings": recent_readings(s, asset.id, metric, since, limit),
        "timeline": [_event_map(e) for e in s.scalars(bus.order_by(Event.seq.desc()).limit(limit))],
        "jobs": _asset_jobs(ctx, asset.id, since, limit),
        "alarms": _asset_alarms(ctx, asset.id, since, limit),
        "nearby_issues": nearby_issues(ctx, asset, _radius(args), since, limit),
    }


def _radius(args: dict[str, Any]) -> float:
    radius = float(arg(args, "radius_m", float, required=False, default=NEARBY_RADIUS_M))
    if not 0 < radius <= MAX_NEARBY_RADIUS_M:
        raise CommandError("bad_args", f"radius_m must be in (0, {MAX_NEARBY_RADIUS_M:.0f}]")
    return radius


def _asset_jobs(
    ctx: CommandContext, asset_id: int, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """The asset's jobs, newest first, each with its crew's name (None when unassigned)."""
    query = (
        select(Job, Crew.name)
        .outerjoin(Crew, Crew.id == Job.crew_id)
        .where(Job.asset_id == asset_id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Job.created_at >= since)
    return [{**row_state(job), "crew_name": name} for job, name in ctx.session.execute(query)]


def _asset_alarms(
    ctx: CommandContext, asset_id: int, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """The asset's alarms, newest raised first."""
    query = (
        select(Alarm)
        .where(Alarm.asset_id == asset_id)
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Alarm.raised_at >= since)
    return [row_state(a) for a in ctx.session.scalars(query)]


def nearby_issues(
    ctx: CommandContext,
    asset: Asset,
    radius_m: float,
    since: datetime | None = None,
    limit: int = MAX_LIMIT,
) -> list[dict[str, Any]]:
    """Reports within ``radius_m`` metres of the asset, nearest first, with ``distance_m``.

    A lon/lat box around the asset uses the issues' lon/lat index; the exact
    geodesic distance (WGS84) then keeps only those inside the circle.
    """
    lon, lat = asset_position(asset)
    if lon is None or lat is None:
        return []
    dlat = radius_m / METRES_PER_DEG_LAT
    # Longitude degrees shrink with latitude; near the poles the box spans every longitude.
    cos_lat = math.cos(math.radians(min(abs(lat) + dlat, 89.9)))
    dlon = min(radius_m / (METRES_PER_DEG_LAT * cos_lat), 180.0)
    query = select(Issue).where(
        Issue.lon.between(lon - dlon, lon + dlon), Issue.lat.between(lat - dlat, lat + dlat)
    )
    if since is not None:
        query = query.where(Issue.requested_at >= since)
    # The box filter already excludes issues without a position.
    candidates = [i for i in ctx.session.scalars(query) if i.lon is not None and i.lat is not None]
    if not candidates:
        return []
    n = len(candidates)
    lons = [float(i.lon) for i in candidates if i.lon is not None]
    lats = [float(i.lat) for i in candidates if i.lat is not None]
    _, _, dist = GEOD.inv([lon] * n, [lat] * n, lons, lats)
    near = sorted(
        ((float(d), i) for d, i in zip(dist, candidates, strict=True) if d <= radius_m),
        key=lambda pair: (pair[0], pair[1].id),
    )
    return [{**row_state(i), "distance_m": round(d, 1)} for d, i in near[:limit]]


def get_timeline(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Committed events in seq order: the audit log and incident timeline.

    Args (all optional): ``prefix`` (topic prefix, e.g. ``"job/"`` or ``"issue/7"``),
    ``kinds`` (topic kinds, e.g. ``["job", "alarm"]``), ``batches`` (False leaves out
    batch events such as ``crew/*`` position feeds: an incident timeline wants the
    changes people made, not every second's telemetry), ``since``/``until``
    (timestamps), ``after_seq``, ``actor``, ``limit`` (default 500), ``state_before``
    (True adds ``before``: each listed topic's entity as it stood just before ``since``,
    where a replay starts).
    """
    query = select(Event)
    prefix = arg(args, "prefix", str, required=False)
    if prefix:
        # An exact entity ("issue/7") must not also match "issue/70".
        kind, _, rest = prefix.partition("/")
        query = query.where(Event.topic == prefix if rest else Event.topic.startswith(kind + "/"))
    kinds = arg(args, "kinds", list, required=False)
    if kinds is not None:
        unknown = sorted({str(k) for k in kinds} - set(TOPIC_KINDS))
        if unknown or not kinds:
            raise CommandError("bad_args", f"kinds must be some of {list(TOPIC_KINDS)}")
        query = query.where(or_(*(Event.topic.startswith(f"{k}/") for k in kinds)))
    if not arg(args, "batches", bool, required=False, default=True):
        query = query.where(~Event.topic.endswith(BATCH_SUFFIX))
    since = arg(args, "since", datetime, required=False)
    until = arg(args, "until", datetime, required=False)
    after = arg(args, "after_seq", int, required=False)
    actor = arg(args, "actor", str, required=False)
    if since is not None:
        query = query.where(Event.ts >= since)
    if until is not None:
        query = query.where(Event.ts <= until)
    if after is not None:
        query = query.where(Event.seq > after)
    if actor is not None:
        query = query.where(Event.actor == actor)
    limit = _limit(args, 500)
    events = [_event_map(e) for e in ctx.session.scalars(query.order_by(Event.seq).limit(limit))]
    reply: dict[str, Any] = {"events": events, "more": len(events) == limit}
    if arg(args, "state_before", bool, required=False, default=False):
        if since is None:
            raise CommandError("bad_args", "state_before needs since")
        topics = sorted({e["topic"] for e in events if not e["topic"].endswith(BATCH_SUFFIX)})
        reply["before"] = state_before(ctx, topics, since)
    return reply


def state_before(ctx: CommandContext, topics: list[str], since: datetime) -> dict[str, Any]:
    """Each topic's entity state as of just before ``since``: its newest ``entity`` event body.

    What a replay starts from. A topic with no earlier event (created later, or
    imported without events) is left out.
    """
    out: dict[str, Any] = {}
    for i in range(0, len(topics), 500):
        chunk = topics[i : i + 500]
        newest = (
            select(func.max(Event.seq))
            .where(Event.topic.in_(chunk), Event.ts < since)
            .group_by(Event.topic)
        )
        for e in ctx.session.scalars(select(Event).where(Event.seq.in_(newest))):
            entity = e.body.get("entity") if isinstance(e.body, dict) else None
            if isinstance(entity, dict):
                out[e.topic] = entity
    return out
