"""Old feed events drop their payload once sent; everything else about them stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from backend.db.models import BusCursor, Event
from backend.protocol.columns import positions_columns, readings_columns, to_micros
from backend.protocol.state import change_count, expand
from backend.service.processor import CommandProcessor
from backend.service.readings import recent_readings
from backend.service.retention import TRIM_CURSOR, trim_feed_events
from tests.backend.service.seed import seed_city

NOW = datetime.now(UTC).replace(microsecond=0)
KEEP = timedelta(days=7)


def _run(processor: CommandProcessor, name: str, args: dict[str, Any], key: str) -> None:
    outcome = processor.execute({"name": name, "user": "olga", "key": key, "args": args}, "m")
    assert outcome.ok, outcome.body


def _feed(processor: CommandProcessor, n: int) -> None:
    """One readings batch, one crew batch and one citizen report per round."""
    for i in range(n):
        ts = to_micros(NOW - timedelta(minutes=30 - i))
        cols = readings_columns(
            np.array([1, 2, 3]), ["pressure"], np.zeros(3), np.full(3, ts), np.full(3, 4.0 + i)
        )
        _run(processor, "ingest_readings", {"columns": cols}, f"r{i}")
        moves = positions_columns(
            np.array([1, 2]), np.full(2, ts), np.array([24.9, 24.91]), np.array([60.1, 60.2])
        )
        _run(processor, "update_crew_positions", {"columns": moves}, f"p{i}")
        _run(processor, "report_issue", {"category": "pothole"}, f"i{i}")


def _events(engine: Engine) -> list[Event]:
    with Session(engine) as s:
        return list(s.scalars(select(Event).order_by(Event.seq)))


def _age(engine: Engine, upto_seq: int, days: float) -> None:
    """Make events up to ``upto_seq`` look ``days`` old (as if the service had run that long)."""
    with Session(engine) as s, s.begin():
        s.execute(update(Event).where(Event.seq <= upto_seq).values(ts=NOW - timedelta(days=days)))


def _publish_upto(engine: Engine, seq: int) -> None:
    with Session(engine) as s, s.begin():
        row = s.get(BusCursor, "live")
        if row is None:
            s.add(BusCursor(name="live", seq=seq, updated_at=NOW))
        else:
            row.seq = seq


def test_old_sent_feed_events_keep_everything_but_their_payload(engine: Engine) -> None:
    seed_city(engine)
    processor = CommandProcessor(engine)
    _feed(processor, 6)
    before = _events(engine)
    feed = [e for e in before if e.type in ("asset.readings", "crew.moved")]
    assert len(feed) == 12
    # The first four rounds are old; the bus has sent up to the 3rd round's events only.
    old_upto = feed[7].seq
    sent_upto = feed[5].seq
    _age(engine, old_upto, days=8)
    _publish_upto(engine, sent_upto)
    before = _events(engine)

    first = trim_feed_events(engine, KEEP, now=NOW)
    assert first.events == 6 and first.cursor == sent_upto
    after = {e.seq: e for e in _events(engine)}
    assert sorted(after) == [e.seq for e in before]  # no row gone: the sequence has no holes
    for e in before:
        now_e = after[e.seq]
        assert (now_e.ts, now_e.type, now_e.topic, now_e.actor, now_e.msg_id) == (
            e.ts,
            e.type,
            e.topic,
            e.actor,
            e.msg_id,
        )
        trimmed = e.type in ("asset.readings", "crew.moved") and e.seq <= sent_upto
        if trimmed:
            assert now_e.body == {"trimmed": {"n": change_count(e.body)}}
            assert change_count(now_e.body) in (2, 3)
            assert list(expand(now_e.topic, now_e.body)) == []  # changes nothing if replayed
        else:
            assert now_e.body == e.body  # unsent, recent or not a feed event: untouched

    # Nothing more until the bus sends more; then the rest of the old ones, once.
    assert trim_feed_events(engine, KEEP, now=NOW).events == 0
    _publish_upto(engine, before[-1].seq)
    second = trim_feed_events(engine, KEEP, now=NOW)
    assert second.events == 2  # the 4th round; rounds 5 and 6 are recent
    assert trim_feed_events(engine, KEEP, now=NOW).events == 0
    bodies = {e.seq: e.body for e in _events(engine)}
    assert sum("trimmed" in b for b in bodies.values()) == 8
    with Session(engine) as s:
        assert s.get(BusCursor, TRIM_CURSOR) is not None
        # The readings themselves live in the telemetry store, untouched.
        assert len(recent_readings(s, 1)) == 6


def test_a_pass_is_bounded_and_resumes_where_it_stopped(engine: Engine) -> None:
    seed_city(engine)
    processor = CommandProcessor(engine)
    _feed(processor, 3)
    last = _events(engine)[-1].seq
    _age(engine, last, days=30)
    _publish_upto(engine, last)
    import backend.service.retention as retention

    saved = retention.BATCH
    retention.BATCH = 2
    try:
        assert trim_feed_events(engine, KEEP, now=NOW, max_batches=1).events == 2
        assert trim_feed_events(engine, KEEP, now=NOW, max_batches=10).events == 4
    finally:
        retention.BATCH = saved
    assert all(
        "trimmed" in e.body for e in _events(engine) if e.type in ("asset.readings", "crew.moved")
    )
