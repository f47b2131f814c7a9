"""Alarm intents → commands: the versions the operator saw, local refusals, futures and errors."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.protocol import envelope as proto
from backend.protocol.client import BusTimeout, CommandFailed
from backend.protocol.envelope import Envelope
from console.alarms.commands import (
    AlarmController,
    CommandRunner,
    Outcome,
    create_job_args,
)
from console.alarms.model import AlarmListModel
from tests.console.alarms.wire import FixedClock, alarm, asset


class Recorder:
    """A ``send_command`` that records calls and answers ``{"result": {...}}`` or raises."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[BaseException] = []

    def __call__(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, dict(args)))
        if self.errors:
            raise self.errors.pop(0)
        return {"result": {"alarm_id": args.get("alarm_id"), "version": args.get("version", 0) + 1}}


def make(send: Any) -> tuple[AlarmController, list[Outcome]]:
    m = AlarmListModel(FixedClock())
    m.load(
        {
            "asset/1": asset(1, "Pump A"),
            "alarm/1": alarm(1, version=3),
            "alarm/2": alarm(2, version=7, severity="critical"),
            "alarm/3": alarm(3, state="acknowledged", acked_by="ana", version=2),
            "alarm/4": alarm(4, state="cleared", version=5),
        }
    )
    runner = CommandRunner(send)
    outcomes: list[Outcome] = []
    runner.outcome.connect(outcomes.append)
    return AlarmController(runner, m), outcomes


def test_acknowledge_sends_each_alarm_with_the_version_seen() -> None:
    send = Recorder()
    c, outcomes = make(send)
    out = c.acknowledge([2, 1])
    assert send.calls == [
        ("ack_alarm", {"alarm_id": 2, "version": 7}),
        ("ack_alarm", {"alarm_id": 1, "version": 3}),
    ]
    assert [o.ok for o in outcomes] == [True, True] and out == outcomes
    assert outcomes[0].message == "Alarm 2 acknowledged (Pump A)"
    assert outcomes[0].result == {"alarm_id": 2, "version": 8}
    # The controller never edits the model: the delta does.
    assert c.alarms.row(2).state == "raised"


def test_local_refusals_send_nothing() -> None:
    send = Recorder()
    c, outcomes = make(send)
    c.acknowledge([3, 99])
    c.shelve([4], 30, "maintenance")
    c.shelve([1], 0, "maintenance")
    c.shelve([1], 30, "   ")
    assert send.calls == []
    assert [o.message for o in outcomes] == [
        "Alarm 3 is already acknowledged by ana",
        "alarm 99 is not known",
        "Alarm 4 is cleared: nothing to shelve",
        "A shelve lasts 1 to 1440 minutes, not 0",
        "A shelve needs a reason (the next shift reads it)",
    ]
    assert {o.code for o in outcomes} == {"refused_locally"}


def test_shelve_sends_minutes_reason_and_version() -> None:
    send = Recorder()
    c, outcomes = make(send)
    c.shelve([1, 3], 120, "  Crew on site  ")
    assert send.calls == [
        ("shelve_alarm", {"alarm_id": 1, "version": 3, "minutes": 120, "reason": "Crew on site"}),
        ("shelve_alarm", {"alarm_id": 3, "version": 2, "minutes": 120, "reason": "Crew on site"}),
    ]
    assert outcomes[0].message == "Alarm 1 shelved for 120 min"


def test_backend_refusals_and_timeouts_become_messages() -> None:
    send = Recorder()
    send.errors = [
        CommandFailed("conflict", "stale", {"changed_by": "dave"}),
        BusTimeout("no answer"),
        CommandFailed("invalid_state", "alarm 1 is already acknowledged by dave"),
    ]
    c, outcomes = make(send)
    c.acknowledge([1])
    c.acknowledge([1])
    c.acknowledge([1])
    assert [(o.ok, o.code) for o in outcomes] == [
        (False, "conflict"),
        (False, "timeout"),
        (False, "invalid_state"),
    ]
    assert outcomes[0].message == "Refused: it was changed by dave meanwhile; look again and retry."
    assert outcomes[2].message == "Refused (invalid_state): alarm 1 is already acknowledged by dave"


def test_future_replies_are_posted_envelopes_and_errors_included() -> None:
    futures: list[Future[Any]] = []

    def send(name: str, args: dict[str, Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        futures.append(fut)
        return fut

    posted: list[Any] = []
    m = AlarmListModel(FixedClock())
    m.load({"alarm/1": alarm(1, version=3), "alarm/2": alarm(2)})
    runner = CommandRunner(send, post=posted.append)
    outcomes: list[Outcome] = []
    runner.outcome.connect(outcomes.append)
    c = AlarmController(runner, m)
    assert c.acknowledge([1, 2]) == [None, None]
    ok = Envelope(type=proto.REPLY, body={"result": {"version": 4}})
    err = Envelope(type=proto.ERROR, body={"code": "conflict", "message": "m", "details": {}})
    futures[0].set_result(ok)
    futures[1].set_result(err)
    assert outcomes == []  # nothing happens off the GUI thread
    for fn in posted:
        fn()
    assert [(o.target, o.ok, o.code) for o in outcomes] == [(1, True, None), (2, False, "conflict")]
    assert outcomes[0].result == {"version": 4}


def test_create_job_args_are_checked() -> None:
    due = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert create_job_args(7, " Fix seal ", 2, ["water", " ", "mechanical "], due) == {
        "asset_id": 7,
        "title": "Fix seal",
        "priority": 2,
        "skills": ["water", "mechanical"],
        "due_at": due,
    }
    assert "due_at" not in create_job_args(7, "Fix", 3, [])
    with pytest.raises(ValueError, match="title"):
        create_job_args(7, "  ", 3, [])
    with pytest.raises(ValueError, match="priority"):
        create_job_args(7, "Fix", 6, [])
    with pytest.raises(ValueError, match="timezone"):
        create_job_args(7, "Fix", 3, [], datetime(2026, 3, 2) + timedelta(hours=1))
