"""Active alarms survive a backend restart: the new process clears them or keeps matching them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Alarm, Asset
from backend.protocol.client import CommandClient
from tests.backend.service.helpers import Backend, running_backend
from tests.backend.service.seed import seed_city

PUMP = 3  # a seeded pump without seeded alarms
HEALTHY = [4.2, 4.25, 4.15, 4.22, 4.18]
# Stamps a second apart from the test's start: always newer than the last, and never
# old enough for the backend's timer to call the pump's data missing.
START = datetime.now(UTC).replace(microsecond=0)


def pressure(client: CommandClient, step: int, value: float) -> int:
    """One pump pressure reading; returns the alarms it changed."""
    ts = START + timedelta(seconds=step)
    reading = {"asset_id": PUMP, "metric": "pressure", "value": value, "ts": ts}
    reply = client.command("ingest_readings", {"readings": [reading]})
    return int(reply["result"]["alarm_changes"])


def alarms(sessions: sessionmaker[Session], rule: str | None = None) -> list[Alarm]:
    """The pump's alarms (of one rule, if given), oldest first."""
    with sessions() as s:
        query = select(Alarm).where(Alarm.asset_id == PUMP)
        if rule is not None:
            query = query.where(Alarm.rule == rule)
        return list(s.scalars(query.order_by(Alarm.id)))


def status(sessions: sessionmaker[Session]) -> str:
    """The pump's status."""
    with sessions() as s:
        asset = s.get(Asset, PUMP)
        assert asset is not None
        return asset.status


def raise_then_stop(db_url: str, sessions: sessionmaker[Session]) -> Alarm:
    """Raise a critical low-pressure alarm in one backend, then stop it with SIGTERM."""
    backend = Backend(db_url).start()
    try:
        with backend.client("olga") as client:
            for step, value in enumerate(HEALTHY):
                assert pressure(client, step, value) == 0
            assert pressure(client, 5, 1.0) >= 1
    finally:
        assert backend.stop() == 0
    # The drop raises a critical limit alarm and a minor rate alarm (a jump).
    assert {(a.rule, a.state, a.severity) for a in alarms(sessions)} == {
        ("limit", "raised", "critical"),
        ("rate", "raised", "minor"),
    }
    (alarm,) = alarms(sessions, "limit")
    assert status(sessions) == "alarm"
    return alarm


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_city(engine)
    return engine


def test_healthy_readings_after_a_restart_clear_the_alarm(
    seeded: Engine, db_url: str, sessions: sessionmaker[Session]
) -> None:
    alarm = raise_then_stop(db_url, sessions)
    with running_backend(db_url) as backend, backend.client("olga") as client:
        # Hysteresis as usual: the first healthy readings clear nothing yet; then the
        # limit alarm clears, and the rate alarm once the pressure has settled.
        changes = [pressure(client, 10 + i, v) for i, v in enumerate(HEALTHY * 2)]
        clear_after = 5  # DetectorConfig.clear_after
        assert changes[: clear_after - 1] == [0] * (clear_after - 1) and sum(changes) == 2
        (after,) = alarms(sessions, "limit")
        assert after.id == alarm.id
        assert after.state == "cleared" and after.cleared_at is not None
        assert {a.state for a in alarms(sessions)} == {"cleared"} and len(alarms(sessions)) == 2
        assert status(sessions) == "ok"
        assert backend.stop() == 0


def test_a_persisting_fault_after_a_restart_raises_no_second_alarm(
    seeded: Engine, db_url: str, sessions: sessionmaker[Session]
) -> None:
    alarm = raise_then_stop(db_url, sessions)
    with running_backend(db_url) as backend, backend.client("olga") as client:
        assert [pressure(client, 10 + i, v) for i, v in enumerate([1.0, 1.05, 0.98])] == [0, 0, 0]
        assert len(alarms(sessions)) == 2  # the limit and rate alarms, no new row
        (still,) = alarms(sessions, "limit")
        assert (still.id, still.state, still.version) == (alarm.id, "raised", alarm.version)
        assert status(sessions) == "alarm"
        # ...and the same restarted process clears it once the pressure is back.
        for i, value in enumerate(HEALTHY * 2):
            pressure(client, 20 + i, value)
        assert [a.state for a in alarms(sessions)] == ["cleared", "cleared"]
        assert status(sessions) == "ok"
        assert backend.stop() == 0
