"""Read-only commands: an asset's history and the incident timeline (from the events log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.db.models import Asset, AssetEvent, AssetReading, Event
from backend.protocol.topics import topic
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg, get_row
from backend.service.entities import entity_state, row_state

MAX_LIMIT = 5000


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
    """An asset, its maintenance events, recent readings and bus events, newest first.

    Args: ``asset_id``; optional ``metric``, ``since`` (timestamp), ``limit`` (default 200).
    """
    asset = get_row(ctx, Asset, arg(args, "asset_id", int), "asset", lock=False)
    limit = _limit(args, 200)
    since = arg(args, "since", datetime, required=False)
    metric = arg(args, "metric", str, required=False)
    history = select(AssetEvent).where(AssetEvent.asset_id == asset.id)
    readings = select(AssetReading.metric, AssetReading.ts, AssetReading.value).where(
        AssetReading.asset_id == asset.id
    )
    t = topic("asset", asset.id)
    bus = select(Event).where(Event.topic == t)
    if since is not None:
        history = history.where(AssetEvent.ts >= since)
        readings = readings.where(AssetReading.ts >= since)
        bus = bus.where(Event.ts >= since)
    if metric is not None:
        readings = readings.where(AssetReading.metric == metric)
    s = ctx.session
    return {
        "asset": entity_state(s, asset),
        "events": [
            row_state(e) for e in s.scalars(history.order_by(AssetEvent.ts.desc()).limit(limit))
        ],
        "readings": [
            [m, ts, v]
            for m, ts, v in s.execute(
                readings.order_by(AssetReading.ts.desc(), AssetReading.id.desc()).limit(limit)
            )
        ],
        "timeline": [_event_map(e) for e in s.scalars(bus.order_by(Event.seq.desc()).limit(limit))],
    }


def get_timeline(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Committed events in seq order: the audit log and incident timeline.

    Args (all optional): ``prefix`` (topic prefix, e.g. ``"job/"`` or ``"issue/7"``),
    ``since``/``until`` (timestamps), ``after_seq``, ``actor``, ``limit`` (default 500).
    """
    query = select(Event)
    prefix = arg(args, "prefix", str, required=False)
    if prefix:
        # An exact entity ("issue/7") must not also match "issue/70".
        kind, _, rest = prefix.partition("/")
        query = query.where(Event.topic == prefix if rest else Event.topic.startswith(kind + "/"))
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
    return {"events": events, "more": len(events) == limit}
