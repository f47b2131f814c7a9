"""Telemetry storage: bulk inserts read back like ORM rows; compaction keeps queryable hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import AssetReading, AssetReadingHourly
from backend.service.readings import compact_readings, reading_series, store_readings
from tests.backend.service.seed import seed_city

HOUR0 = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)


def _store(sessions: sessionmaker[Session], rows: list[tuple[int, str, datetime, float]]) -> None:
    with sessions.begin() as s:
        a, m, t, v = (list(c) for c in zip(*rows, strict=True))
        store_readings(s, a, m, t, v)


def test_bulk_insert_reads_back_exact_times(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    seed_city(engine)
    helsinki = HOUR0.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Helsinki"))
    _store(sessions, [(1, "pressure", helsinki, 4.2), (1, "we\tird\\name", HOUR0, 1.5)])
    with sessions() as s:
        got = s.execute(select(AssetReading.metric, AssetReading.ts, AssetReading.value)).all()
        assert sorted(got) == sorted([("pressure", HOUR0, 4.2), ("we\tird\\name", HOUR0, 1.5)])
        # Range queries compare like ORM-written rows.
        assert s.scalar(select(func.count()).where(AssetReading.ts >= HOUR0)) == 2
        assert s.scalar(select(func.count()).where(AssetReading.ts > HOUR0)) == 0


def test_compaction_folds_old_hours_and_keeps_them_queryable(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    seed_city(engine)
    rows = []
    for hour in range(3):
        for minute in range(0, 60, 10):
            ts = HOUR0 + timedelta(hours=hour, minutes=minute)
            rows.append((1, "pressure", ts, 4.0 + hour + minute / 100))
            rows.append((2, "pressure", ts, 1.0))
    recent = HOUR0 + timedelta(days=30)
    rows.append((1, "pressure", recent, 9.0))
    _store(sessions, rows)
    now = recent + timedelta(hours=1)
    done = compact_readings(engine, now=now, keep=timedelta(days=7))
    assert (done.hours, done.raw_rows, done.hourly_rows) == (3, 36, 6)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AssetReading)) == 1  # the recent one
        first = s.get(AssetReadingHourly, (1, "pressure", HOUR0))
        assert first is not None and first.count == 6
        assert (first.min, first.max) == (4.0, 4.5)
        assert abs(first.mean - 4.25) < 1e-9
        series = reading_series(s, 1, "pressure")
    assert [p["ts"] for p in series] == [HOUR0 + timedelta(hours=h) for h in range(3)] + [recent]
    assert series[-1] == {"ts": recent, "value": 9.0, "min": 9.0, "max": 9.0, "count": 1}
    # Nothing left to do; a late reading for a compacted hour merges into it.
    assert compact_readings(engine, now=now, keep=timedelta(days=7)).hours == 0
    _store(sessions, [(1, "pressure", HOUR0 + timedelta(minutes=5), 10.0)])
    assert compact_readings(engine, now=now, keep=timedelta(days=7)).hours == 1
    with sessions() as s:
        merged = s.get(AssetReadingHourly, (1, "pressure", HOUR0))
        assert merged is not None and merged.count == 7 and merged.max == 10.0
        assert abs(merged.mean - (4.25 * 6 + 10.0) / 7) < 1e-9
        since = reading_series(s, 1, "pressure", since=HOUR0 + timedelta(hours=1))
    assert len(since) == 3
