"""Telemetry storage: bulk inserts of raw readings, hourly compaction, and queries over both.

A year of readings for 10,000 assets is about 21 billion raw rows at one
reading a minute per metric, so raw readings are kept only for a recent
window (:data:`RAW_KEEP`). :func:`compact_readings` folds older raw readings
into ``asset_readings_hourly`` (count, min, max and mean per asset, metric and
UTC hour) and deletes them in the same transaction, so every reading is
always counted exactly once: raw or aggregated, never both and never neither.
:func:`reading_series` reads both tiers as one series.

Inserts go straight to the driver: SQLite gets one ``executemany`` of plain
tuples, PostgreSQL one ``COPY`` (several times faster than multi-row
``INSERT``). Timestamps are written in exactly the form the ORM's
:class:`~backend.db.types.UTCDateTime` writes, so both paths read back alike.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.models import AssetReading, AssetReadingHourly

#: Raw readings younger than this stay raw; older ones are compacted to hours.
RAW_KEEP = timedelta(days=7)

_READINGS = AssetReading.__tablename__
_SQLITE_INSERT = f"INSERT INTO {_READINGS} (asset_id, metric, ts, value) VALUES (?, ?, ?, ?)"
_PG_COPY = f"COPY {_READINGS} (asset_id, metric, ts, value) FROM STDIN"
# COPY text format: these characters in a value must be escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _sqlite_time(ts: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format (always six fraction digits), in UTC.
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def store_readings(
    session: Session,
    asset_ids: list[int],
    metrics: list[str],
    stamps: list[datetime],
    values: list[float],
) -> None:
    """Insert readings (parallel lists, already validated) in the session's transaction."""
    conn = session.connection()
    dialect = conn.dialect.name
    cache: dict[datetime, str] = {}  # a batch shares a handful of timestamps
    if dialect == "sqlite":
        rows = []
        for aid, metric, ts, value in zip(asset_ids, metrics, stamps, values, strict=True):
            text = cache.get(ts)
            if text is None:
                text = cache[ts] = _sqlite_time(ts)
            rows.append((aid, metric, text, value))
        conn.exec_driver_sql(_SQLITE_INSERT, rows)
        return
    if dialect == "postgresql":
        lines = []
        for aid, metric, ts, value in zip(asset_ids, metrics, stamps, values, strict=True):
            text = cache.get(ts)
            if text is None:
                text = cache[ts] = ts.astimezone(UTC).isoformat()
            lines.append(f"{aid}\t{metric.translate(_COPY_ESCAPES)}\t{text}\t{value!r}\n")
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.copy_expert(_PG_COPY, io.StringIO("".join(lines)))
        return
    # Any other database: the portable executemany.
    session.execute(
        AssetReading.__table__.insert(),  # type: ignore[attr-defined]
        [
            {"asset_id": a, "metric": m, "ts": t, "value": v}
            for a, m, t, v in zip(asset_ids, metrics, stamps, values, strict=True)
        ],
    )


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """What one compaction call did: hours folded, raw rows removed, hourly rows written."""

    hours: int
    raw_rows: int
    hourly_rows: int


def _hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _upsert_hourly(session: Session, rows: list[dict[str, Any]]) -> None:
    """Merge aggregates into ``asset_readings_hourly`` (a late reading may hit a done hour)."""
    table = cast(Table, AssetReadingHourly.__table__)
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    ex = stmt.excluded
    c = table.c
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
        session.execute(stmt, rows[start : start + 5000])


def compact_readings(
    engine: Engine, now: datetime | None = None, keep: timedelta = RAW_KEEP, max_hours: int = 24
) -> CompactionResult:
    """Fold raw readings older than ``now - keep`` into hourly rows, oldest hour first.

    Each hour is its own transaction (aggregate, upsert, delete), so a long
    backlog is worked off in bounded steps and a crash loses nothing; at most
    ``max_hours`` hours per call.
    """
    cutoff = _hour((now or datetime.now(UTC)) - keep)
    r = AssetReading
    hours = raw_rows = hourly_rows = 0
    while hours < max_hours:
        with Session(engine) as session, session.begin():
            oldest = session.scalar(select(func.min(r.ts)))
            if oldest is None or _hour(oldest) >= cutoff:
                break
            start = _hour(oldest)
            end = start + timedelta(hours=1)
            in_hour = (r.ts >= start) & (r.ts < end)
            groups = session.execute(
                select(
                    r.asset_id,
                    r.metric,
                    func.count(),
                    func.min(r.value),
                    func.max(r.value),
                    func.avg(r.value),
                )
                .where(in_hour)
                .group_by(r.asset_id, r.metric)
            ).all()
            rows = [
                {
                    "asset_id": a,
                    "metric": m,
                    "hour": start,
                    "count": int(n),
                    "min": lo,
                    "max": hi,
                    "mean": float(mean),
                }
                for a, m, n, lo, hi, mean in groups
            ]
            _upsert_hourly(session, rows)
            deleted = session.execute(delete(r).where(in_hour))
            raw_rows += int(getattr(deleted, "rowcount", 0) or 0)
            hourly_rows += len(rows)
            hours += 1
    return CompactionResult(hours, raw_rows, hourly_rows)


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
    r = AssetReading
    raw = select(r.ts, r.value).where(r.asset_id == asset_id, r.metric == metric)
    if since is not None:
        hourly = hourly.where(h.hour >= _hour(since))
        raw = raw.where(r.ts >= since)
    if until is not None:
        hourly = hourly.where(h.hour <= until)
        raw = raw.where(r.ts <= until)
    points: list[dict[str, Any]] = [
        {"ts": hour, "value": mean, "min": lo, "max": hi, "count": n}
        for hour, mean, lo, hi, n in session.execute(hourly.order_by(h.hour))
    ]
    points += [
        {"ts": ts, "value": v, "min": v, "max": v, "count": 1}
        for ts, v in session.execute(raw.order_by(r.ts, r.id))
    ]
    points.sort(key=lambda p: p["ts"])
    return points
