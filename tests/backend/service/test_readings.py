"""Telemetry storage: blocks as written, sealed segments, hourly aggregates; all read back."""

from __future__ import annotations

import threading
import zoneinfo
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.db.columnar import ReadingBatch
from backend.db.models import AssetReadingHourly
from backend.protocol.columns import readings_columns, to_micros
from backend.service.processor import CommandProcessor
from backend.service.readings import (
    compact_readings,
    latest_readings,
    reading_series,
    recent_readings,
    seal_readings,
    store_readings,
    stored_counts,
)
from tests.backend.service.seed import seed_city

HOUR0 = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)


def _store(sessions: sessionmaker[Session], rows: list[tuple[int, str, datetime, float]]) -> None:
    with sessions.begin() as s:
        a, m, t, v = (list(c) for c in zip(*rows, strict=True))
        store_readings(s, ReadingBatch.from_lists(a, m, t, v))


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as s:
        c = stored_counts(s.connection())
    return c.unsealed, c.sealed, c.hourly


def test_a_batch_reads_back_exact_times_from_every_tier(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    seed_city(engine)
    helsinki = HOUR0.astimezone(zoneinfo.ZoneInfo("Europe/Helsinki")) + timedelta(microseconds=7)
    _store(sessions, [(1, "pressure", helsinki, 4.2), (1, "we\tird\\name", HOUR0, 1.5)])
    expected = [["pressure", HOUR0 + timedelta(microseconds=7), 4.2], ["we\tird\\name", HOUR0, 1.5]]
    for sealed in (False, True):
        with sessions() as s:
            assert recent_readings(s, 1) == expected
            assert (
                recent_readings(s, 1, metric="pressure", since=HOUR0 + timedelta(seconds=1)) == []
            )
            assert recent_readings(s, 2) == []
            latest = latest_readings(s.connection())
        assert latest == {1: {"pressure": (expected[0][1], 4.2), "we\tird\\name": (HOUR0, 1.5)}}
        if not sealed:
            assert _counts(sessions) == (2, 0, 0)
            # The 10-minute window is not over yet: nothing to seal.
            assert seal_readings(engine, now=HOUR0 + timedelta(minutes=9)).blocks == 0
            done = seal_readings(engine, now=HOUR0 + timedelta(minutes=10))
            assert (done.blocks, done.readings, done.segments) == (1, 2, 2)
            assert _counts(sessions) == (0, 2, 0)


def test_equal_times_go_to_the_later_write_in_every_tier(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    seed_city(engine)
    _store(sessions, [(1, "pressure", HOUR0, 1.0), (1, "pressure", HOUR0, 2.0)])
    _store(
        sessions, [(1, "pressure", HOUR0, 3.0), (1, "pressure", HOUR0 - timedelta(hours=2), 9.0)]
    )
    with sessions() as s:
        assert latest_readings(s.connection())[1]["pressure"] == (HOUR0, 3.0)
    seal_readings(engine, now=HOUR0 + timedelta(hours=1))
    _store(sessions, [(1, "pressure", HOUR0, 4.0)])  # a late reading for a sealed hour
    with sessions() as s:
        assert latest_readings(s.connection())[1]["pressure"] == (HOUR0, 4.0)
        assert [r[2] for r in recent_readings(s, 1)] == [4.0, 3.0, 2.0, 1.0, 9.0]
    seal_readings(engine, now=HOUR0 + timedelta(hours=1))
    with sessions() as s:
        assert latest_readings(s.connection())[1]["pressure"] == (HOUR0, 4.0)
        assert [r[2] for r in recent_readings(s, 1)] == [4.0, 3.0, 2.0, 1.0, 9.0]
        assert [p["value"] for p in reading_series(s, 1, "pressure")] == [9.0, 1.0, 2.0, 3.0, 4.0]


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
    assert _counts(sessions) == (0, 1, 36)  # the recent one stays raw
    with sessions() as s:
        first = s.get(AssetReadingHourly, (1, "pressure", HOUR0))
        assert first is not None and first.count == 6
        assert (first.min, first.max) == (4.0, 4.5)
        assert abs(first.mean - 4.25) < 1e-9
        series = reading_series(s, 1, "pressure")
        assert latest_readings(s.connection())[1]["pressure"] == (recent, 9.0)
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
    assert _counts(sessions) == (0, 1, 37)


def test_every_reading_is_stored_once_while_sealing_and_compaction_run_beside_ingest(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """Commands ingest while another thread seals and compacts, as the service's timer does."""
    seed_city(engine, assets=50)
    processor = CommandProcessor(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    batches, per = 40, 200
    expected: dict[int, tuple[datetime, float]] = {}  # newest per asset; a tie: the later write
    stop = threading.Event()
    errors: list[BaseException] = []

    def maintain() -> None:
        try:
            while not stop.is_set():
                compact_readings(engine, now=now, keep=timedelta(hours=2))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=maintain)
    worker.start()
    try:
        for b in range(batches):
            # Each batch spans 5 hours back from now: old hours compact, recent ones seal.
            ts = [now - timedelta(minutes=(b * per + i) % 300) for i in range(per)]
            for i, t in enumerate(ts):
                if i % 50 + 1 not in expected or t >= expected[i % 50 + 1][0]:
                    expected[i % 50 + 1] = (t, float(b))
            columns = readings_columns(
                np.arange(per) % 50 + 1,
                ["pressure"],
                np.zeros(per),
                np.array([to_micros(t) for t in ts]),
                np.full(per, float(b)),
            )
            outcome = processor.execute(
                {
                    "name": "ingest_readings",
                    "user": "olga",
                    "key": f"k{b}",
                    "args": {"columns": columns},
                },
                msg_id="m",
            )
            assert outcome.ok, outcome.body
    finally:
        stop.set()
        worker.join(60)
    assert not errors
    compact_readings(engine, now=now, keep=timedelta(hours=2))
    with sessions() as s:
        counts = stored_counts(s.connection())
        assert counts.raw + counts.hourly == batches * per
        assert counts.hourly > 0 and counts.sealed > 0  # every tier was used
        # The newest value per asset survives sealing and compaction.
        latest = latest_readings(s.connection())
    assert {a: v["pressure"] for a, v in latest.items()} == expected
