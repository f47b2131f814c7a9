"""Alarms from telemetry through real commands: raise, acknowledge, shelve, re-raise, clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Alarm, Asset, Event
from backend.service.alarms import status_for, telemetry_tick
from backend.service.processor import CommandProcessor, Outcome
from tests.backend.service.seed import seed_city

PUMP = 3  # a seeded pump without seeded alarms
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def processor(engine: Engine) -> CommandProcessor:
    seed_city(engine)
    return CommandProcessor(engine)


def run(p: CommandProcessor, name: str, user: str = "olga", **args: Any) -> Outcome:
    key = f"{name}-{datetime.now(UTC).timestamp()}-{sorted(args.items())!r}"[:120]
    return p.execute({"name": name, "user": user, "key": key, "args": args}, msg_id="m")


def ok(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, outcome.body
    return outcome.body["result"]


def pressure(p: CommandProcessor, minute: int, value: float, asset_id: int = PUMP) -> Outcome:
    """One pump pressure reading at ``T0 + minute``; healthy is 4.2 bar, the low limit 2.5."""
    ts = T0 + timedelta(minutes=minute)
    return run(
        p,
        "ingest_readings",
        readings=[{"asset_id": asset_id, "metric": "pressure", "value": value, "ts": ts}],
    )


def alarms_of(sessions: sessionmaker[Session], asset_id: int = PUMP) -> list[Alarm]:
    with sessions() as s:
        return list(s.scalars(select(Alarm).where(Alarm.asset_id == asset_id).order_by(Alarm.id)))


def status(sessions: sessionmaker[Session], asset_id: int = PUMP) -> str:
    with sessions() as s:
        asset = s.get(Asset, asset_id)
        assert asset is not None
        return asset.status


def test_status_for_severities() -> None:
    assert status_for([]) == "ok"
    assert status_for(["minor"]) == "warning"
    assert status_for(["minor", "critical"]) == "alarm"
    assert status_for(["major"]) == "alarm"


def test_alarm_life_cycle(processor: CommandProcessor, sessions: sessionmaker[Session]) -> None:
    healthy = [4.2, 4.25, 4.15, 4.22, 4.18]
    for minute, value in enumerate(healthy):
        assert ok(pressure(processor, minute, value))["alarm_changes"] == 0
    assert alarms_of(sessions) == [] and status(sessions) == "ok"

    # The faulty reading raises in its own command: alarm, asset status and events together.
    faulty = pressure(processor, 5, 1.0)
    assert ok(faulty)["alarm_changes"] >= 1
    raised = [a for a in alarms_of(sessions) if a.rule == "limit"]
    assert len(raised) == 1
    alarm = raised[0]
    assert (alarm.state, alarm.severity, alarm.metric) == ("raised", "critical", "pressure")
    assert alarm.group_key == f"asset/{PUMP}" and "pressure" in alarm.message
    assert status(sessions) == "alarm"
    with sessions() as s:
        same_command = list(
            s.scalars(select(Event).where(Event.seq > faulty.body["seq"] - 10).order_by(Event.seq))
        )
    types = {e.type: e for e in same_command if e.seq <= faulty.body["seq"]}
    assert {"asset.readings", "alarm.raised", "asset.status"} <= types.keys()
    assert types["asset.status"].body["patch"]["status"] == "alarm"

    # A persisting fault is one alarm, not one per reading.
    ok(pressure(processor, 6, 1.05))
    assert len([a for a in alarms_of(sessions) if a.rule == "limit"]) == 1

    acked = ok(run(processor, "ack_alarm", alarm_id=alarm.id, version=alarm.version))
    shelved = ok(
        run(
            processor,
            "shelve_alarm",
            alarm_id=alarm.id,
            version=acked["version"],
            minutes=30,
            reason="crew on the way",
        )
    )
    assert status(sessions) == "alarm"  # shelving hides the alarm, not the fault
    # Still shelved before its end; back to raised after it, because the fault is still there.
    assert ok(processor.run_internal("tick", telemetry_tick))["unshelved"] == 0
    later = datetime.now(UTC) + timedelta(minutes=31)
    tick = processor.run_internal("tick", telemetry_tick, now=later)
    assert ok(tick)["unshelved"] == 1
    (back,) = [a for a in alarms_of(sessions) if a.id == alarm.id]
    assert back.state == "raised" and back.version == shelved["version"] + 1
    assert back.shelved_until is None

    # Healthy readings clear it (after the hysteresis) and the asset returns to ok.
    for minute in range(7, 20):
        ok(pressure(processor, minute, healthy[minute % len(healthy)]))
    cleared = next(a for a in alarms_of(sessions) if a.id == alarm.id)
    assert cleared.state == "cleared" and cleared.cleared_at is not None
    assert all(a.state == "cleared" for a in alarms_of(sessions))
    assert status(sessions) == "ok"


def test_manual_status_is_never_overridden(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        asset = s.get(Asset, PUMP)
        assert asset is not None
        asset.status = "under_repair"
    ok(pressure(processor, 0, 4.2))
    assert ok(pressure(processor, 1, 1.0))["alarm_changes"] >= 1
    raised = alarms_of(sessions)
    assert "limit" in {a.rule for a in raised} and {a.state for a in raised} == {"raised"}
    assert status(sessions) == "under_repair"


def test_missing_data_raises_on_the_timer_and_clears_on_a_reading(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    ok(pressure(processor, 0, 4.2))
    # Three reading periods of silence later the timer finds it (no reading causes it).
    now = T0 + timedelta(minutes=10)
    assert ok(processor.run_internal("tick", telemetry_tick, now=now))["missing"] == 1
    (missing,) = alarms_of(sessions)
    assert (missing.rule, missing.severity, missing.state) == ("missing", "minor", "raised")
    assert status(sessions) == "warning"
    assert ok(processor.run_internal("tick", telemetry_tick, now=now))["missing"] == 0  # once
    ok(pressure(processor, 11, 4.21))
    assert [a.state for a in alarms_of(sessions)] == ["cleared"]
    assert status(sessions) == "ok"


def test_unknown_asset_refuses_the_whole_batch(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    refused = run(
        processor,
        "ingest_readings",
        readings=[
            {"asset_id": PUMP, "metric": "pressure", "value": 1.0, "ts": T0},
            {"asset_id": 999, "metric": "pressure", "value": 4.0, "ts": T0},
        ],
    )
    assert refused.code == "not_found" and "999" in refused.body["message"]
    assert alarms_of(sessions) == []
