"""Telemetry storage in three tiers: blocks as ingested, per-asset segments, hourly aggregates.

Why columns and not a row per reading: with an index on (asset, metric, time),
every reading is an insert at a random place in a B-tree, and a batch that
touches 5,000 assets dirties thousands of index pages per commit. Measured on
this project's machine with SQLite: 30-55k readings/s, falling as the table
grows. Ingest therefore appends one *block* per batch (its columns as arrays,
:class:`~backend.db.models.AssetReadingBlock`): a row per batch, whatever its
size. This is the layout of time-series stores (TimescaleDB's compressed
chunks segmented by device, InfluxDB's TSM files), kept to what a control
room needs:

1. **blocks**: the batches of the current window, as written;
2. **segments**: once a 10-minute window is over, :func:`seal_readings`
   regroups its blocks into one row per (asset, metric, hour) holding that
   asset's readings as two arrays, found by index (an hour may have several);
   it also moves the newest value per (asset, metric) into
   ``asset_latest_readings`` for snapshots;
3. **hourly aggregates**: beyond :data:`RAW_KEEP`, :func:`compact_readings`
   folds segments into count/min/max/mean per hour and deletes them.

Each step is one transaction that writes the new tier and deletes the old
rows, so a reading is always stored exactly once: in a block, a segment or
an hour, never two and never none. Readers (:func:`reading_series`,
:func:`recent_readings`, :func:`latest_readings`) look at all the tiers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Float,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from backend.db.columnar import (
    F8,
    HOUR_US,
    I8,
    U2,
    Array,
    PositionBatch,
    ReadingBatch,
    array_of,
    micros_to_datetime,
    to_bytes,
)
from backend.db.models import (
    AssetLatestReading,
    AssetReadingBlock,
    AssetReadingHourly,
    AssetReadingSegment,
    CrewPositionBlock,
)
from backend.protocol.columns import to_micros

#: Raw readings younger than this stay raw; older ones are compacted to hours.
RAW_KEEP = timedelta(days=7)
#: Blocks sealed per transaction (bounds how long one seal holds the write lock).
SEAL_BLOCKS = 200
#: Blocks are sealed once their window is over: at most this much telemetry is
#: scanned unindexed by snapshots and history queries. Shorter windows mean more,
#: smaller segments (a sensor reporting once a minute gets 10 readings a segment).
SEAL_WINDOW = timedelta(minutes=10)

_BLOCKS = cast(Table, AssetReadingBlock.__table__)
_SEGMENTS = cast(Table, AssetReadingSegment.__table__)
_LATEST = cast(Table, AssetLatestReading.__table__)
_HOURLY = cast(Table, AssetReadingHourly.__table__)
_POSITIONS = cast(Table, CrewPositionBlock.__table__)


def _hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# ------------------------------------------------------------------- writing


def _span(ts: Array) -> dict[str, Any]:
    """A block's time range and row count (its first three columns)."""
    return {
        "ts_min": micros_to_datetime(int(ts.min())),
        "ts_max": micros_to_datetime(int(ts.max())),
        "count": len(ts),
    }


def store_readings(session: Session, batch: ReadingBatch) -> None:
    """Append one validated batch as one block, in the session's transaction."""
    if not len(batch):
        return
    session.execute(
        insert(_BLOCKS),
        [
            {
                **_span(batch.ts),
                "metrics": list(batch.metrics),
                "asset_id": to_bytes(batch.asset_id, I8),
                "metric": to_bytes(batch.metric, U2),
                "ts": to_bytes(batch.ts, I8),
                "value": to_bytes(batch.value, F8),
            }
        ],
    )


def store_positions(session: Session, batch: PositionBatch) -> None:
    """Append one validated batch of crew positions as one block."""
    if not len(batch):
        return
    session.execute(
        insert(_POSITIONS),
        [
            {
                **_span(batch.ts),
                "crew_id": to_bytes(batch.crew_id, I8),
                "ts": to_bytes(batch.ts, I8),
                "lon": to_bytes(batch.lon, F8),
                "lat": to_bytes(batch.lat, F8),
                "heading": to_bytes(batch.heading, F8),
                "speed_mps": to_bytes(batch.speed_mps, F8),
            }
        ],
    )


_CREWS = "crews"
# A batch's newest position per crew, as a table the UPDATE can join: one statement
# per batch instead of one per crew. SQLite fills a temporary table (per connection,
# in memory); PostgreSQL unnests arrays. A crew's last position only moves forward in
# time: the late rows (usually none) are looked up before the update.
_SQLITE_MOVES = "crew_moves"
_SQLITE_TEMP = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_SQLITE_MOVES} "
    "(id INTEGER PRIMARY KEY, lon REAL, lat REAL, heading REAL, ts TEXT)"
)
_PG_MOVES = "unnest(:id, :lon, :lat, :heading, :ts) AS u(id, lon, lat, heading, ts)"
_PG_ARRAYS: dict[str, Any] = {
    "id": BigInteger(),
    "lon": Float(),
    "lat": Float(),
    "heading": Float(),
    "ts": DateTime(timezone=True),
}
_SET = "last_lon = u.lon, last_lat = u.lat, last_heading = u.heading, last_seen_at = u.ts"
_LATE = f"{_CREWS}.last_seen_at > u.ts"


def _moves_source(conn: Connection, batch: PositionBatch) -> tuple[str, dict[str, Any]]:
    """``batch`` as a row source named ``u`` and the values to bind to it."""
    heading = [None if h != h else h for h in batch.heading.tolist()]
    # A batch shares a few timestamps: format each distinct one once.
    distinct, index = np.unique(batch.ts, return_inverse=True)
    iso = np.datetime_as_string(distinct.astype("datetime64[us]")).tolist()
    ids, lon, lat = batch.crew_id.tolist(), batch.lon.tolist(), batch.lat.tolist()
    if conn.dialect.name == "sqlite":
        text_of = [t.replace("T", " ") for t in iso]  # UTCDateTime's SQLite text
        stamps = [text_of[i] for i in index.tolist()]
        conn.exec_driver_sql(_SQLITE_TEMP)
        conn.exec_driver_sql(f"DELETE FROM {_SQLITE_MOVES}")
        conn.exec_driver_sql(
            f"INSERT INTO {_SQLITE_MOVES} VALUES (?, ?, ?, ?, ?)",
            list(zip(ids, lon, lat, heading, stamps, strict=True)),
        )
        return f"{_SQLITE_MOVES} AS u", {}
    text_of = [t + "+00:00" for t in iso]
    stamps = [text_of[i] for i in index.tolist()]
    return _PG_MOVES, {"id": ids, "lon": lon, "lat": lat, "heading": heading, "ts": stamps}


def _bind(sql: str, values: dict[str, Any]) -> Any:
    """``sql`` with ``values`` bound as typed PostgreSQL arrays (none for SQLite)."""
    return text(sql).bindparams(*(bindparam(k, v, ARRAY(_PG_ARRAYS[k])) for k, v in values.items()))


def unknown_crews(conn: Connection, ids: Array) -> list[int]:
    """Which of ``ids`` (distinct) are not crews; one counting statement when all are."""
    if conn.dialect.name == "sqlite":
        where = "id IN (SELECT value FROM json_each(:ids))"
        values: dict[str, Any] = {"ids": json.dumps(ids.tolist())}
    else:
        where, values = "id = ANY(:ids)", {"ids": ids.tolist()}

    def query(what: str) -> Any:
        return text(f"SELECT {what} FROM {_CREWS} WHERE {where}").bindparams(**values)

    if conn.scalar(query("count(*)")) == len(ids):
        return []
    return sorted(set(ids.tolist()) - set(conn.scalars(query("id"))))


def move_crews(conn: Connection, newest: PositionBatch) -> Array:
    """Set crews' last positions from ``newest`` (one row per crew) where newer than theirs.

    Returns the ids of the crews that moved (a late packet moves none).
    """
    if not len(newest):
        return np.empty(0, dtype=I8)
    source, values = _moves_source(conn, newest)
    late_ids = f"SELECT u.id FROM {_CREWS} JOIN {source} ON {_CREWS}.id = u.id WHERE {_LATE}"
    update = (
        f"UPDATE {_CREWS} SET {_SET} FROM {source} "
        f"WHERE {_CREWS}.id = u.id AND NOT coalesce({_LATE}, false)"
    )
    if conn.dialect.name == "postgresql":
        # One round trip, the arrays sent once: every part of a WITH sees the rows as
        # they were before the statement, so "late" is judged before the update.
        stale = list(
            conn.scalars(
                _bind(f"WITH late AS ({late_ids}), moved AS ({update}) SELECT id FROM late", values)
            )
        )
    else:
        stale = list(conn.scalars(_bind(late_ids, values)))
        conn.execute(_bind(update, values))
    return newest.crew_id[~np.isin(newest.crew_id, stale)] if stale else newest.crew_id


def _block_batch(row: Any) -> ReadingBatch:
    return ReadingBatch(
        asset_id=array_of(row.asset_id, I8),
        metric=array_of(row.metric, U2),
        metrics=tuple(row.metrics),
        ts=array_of(row.ts, I8),
        value=array_of(row.value, F8),
    )


def _concat(batches: list[ReadingBatch]) -> ReadingBatch:
    """Blocks in order as one batch with one metric table."""
    names: dict[str, int] = {}
    codes = []
    for b in batches:
        remap = np.array([names.setdefault(m, len(names)) for m in b.metrics], dtype=U2)
        codes.append(remap[b.metric] if len(remap) else b.metric)

    def cat(arrays: list[Array], dtype: np.dtype[Any]) -> Array:
        return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)

    return ReadingBatch(
        asset_id=cat([b.asset_id for b in batches], I8),
        metric=cat(codes, U2),
        metrics=tuple(names),
        ts=cat([b.ts for b in batches], I8),
        value=cat([b.value for b in batches], F8),
    )


def _unsealed(
    conn: Connection, since: datetime | None = None, until: datetime | None = None
) -> ReadingBatch:
    """Every block (optionally only those overlapping a time range), in write order."""
    query = select(_BLOCKS).order_by(_BLOCKS.c.id)
    if since is not None:
        query = query.where(_BLOCKS.c.ts_max >= since)
    if until is not None:
        query = query.where(_BLOCKS.c.ts_min <= until)
    return _concat([_block_batch(row) for row in conn.execute(query)])


# ------------------------------------------------------------------ sealing


@dataclass(frozen=True, slots=True)
class SealResult:
    """What one seal call did: blocks regrouped, readings moved, segment rows written."""

    blocks: int
    readings: int
    segments: int


def seal_readings(engine: Engine, now: datetime | None = None) -> SealResult:
    """Regroup the blocks of finished windows into per-asset segments, oldest blocks first.

    A block is sealed once the :data:`SEAL_WINDOW` holding its newest reading
    is over, so at most one window of telemetry stays in blocks, which
    snapshots and history queries scan. Each group of :data:`SEAL_BLOCKS`
    blocks is one transaction: segments and latest values written, blocks
    deleted.
    """
    at = (now or datetime.now(UTC)).astimezone(UTC)
    cutoff = _hour(at) + (at - _hour(at)) // SEAL_WINDOW * SEAL_WINDOW
    blocks = readings = segments = 0
    while True:
        with Session(engine) as session, session.begin():
            conn = session.connection()
            rows = conn.execute(
                select(_BLOCKS)
                .where(_BLOCKS.c.ts_max < cutoff)
                .order_by(_BLOCKS.c.id)
                .limit(SEAL_BLOCKS)
            ).all()
            if not rows:
                break
            batch = _concat([_block_batch(r) for r in rows])
            segments += _write_segments(conn, batch)
            conn.execute(delete(_BLOCKS).where(_BLOCKS.c.id.in_([r.id for r in rows])))
            blocks += len(rows)
            readings += len(batch)
    return SealResult(blocks, readings, segments)


def _write_segments(conn: Connection, batch: ReadingBatch) -> int:
    names = batch.metrics
    n = len(batch)
    hour = batch.ts // HOUR_US
    # Stable by write order within equal times, so the later of two equal readings stays last.
    order = np.lexsort((np.arange(n), batch.ts, hour, batch.metric, batch.asset_id))
    a, m, h = batch.asset_id[order], batch.metric[order], hour[order]
    ts, value = batch.ts[order], batch.value[order]
    start = np.ones(n, dtype=bool)
    if n > 1:
        start[1:] = (a[1:] != a[:-1]) | (m[1:] != m[:-1]) | (h[1:] != h[:-1])
    bounds = np.append(np.flatnonzero(start), n)
    rows = [
        {
            "asset_id": int(a[i]),
            "metric": names[int(m[i])],
            "hour": micros_to_datetime(int(h[i]) * HOUR_US),
            "count": int(j - i),
            "ts": to_bytes(ts[i:j], I8),
            "value": to_bytes(value[i:j], F8),
        }
        for i, j in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]
    for chunk in range(0, len(rows), 5000):
        conn.execute(insert(_SEGMENTS), rows[chunk : chunk + 5000])
    _upsert_latest(
        conn,
        [
            {"asset_id": aid, "metric": name, "ts": micros_to_datetime(t), "value": v}
            for aid, name, t, v in batch.newest().rows()
        ],
    )
    return len(rows)


def _insert_for(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _upsert_latest(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Keep the newer value per (asset, metric); an equal time goes to the later write."""
    if not rows:
        return
    stmt = _insert_for(conn)(_LATEST)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_LATEST.c.asset_id, _LATEST.c.metric],
        set_={"ts": stmt.excluded.ts, "value": stmt.excluded.value},
        where=stmt.excluded.ts >= _LATEST.c.ts,
    )
    for chunk in range(0, len(rows), 5000):
        conn.execute(stmt, rows[chunk : chunk + 5000])


# --------------------------------------------------------------- compaction


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """What one compaction call did: hours folded, raw readings removed, hourly rows written."""

    hours: int
    raw_rows: int
    hourly_rows: int


def _upsert_hourly(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Merge aggregates into ``asset_readings_hourly`` (a late reading may hit a done hour)."""
    dialect = conn.dialect.name
    stmt = _insert_for(conn)(_HOURLY)
    ex = stmt.excluded
    c = _HOURLY.c
    total = c.count + ex.count
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.asset_id, c.metric, c.hour],
        set_={
            "count": total,
            "min": func.min(c.min, ex.min) if dialect == "sqlite" else func.least(c.min, ex.min),
            "max": func.max(c.max, ex.max) if dialect == "sqlite" else func.greatest(c.max, ex.max),
            "mean": (c.mean * c.count + ex.mean * ex.count) / total,
        },
    )
    for start in range(0, len(rows), 5000):
        conn.execute(stmt, rows[start : start + 5000])


def compact_readings(
    engine: Engine, now: datetime | None = None, keep: timedelta = RAW_KEEP, max_hours: int = 24
) -> CompactionResult:
    """Fold raw readings older than ``now - keep`` into hourly rows, oldest hour first.

    Blocks of those hours are sealed first; then each hour is its own
    transaction (aggregate its segments, upsert, delete), so a long backlog is
    worked off in bounded steps and a crash loses nothing; at most
    ``max_hours`` hours per call.
    """
    now = now or datetime.now(UTC)
    cutoff = _hour(now - keep)
    seal_readings(engine, now)
    hours = raw_rows = hourly_rows = 0
    s = _SEGMENTS.c
    while hours < max_hours:
        with Session(engine) as session, session.begin():
            conn = session.connection()
            oldest = conn.scalar(select(func.min(s.hour)))
            if oldest is None or oldest >= cutoff:
                break
            groups: dict[tuple[int, str], list[Array]] = {}
            for asset_id, metric, value in conn.execute(
                select(s.asset_id, s.metric, s.value).where(s.hour == oldest)
            ):
                groups.setdefault((asset_id, metric), []).append(array_of(value, F8))
            rows = []
            for (asset_id, metric), parts in groups.items():
                values = np.concatenate(parts)
                rows.append(
                    {
                        "asset_id": asset_id,
                        "metric": metric,
                        "hour": oldest,
                        "count": len(values),
                        "min": float(values.min()),
                        "max": float(values.max()),
                        "mean": float(values.mean()),
                    }
                )
                raw_rows += len(values)
            _upsert_hourly(conn, rows)
            conn.execute(delete(_SEGMENTS).where(s.hour == oldest))
            hourly_rows += len(rows)
            hours += 1
    return CompactionResult(hours, raw_rows, hourly_rows)


# ------------------------------------------------------------------ reading


def _raw_points(
    conn: Connection,
    asset_id: int,
    metric: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[str], Array, Array, Array]:
    """One asset's raw readings from segments and blocks: (metric names, codes, ts µs, values).

    In storage order (segments by id, then blocks by id), which is write order
    for equal times; the caller sorts by time with a stable sort.
    """
    s = _SEGMENTS.c
    query = select(s.metric, s.ts, s.value).where(s.asset_id == asset_id).order_by(s.id)
    if metric is not None:
        query = query.where(s.metric == metric)
    if since is not None:
        query = query.where(s.hour >= _hour(since))
    if until is not None:
        query = query.where(s.hour <= until)
    names: dict[str, int] = {}
    codes: list[Array] = []
    stamps: list[Array] = []
    values: list[Array] = []
    for name, ts, value in conn.execute(query):
        t = array_of(ts, I8)
        codes.append(np.full(len(t), names.setdefault(name, len(names)), dtype=U2))
        stamps.append(t)
        values.append(array_of(value, F8))
    block = _unsealed(conn, since, until)
    mask = block.asset_id == asset_id
    if metric is not None:
        wanted = [i for i, m in enumerate(block.metrics) if m == metric]
        mask &= np.isin(block.metric, wanted)
    if mask.any():
        remap = np.array([names.setdefault(m, len(names)) for m in block.metrics], dtype=U2)
        codes.append(remap[block.metric[mask]])
        stamps.append(block.ts[mask])
        values.append(block.value[mask])
    code = np.concatenate(codes) if codes else np.empty(0, dtype=U2)
    ts_all = np.concatenate(stamps) if stamps else np.empty(0, dtype=I8)
    value_all = np.concatenate(values) if values else np.empty(0, dtype=F8)
    keep = np.ones(len(ts_all), dtype=bool)
    if since is not None:
        keep &= ts_all >= to_micros(since)
    if until is not None:
        keep &= ts_all <= to_micros(until)
    return list(names), code[keep], ts_all[keep], value_all[keep]


def reading_series(
    session: Session,
    asset_id: int,
    metric: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """One metric's history, oldest first: hourly aggregates, then the raw readings.

    Each point is ``{"ts", "value", "min", "max", "count"}``; a raw reading
    has ``count`` 1 and ``min == max == value``, an hour its mean as ``value``.
    """
    h = AssetReadingHourly
    hourly = select(h.hour, h.mean, h.min, h.max, h.count).where(
        h.asset_id == asset_id, h.metric == metric
    )
    if since is not None:
        hourly = hourly.where(h.hour >= _hour(since))
    if until is not None:
        hourly = hourly.where(h.hour <= until)
    points: list[dict[str, Any]] = [
        {"ts": hour, "value": mean, "min": lo, "max": hi, "count": n}
        for hour, mean, lo, hi, n in session.execute(hourly.order_by(h.hour))
    ]
    _, _, ts, values = _raw_points(session.connection(), asset_id, metric, since, until)
    order = np.argsort(ts, kind="stable")
    points += [
        {"ts": micros_to_datetime(t), "value": v, "min": v, "max": v, "count": 1}
        for t, v in zip(ts[order].tolist(), values[order].tolist(), strict=True)
    ]
    points.sort(key=lambda p: p["ts"])
    return points


def recent_readings(
    session: Session,
    asset_id: int,
    metric: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[list[Any]]:
    """An asset's newest raw readings, newest first: ``[[metric, ts, value], ...]``.

    Without ``since``, only the segments of the newest hours that can hold
    ``limit`` readings are read.
    """
    conn = session.connection()
    if since is None:
        s = _SEGMENTS.c
        hours = select(s.hour, s.count).where(s.asset_id == asset_id)
        if metric is not None:
            hours = hours.where(s.metric == metric)
        total = 0
        for hour, count in conn.execute(hours.order_by(s.hour.desc())):
            total += count
            since = hour
            if total >= limit:
                break
    names, code, ts, values = _raw_points(conn, asset_id, metric, since, None)
    order = np.argsort(ts, kind="stable")[::-1][:limit]
    return [
        [names[c], micros_to_datetime(t), v]
        for c, t, v in zip(
            code[order].tolist(), ts[order].tolist(), values[order].tolist(), strict=True
        )
    ]


def latest_readings(
    conn: Connection, asset_ids: Iterable[int] | None = None
) -> dict[int, dict[str, tuple[datetime, float]]]:
    """The newest reading per (asset, metric): ``{asset_id: {metric: (ts, value)}}``.

    Sealed values come from ``asset_latest_readings``, then the unsealed blocks
    in write order override them where newer or equal in time (equal times go
    to the later write, as the replica does when it applies events in order).
    """
    only = None if asset_ids is None else list(asset_ids)
    query = select(_LATEST.c.asset_id, _LATEST.c.metric, _LATEST.c.ts, _LATEST.c.value)
    if only is not None:
        query = query.where(_LATEST.c.asset_id.in_(only))
    out: dict[int, dict[str, tuple[datetime, float]]] = {}
    for asset_id, metric, ts, value in conn.execute(query):
        out.setdefault(asset_id, {})[metric] = (ts, value)
    block = _unsealed(conn)
    if len(block) and only is not None:
        mask = np.isin(block.asset_id, np.asarray(only, dtype=I8))
        block = ReadingBatch(
            block.asset_id[mask],
            block.metric[mask],
            block.metrics,
            block.ts[mask],
            block.value[mask],
        )
    if not len(block):
        return out
    for aid, name, t, v in block.newest().rows():
        per_asset = out.setdefault(aid, {})
        ts = micros_to_datetime(t)
        current = per_asset.get(name)
        if current is None or ts >= current[0]:
            per_asset[name] = (ts, v)
    return out


@dataclass(frozen=True, slots=True)
class StoredCounts:
    """How much telemetry is stored, by tier: readings in blocks and segments, hours, positions."""

    unsealed: int
    sealed: int
    hourly: int
    positions: int

    @property
    def raw(self) -> int:
        """Raw readings, sealed or not."""
        return self.unsealed + self.sealed


def stored_counts(conn: Connection) -> StoredCounts:
    """Counts per tier (sums of the rows' ``count`` columns: no arrays are read)."""

    def total(column: Any) -> int:
        return int(conn.scalar(select(func.coalesce(func.sum(column), 0))) or 0)

    return StoredCounts(
        unsealed=total(_BLOCKS.c.count),
        sealed=total(_SEGMENTS.c.count),
        hourly=total(_HOURLY.c.count),
        positions=total(_POSITIONS.c.count),
    )
