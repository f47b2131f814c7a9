"""Batched high-rate feeds: crew positions and asset telemetry, handled as columns.

A batch arrives either as a list of maps (``readings`` / ``positions``: easy
to write by hand) or as columns (``columns``: see
:mod:`backend.protocol.columns`; what the simulator and feeds send, with no
per-item objects on either side). Both become one
:class:`~backend.db.columnar.ReadingBatch` / ``PositionBatch``, checked whole
before anything is written (one bad item refuses the batch with the item's
index, so nothing is half-applied), stored as one block row
(:mod:`backend.service.readings`) and announced with one columnar *batch
event* (``reading_columns`` / ``patch_columns``, topic ``asset/*`` or
``crew/*``): a burst of 5,000 readings is one block, one outbox row, one
sequence number and one PUB message, and no step costs a Python object per
reading except the list-of-maps parsing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import select

from backend.db.columnar import (
    F8,
    I8,
    U2,
    PositionBatch,
    ReadingBatch,
    datetimes_to_micros,
)
from backend.db.models import Asset
from backend.protocol.columns import ColumnError, decode_columns, encode_columns, to_micros
from backend.protocol.state import READING_COLUMNS, batch_topic
from backend.service.alarms import monitor_of
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg
from backend.service.readings import move_crews, store_positions, store_readings, unknown_crews

#: The most items one batch may carry.
MAX_BATCH = 20_000


#: Timestamps a feed may carry: 1970 to 2200 (anything else is a unit mistake).
_TS_RANGE = (0, to_micros(datetime(2200, 1, 1, tzinfo=UTC)))
#: Column types of a ``positions`` column set (heading and speed may be left out).
POSITION_COLUMNS = {"crew_id": "i8", "ts": "ts", "lon": "f8", "lat": "f8"}
POSITION_OPTIONAL = {"heading": "f8", "speed_mps": "f8"}
#: ``ingest_readings`` columns: as the event's, with ``asset_id`` for ``id``.
INGEST_COLUMNS = {"asset_id": "i8", "metric": "u2", "ts": "ts", "value": "f8"}


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


def _refuse(unknown: list[int], label: str) -> None:
    """Refuse the batch when any id is unknown (sorted ``unknown``), naming the first ones."""
    if unknown:
        raise CommandError(
            "not_found",
            f"unknown {label} id(s): {unknown[:20]}; nothing was written",
            {"ids": unknown[:100]},
        )


def _first_bad(bad: Any, what: str) -> None:
    """Refuse the batch at the first row where ``bad`` is true."""
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise CommandError("bad_args", f"item {index}: {what}", {"index": index})


def _columns(
    args: dict[str, Any], expected: dict[str, str], optional: dict[str, str] | None = None
) -> dict[str, Any]:
    try:
        _, cols = decode_columns(args["columns"], expected, optional, max_rows=MAX_BATCH)
    except ColumnError as exc:
        raise CommandError("bad_args", f"columns: {exc}") from None
    _first_bad((cols["ts"] < _TS_RANGE[0]) | (cols["ts"] > _TS_RANGE[1]), "ts out of range")
    return cols


def _position_batch(ctx: CommandContext, args: dict[str, Any]) -> PositionBatch:
    """``positions`` (maps) or ``columns`` → a batch, every item checked."""
    if "columns" in args:
        cols = _columns(args, POSITION_COLUMNS, POSITION_OPTIONAL)
        n = len(cols["crew_id"])
        nan = np.full(n, math.nan)
        batch = PositionBatch(
            cols["crew_id"],
            cols["ts"],
            cols["lon"],
            cols["lat"],
            cols.get("heading", nan),
            cols.get("speed_mps", nan),
        )
        _first_bad(~np.isfinite(batch.lon) | ~np.isfinite(batch.lat), "lon/lat must be finite")
        _first_bad(np.isinf(batch.heading) | np.isinf(batch.speed_mps), "heading/speed infinite")
    else:
        items = _items(args, "positions")
        rows = []
        for i, item in enumerate(items):
            crew_id = item.get("crew_id")
            if isinstance(crew_id, bool) or not isinstance(crew_id, int):
                raise CommandError(
                    "bad_args", f"item {i}: crew_id must be an integer", {"index": i}
                )
            lon, lat = _finite(item, "lon", i), _finite(item, "lat", i)
            heading = _finite(item, "heading", i, required=False)
            speed = _finite(item, "speed_mps", i, required=False)
            rows.append(
                (
                    crew_id,
                    _ts(ctx, item, i),
                    lon,
                    lat,
                    math.nan if heading is None else heading,
                    math.nan if speed is None else speed,
                )
            )
        ids, stamps, lons, lats, headings, speeds = zip(*rows, strict=True)
        batch = PositionBatch(
            np.asarray(ids, dtype=I8),
            datetimes_to_micros(list(stamps)),
            np.asarray(lons, dtype=F8),
            np.asarray(lats, dtype=F8),
            np.asarray(headings, dtype=F8),
            np.asarray(speeds, dtype=F8),
        )
    _first_bad(
        (batch.lon < -180) | (batch.lon > 180) | (batch.lat < -90) | (batch.lat > 90),
        "lon/lat outside WGS84 bounds",
    )
    return batch


def update_crew_positions(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Record crews' positions.

    Args: ``positions``: [{crew_id, lon, lat, ts?, heading?, speed_mps?}], or
    ``columns`` with ``crew_id``, ``ts``, ``lon``, ``lat`` and optionally
    ``heading`` and ``speed_mps`` (NaN = unknown).

    Every position joins the crews' trail (one block); a crew's "last seen"
    moves only forward in time, so a late packet never drags a crew back on
    the map.
    """
    batch = _position_batch(ctx, args)
    conn = ctx.session.connection()
    unique = np.unique(batch.crew_id)
    _refuse(unknown_crews(conn, unique), "crew")
    store_positions(ctx.session, batch)
    # The newest position per crew moves it, if newer than the crew's own.
    newest = batch.newest()
    moved = newest.take(np.isin(newest.crew_id, move_crews(conn, newest)))
    if len(moved):
        patch = encode_columns(
            {
                "id": ("i8", moved.crew_id),
                "last_lon": ("f8", moved.lon),
                "last_lat": ("f8", moved.lat),
                "last_heading": ("f8", moved.heading),
                "last_seen_at": ("ts", moved.ts),
            }
        )
        ctx.emit("crew.moved", batch_topic("crew"), {"patch_columns": patch})
    return {"stored": len(batch), "moved": len(moved)}


def _reading_batch(ctx: CommandContext, args: dict[str, Any]) -> ReadingBatch:
    """``readings`` (maps) or ``columns`` → a batch, every item checked."""
    if "columns" in args:
        cols = _columns(args, INGEST_COLUMNS)
        metrics = args["columns"].get("metrics")
        if (
            not isinstance(metrics, list)
            or not metrics
            or not all(type(m) is str and 0 < len(m) <= 40 for m in metrics)
        ):
            raise CommandError("bad_args", "columns: 'metrics' must list names of 1-40 characters")
        _first_bad(cols["metric"] >= len(metrics), "metric index beyond 'metrics'")
        _first_bad(~np.isfinite(cols["value"]), "value is not a finite number")
        return ReadingBatch(
            cols["asset_id"], cols["metric"].astype(U2), tuple(metrics), cols["ts"], cols["value"]
        )
    items = _items(args, "readings")
    n = len(items)
    ids: list[int] = [0] * n
    metrics_of: list[str] = [""] * n
    stamps: list[datetime] = [ctx.now] * n
    values: list[float] = [0.0] * n
    isfinite = math.isfinite
    # One tight loop with exact type checks: this runs for every reading of a list batch.
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
        metrics_of[i] = metric
        values[i] = cast(float, value)
    return ReadingBatch.from_lists(ids, metrics_of, stamps, values)


def ingest_readings(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Store telemetry, check it for faults, raise or clear alarms, all in this transaction.

    Args: ``readings``: [{asset_id, metric, value, ts?}], or ``columns`` with
    ``asset_id``, ``metric`` (indexes into ``metrics``, a list of names),
    ``ts`` and ``value`` (at most :data:`MAX_BATCH` either way).

    The readings are one block and one batch event (``asset/*``) carrying the
    newest value per (asset, metric) of the batch; the service's telemetry
    monitor (when the processor has one) checks the batch, and any alarms it
    raises or clears, and the asset statuses they move, commit with the
    readings, so an alarm is on the bus in the same publish as the reading
    that caused it.
    """
    batch = _reading_batch(ctx, args)
    monitor = monitor_of(ctx.session)
    unique = np.unique(batch.asset_id)
    if monitor is not None:
        unknown = monitor.unknown_assets(ctx.session, unique)
    else:
        ids = set(unique.tolist())
        unknown = sorted(ids - set(ctx.session.scalars(select(Asset.id).where(Asset.id.in_(ids)))))
    _refuse(unknown, "asset")
    store_readings(ctx.session, batch)
    newest = batch.newest()
    body = {
        "metrics": list(batch.metrics),
        **encode_columns(
            {
                "id": (READING_COLUMNS["id"], newest.asset_id),
                "metric": (READING_COLUMNS["metric"], newest.metric),
                "ts": (READING_COLUMNS["ts"], newest.ts),
                "value": (READING_COLUMNS["value"], newest.value),
            }
        ),
    }
    ctx.emit("asset.readings", batch_topic("asset"), {"reading_columns": body})
    alarms = monitor.observe(ctx, batch) if monitor is not None else 0
    return {"stored": len(batch), "assets": len(unique), "alarm_changes": alarms}
