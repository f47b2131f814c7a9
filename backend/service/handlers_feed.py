"""Batched high-rate feeds: crew positions and asset telemetry.

A batch is checked whole before anything is written (one bad item refuses the
batch with the item's index, so nothing is half-applied), then written with
bulk inserts and one bulk update, and announced with one *batch event* (body
``{"changes": [[topic, body], ...]}``, topic ``asset/*`` or ``crew/*``): a
burst of 5,000 readings on 1,250 assets is one outbox row, one sequence number
and one PUB message, not 1,250 of each.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from backend.db.models import Asset, Crew, CrewPosition
from backend.protocol.state import batch_topic
from backend.protocol.topics import topic
from backend.service.alarms import monitor_of
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg
from backend.service.entities import wire_time
from backend.service.readings import store_readings

#: The most items one batch may carry.
MAX_BATCH = 20_000


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _items(args: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = arg(args, name, list)
    if not items:
        raise CommandError("bad_args", f"{name!r} must be a non-empty list")
    if len(items) > MAX_BATCH:
        raise CommandError("bad_args", f"{name!r} has {len(items)} items; the limit is {MAX_BATCH}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CommandError("bad_args", f"{name}[{i}] must be a map", {"index": i})
    return items


def _finite(item: dict[str, Any], name: str, index: int, required: bool = True) -> float | None:
    try:
        value = arg(item, name, float, required=required)
    except CommandError as exc:
        raise CommandError(exc.code, f"item {index}: {exc.message}", {"index": index}) from None
    if value is not None and not math.isfinite(value):
        raise CommandError(
            "bad_args", f"item {index}: {name} is not a finite number", {"index": index}
        )
    return value


def _ts(ctx: CommandContext, item: dict[str, Any], index: int) -> datetime:
    value = item.get("ts")
    if value is None:
        return ctx.now
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise CommandError(
            "bad_args", f"item {index}: ts must be a timezone-aware timestamp", {"index": index}
        )
    return value


def _missing(ctx: CommandContext, model: Any, ids: set[int], label: str) -> None:
    _refuse_unknown(ids, set(ctx.session.scalars(select(model.id).where(model.id.in_(ids)))), label)


def _refuse_unknown(ids: set[int], found: set[int], label: str) -> None:
    unknown = sorted(ids - found)
    if unknown:
        raise CommandError(
            "not_found",
            f"unknown {label} id(s): {unknown[:20]}; nothing was written",
            {"ids": unknown[:100]},
        )


def update_crew_positions(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Record crews' positions.

    Args: ``positions``: [{crew_id, lon, lat, ts?, heading?, speed_mps?}].

    Every position joins the crew's trail; the crew's "last seen" moves only
    forward in time, so a late packet never drags a crew back on the map.
    """
    rows: list[dict[str, Any]] = []
    for i, item in enumerate(_items(args, "positions")):
        crew_id = item.get("crew_id")
        if isinstance(crew_id, bool) or not isinstance(crew_id, int):
            raise CommandError("bad_args", f"item {i}: crew_id must be an integer", {"index": i})
        lon, lat = _finite(item, "lon", i), _finite(item, "lat", i)
        assert lon is not None and lat is not None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise CommandError("bad_args", f"item {i}: lon/lat outside WGS84 bounds", {"index": i})
        rows.append(
            {
                "crew_id": crew_id,
                "ts": _ts(ctx, item, i),
                "lon": lon,
                "lat": lat,
                "heading": _finite(item, "heading", i, required=False),
                "speed_mps": _finite(item, "speed_mps", i, required=False),
            }
        )
    ids = {r["crew_id"] for r in rows}
    # One query both proves every crew exists and says when each was last seen.
    seen = {
        crew_id: last
        for crew_id, last in ctx.session.execute(
            select(Crew.id, Crew.last_seen_at).where(Crew.id.in_(ids))
        )
    }
    _refuse_unknown(ids, set(seen), "crew")
    # Core statements, not ORM bulk: the same SQL with a fraction of the per-row overhead.
    ctx.session.execute(insert(_table(CrewPosition)), rows)
    newest: dict[int, dict[str, Any]] = {}
    for r in rows:
        last = newest.get(r["crew_id"])
        previous = seen.get(r["crew_id"])
        if (last is None or r["ts"] >= last["ts"]) and (previous is None or r["ts"] >= previous):
            newest[r["crew_id"]] = r
    if newest:
        patches = {
            crew_id: {
                "last_lon": r["lon"],
                "last_lat": r["lat"],
                "last_heading": r["heading"],
                "last_seen_at": r["ts"],
            }
            for crew_id, r in newest.items()
        }
        crews = _table(Crew)
        ctx.session.execute(
            update(crews)
            .where(crews.c.id == bindparam("crew_id"))
            .values(
                last_lon=bindparam("last_lon"),
                last_lat=bindparam("last_lat"),
                last_heading=bindparam("last_heading"),
                last_seen_at=bindparam("last_seen_at"),
            ),
            [{"crew_id": crew_id, **patch} for crew_id, patch in patches.items()],
        )
        changes = [
            [
                topic("crew", crew_id),
                {
                    "patch": {
                        **patches[crew_id],
                        "last_seen_at": wire_time(patches[crew_id]["last_seen_at"]),
                    }
                },
            ]
            for crew_id in sorted(patches)
        ]
        ctx.emit("crew.moved", batch_topic("crew"), {"changes": changes})
    return {"stored": len(rows), "moved": len(newest)}


def ingest_readings(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Store telemetry, check it for faults, raise or clear alarms, all in this transaction.

    Args: ``readings``: [{asset_id, metric, value, ts?}] (at most :data:`MAX_BATCH`).

    The readings are one bulk insert and one batch event (``asset/*``) whose
    changes carry each asset's newest values; the service's telemetry monitor
    (when the processor has one) checks the batch, and any alarms it raises or
    clears, and the asset statuses they move, commit with the readings, so an
    alarm is on the bus in the same publish as the reading that caused it.
    """
    items = _items(args, "readings")
    n = len(items)
    ids: list[int] = [0] * n
    metrics: list[str] = [""] * n
    stamps: list[datetime] = [ctx.now] * n
    values: list[float] = [0.0] * n
    isfinite = math.isfinite
    # One tight loop with exact type checks: this runs for every reading of every batch.
    for i, item in enumerate(items):
        asset_id = item.get("asset_id")
        if type(asset_id) is not int:
            raise CommandError("bad_args", f"item {i}: asset_id must be an integer", {"index": i})
        metric = item.get("metric")
        if type(metric) is not str or not 0 < len(metric) <= 40:
            raise CommandError(
                "bad_args", f"item {i}: metric must be 1-40 characters", {"index": i}
            )
        value = item.get("value")
        if type(value) is not float or not isfinite(value):
            value = _finite(item, "value", i)  # ints become floats; anything else is refused
        ts = item.get("ts")
        if ts is not None:
            if type(ts) is not datetime or ts.tzinfo is None:
                raise CommandError(
                    "bad_args",
                    f"item {i}: ts must be a timezone-aware timestamp",
                    {"index": i},
                )
            stamps[i] = ts
        ids[i] = asset_id
        metrics[i] = metric
        values[i] = cast(float, value)
    monitor = monitor_of(ctx.session)
    unique = set(ids)
    if monitor is not None:
        _refuse_unknown(unique, monitor.known_assets(ctx.session, unique), "asset")
    else:
        _missing(ctx, Asset, unique, "asset")
    store_readings(ctx.session, ids, metrics, stamps, values)
    latest: dict[int, dict[str, tuple[datetime, float]]] = {}
    for asset_id, metric, ts, value in zip(ids, metrics, stamps, values, strict=True):
        per_asset = latest.get(asset_id)
        if per_asset is None:
            latest[asset_id] = {metric: (ts, value)}
            continue
        current = per_asset.get(metric)
        # ">=": the later of two equal timestamps wins, as in the snapshot query.
        if current is None or ts >= current[0]:
            per_asset[metric] = (ts, value)
    wire: dict[datetime, str] = {}  # a batch usually shares a few timestamps: format each once
    changes: list[list[Any]] = []
    for asset_id in sorted(latest):
        body: dict[str, list[Any]] = {}
        for metric, (ts, value) in latest[asset_id].items():
            text = wire.get(ts)
            if text is None:
                text = wire[ts] = wire_time(ts)
            body[metric] = [text, value]
        changes.append([topic("asset", asset_id), {"readings": body}])
    ctx.emit("asset.readings", batch_topic("asset"), {"changes": changes})
    alarms = 0
    if monitor is not None:
        alarms = monitor.observe(ctx, ids, metrics, stamps, values)
    return {"stored": n, "assets": len(latest), "alarm_changes": alarms}
