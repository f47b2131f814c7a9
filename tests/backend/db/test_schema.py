"""The schema: migrations match the models; times, geometry and the event sequence behave."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from shapely.geometry import LineString
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from backend.db.migrate import downgrade, is_current, upgrade
from backend.db.models import Asset, Base, Event, Job, Road
from backend.db.outbox import NewEvent, append_events, last_seq


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert is_current(engine)


def test_downgrade_and_upgrade_again(engine: Engine) -> None:
    downgrade(engine, "base")
    assert not inspect(engine).has_table("assets")
    upgrade(engine)
    assert inspect(engine).has_table("assets")
    assert is_current(engine)


def test_times_are_utc_aware(sessions: sessionmaker[Session]) -> None:
    helsinki = timezone(timedelta(hours=2))
    with sessions.begin() as s:
        s.add(
            Asset(
                kind="pump",
                source="t",
                source_id="1",
                lon=1.0,
                lat=2.0,
                install_date=date(1990, 5, 1),
                updated_at=datetime(2024, 1, 1, 12, 0, tzinfo=helsinki),
            )
        )
    with sessions() as s:
        asset = s.scalars(select(Asset)).one()
        assert asset.updated_at == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
        assert asset.updated_at.tzinfo is not None
        assert asset.attributes == {}
        assert asset.status == "ok"


def test_naive_datetime_is_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError, match="naive datetime"), sessions.begin() as s:
        s.add(Asset(kind="pump", source="t", source_id="1", updated_at=datetime(2024, 1, 1)))
        s.flush()


def test_geometry_round_trip(sessions: sessionmaker[Session]) -> None:
    line = LineString([(24.93, 60.17), (24.94, 60.171)])
    with sessions.begin() as s:
        s.add(
            Road(
                source="t",
                source_id="w1",
                road_class="residential",
                length_m=560.0,
                geom=line,
                min_lon=24.93,
                min_lat=60.17,
                max_lon=24.94,
                max_lat=60.171,
            )
        )
    with sessions() as s:
        road = s.scalars(select(Road)).one()
        assert road.geom.equals(line)
        assert road.oneway == 0 and road.drivable


def test_source_key_is_unique(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(Asset(kind="pump", source="t", source_id="1"))
        s.add(Asset(kind="pump", source="t", source_id="1"))
        s.flush()


def test_check_constraints_refuse_bad_status(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(Job(title="x", status="exploded", created_at=datetime.now(UTC)))
        s.flush()


def test_event_sequence_is_gap_free_and_rolls_back(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        assert last_seq(s) == 0
        assert append_events(s, [NewEvent("a", "asset/1"), NewEvent("b", "asset/2")]) == [1, 2]
    with pytest.raises(RuntimeError), sessions.begin() as s:
        append_events(s, [NewEvent("c", "asset/3")])
        raise RuntimeError("the change fails: its event must vanish with it")
    with sessions.begin() as s:
        assert append_events(s, [NewEvent("d", "job/1", body={"x": 1})]) == [3]
    with sessions() as s:
        events = s.scalars(select(Event).order_by(Event.seq)).all()
        assert [(e.seq, e.type) for e in events] == [(1, "a"), (2, "b"), (3, "d")]
        assert events[2].body == {"x": 1}
        assert last_seq(s) == 3
