"""Command handlers against the real database (SQLite and PostgreSQL), without sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import CommandLog, Crew, Event, Issue, Job
from backend.protocol.columns import positions_columns, readings_columns, to_micros
from backend.protocol.state import apply_event, expand
from backend.service.entities import consistent_snapshot
from backend.service.processor import CommandProcessor, Outcome
from backend.service.readings import stored_counts
from tests.backend.service.seed import seed_city


@pytest.fixture
def processor(engine: Engine) -> CommandProcessor:
    seed_city(engine)
    return CommandProcessor(engine)


def run(
    p: CommandProcessor, name: str, user: str, key: str | None = "auto", **args: Any
) -> Outcome:
    if key == "auto":
        key = f"{name}-{user}-{sorted(args.items())!r}"[:120]
    return p.execute({"name": name, "user": user, "key": key, "args": args}, msg_id="m")


def ok(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, outcome.body
    return outcome.body["result"]


def events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as s:
        return list(s.scalars(select(Event).order_by(Event.seq)))


def test_stale_version_gets_a_conflict_naming_who_changed_it(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    assert ok(run(processor, "assign_job", "dana", job_id=1, crew_id=1, version=1))["version"] == 2
    lost = run(processor, "assign_job", "dave", job_id=1, crew_id=2, version=1)
    assert lost.code == "conflict"
    assert "dana" in lost.body["message"] and "version 1" in lost.body["message"]
    details = lost.body["details"]
    assert details["changed_by"] == "dana" and details["current_version"] == 2
    assert details["changed_at"].tzinfo is not None
    assert details["entity"]["crew_id"] == 1
    with sessions() as s:
        job = s.get(Job, 1)
        assert job is not None and job.crew_id == 1 and job.assigned_by == "dana"
    assert [e.type for e in events(sessions)] == ["job.assigned"]


def test_roles_decide_who_may_assign(processor: CommandProcessor) -> None:
    denied = run(processor, "assign_job", "olga", job_id=1, crew_id=1, version=1)
    assert denied.code == "forbidden"
    assert "olga" in denied.body["message"] and "dispatcher" in denied.body["message"]
    assert run(processor, "assign_job", "sam", job_id=1, crew_id=1, version=1).code == "forbidden"
    assert run(processor, "assign_job", "nobody", job_id=1, crew_id=1, version=1).code == (
        "unauthenticated"
    )
    assert run(processor, "assign_job", "gone", job_id=1, crew_id=1, version=1).code == (
        "unauthenticated"
    )
    assert run(processor, "assign_job", "root", job_id=1, crew_id=1, version=1).ok
    assert run(processor, "report_issue", "olga", category="Graffiti").ok


def test_a_retried_command_is_applied_once(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    first = run(
        processor, "report_issue", "olga", key="k-1", category="Pothole", lon=24.9, lat=60.1
    )
    again = run(
        processor, "report_issue", "olga", key="k-1", category="Pothole", lon=24.9, lat=60.1
    )
    assert first.ok and again.ok
    assert again.body["replayed"] and not first.body["replayed"]
    assert again.body["result"] == first.body["result"]
    with sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(Issue).where(Issue.category == "Pothole"))
            == 1
        )
        assert s.scalar(select(func.count()).select_from(CommandLog)) == 1
    assert len(events(sessions)) == 1
    reused = run(processor, "ack_alarm", "olga", key="k-1", alarm_id=1, version=1)
    assert reused.code == "key_reused"
    assert run(processor, "report_issue", "olga", key=None, category="x").code == "bad_args"


def test_last_job_done_closes_its_issue(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        s.add(Job(issue_id=1, title="second visit", created_at=datetime.now(UTC)))
    second = 5
    ok(run(processor, "assign_job", "dana", job_id=1, crew_id=1, version=1))
    ok(run(processor, "set_job_status", "dana", job_id=1, status="en_route", version=2))
    done = ok(run(processor, "set_job_status", "dana", job_id=1, status="done", version=3))
    assert done["issue_closed"] is False  # job 5 is still open on issue 1
    ok(run(processor, "set_job_status", "dana", job_id=second, status="cancelled", version=1))
    with sessions() as s:
        issue = s.get(Issue, 1)
        assert issue is not None and issue.status == "closed" and issue.closed_at is not None
        crew = s.get(Crew, 1)
        assert crew is not None and crew.status == "available"
    types = [(e.type, e.topic) for e in events(sessions)]
    assert ("issue.in_progress", "issue/1") in types
    assert ("crew.status", "crew/1") in types
    assert types[-1] == ("issue.closed", "issue/1")
    bad = run(processor, "set_job_status", "dana", job_id=1, status="on_site", version=4)
    assert bad.code == "invalid_state" and "final" in bad.body["message"]


def test_crew_positions_batch(processor: CommandProcessor, sessions: sessionmaker[Session]) -> None:
    t = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    batch = [
        {"crew_id": 1, "lon": 24.95, "lat": 60.17, "ts": t, "heading": 90.0},
        {"crew_id": 1, "lon": 24.96, "lat": 60.17, "ts": t + timedelta(seconds=5)},
        {"crew_id": 2, "lon": 24.90, "lat": 60.20, "ts": t},
        {"crew_id": 1, "lon": 0.0, "lat": 0.0, "ts": t - timedelta(seconds=5)},  # late packet
    ]
    assert ok(run(processor, "update_crew_positions", "olga", positions=batch)) == {
        "stored": 4,
        "moved": 2,
    }
    with sessions() as s:
        crew = s.get(Crew, 1)
        assert crew is not None and crew.last_lon == 24.96 and crew.last_seen_at == batch[1]["ts"]
        assert stored_counts(s.connection()).positions == 4
    # One batch event for the whole command, one change per crew that moved.
    (moved,) = events(sessions)
    assert (moved.type, moved.topic) == ("crew.moved", "crew/*")
    assert [t for t, _ in expand(moved.topic, moved.body)] == ["crew/1", "crew/2"]
    refused = run(
        processor,
        "update_crew_positions",
        "olga",
        positions=[{"crew_id": 1, "lon": 1.0, "lat": 1.0}, {"crew_id": 99, "lon": 1.0, "lat": 1.0}],
    )
    assert refused.code == "not_found" and "99" in refused.body["message"]
    wrong = run(processor, "update_crew_positions", "olga", positions=[{"crew_id": "1", "lon": 1}])
    assert wrong.code == "bad_args" and "item 0" in wrong.body["message"]
    with sessions() as s:
        assert stored_counts(s.connection()).positions == 4  # nothing half-written


def test_readings_batch_and_history(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    t = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    readings = [
        {"asset_id": 1, "metric": "pressure", "value": 4.1, "ts": t},
        {"asset_id": 1, "metric": "pressure", "value": 4.3, "ts": t + timedelta(seconds=1)},
        {"asset_id": 2, "metric": "temp", "value": 40, "ts": t},
    ]
    assert ok(run(processor, "ingest_readings", "olga", readings=readings)) == {
        "stored": 3,
        "assets": 2,
        "alarm_changes": 0,
    }
    bad = run(
        processor,
        "ingest_readings",
        "olga",
        readings=[{"asset_id": 1, "metric": "p", "value": "x"}],
    )
    assert bad.code == "bad_args"
    nan = run(
        processor,
        "ingest_readings",
        "olga",
        readings=[{"asset_id": 1, "metric": "p", "value": float("nan")}],
    )
    assert nan.code == "bad_args"
    with sessions() as s:
        assert stored_counts(s.connection()).raw == 3
    history = ok(run(processor, "get_asset_history", "olga", key=None, asset_id=1))
    assert history["asset"]["latest"]["pressure"][1] == 4.3
    assert [r[2] for r in history["readings"]] == [4.3, 4.1]
    # Readings travel as one batch event (topic asset/*), not in the asset's own timeline.
    assert all(e["type"] != "asset.readings" for e in history["timeline"])
    (batch,) = [e for e in events(sessions) if e.type == "asset.readings"]
    assert batch.topic == "asset/*"
    assert dict(expand(batch.topic, batch.body))["asset/1"]["readings"]["pressure"][1] == 4.3
    assert run(processor, "get_asset_history", "olga", key=None, asset_id=999).code == "not_found"


def test_ack_alarm_and_timeline(processor: CommandProcessor) -> None:
    assert ok(run(processor, "ack_alarm", "olga", alarm_id=1, version=1))["version"] == 2
    again = run(processor, "ack_alarm", "sam", alarm_id=1, version=2)
    assert again.code == "invalid_state" and "olga" in again.body["message"]
    ok(
        run(
            processor,
            "report_issue",
            "olga",
            category="Noise",
            job={"title": "Check", "priority": 2},
        )
    )
    timeline = ok(run(processor, "get_timeline", "sam", key=None))
    assert [e["type"] for e in timeline["events"]] == [
        "alarm.acknowledged",
        "issue.reported",
        "job.created",
    ]
    only_jobs = ok(run(processor, "get_timeline", "sam", key=None, prefix="job/"))
    assert [e["topic"] for e in only_jobs["events"]] == ["job/5"]
    assert ok(run(processor, "get_timeline", "sam", key=None, after_seq=2))["events"][0]["seq"] == 3


def test_bad_command_shapes(processor: CommandProcessor) -> None:
    p = processor
    assert p.execute({"name": "explode", "user": "olga"}, "m").code == "unknown_command"
    assert p.execute({"name": "ack_alarm"}, "m").code == "bad_args"
    assert (
        p.execute({"name": "ack_alarm", "user": "olga", "key": "k", "args": [1]}, "m").code
        == "bad_args"
    )
    assert (
        p.execute({"name": "ack_alarm", "user": "olga", "key": 5, "args": {}}, "m").code
        == "bad_args"
    )
    wrong = run(p, "assign_job", "dana", job_id="1", crew_id=1, version=1)
    assert wrong.code == "bad_args" and "job_id" in wrong.body["message"]
    assert run(p, "assign_job", "dana", job_id=True, crew_id=1, version=1).code == "bad_args"
    assert run(p, "assign_job", "dana", job_id=1, crew_id=1).code == "bad_args"  # no version
    assert run(p, "assign_job", "dana", job_id=77, crew_id=1, version=1).code == "not_found"


def test_snapshot_plus_events_equals_a_later_snapshot(
    processor: CommandProcessor, engine: Engine
) -> None:
    seq0, start = consistent_snapshot(engine)
    assert seq0 == 0 and len(start) == 5 + 4 + 4 + 3 + 2
    ok(run(processor, "assign_job", "dana", job_id=2, crew_id=3, version=1))
    ok(run(processor, "set_job_status", "dana", job_id=2, status="on_site", version=2))
    ok(
        run(
            processor,
            "update_crew_positions",
            "olga",
            positions=[{"crew_id": 3, "lon": 25.0, "lat": 60.3}],
        )
    )
    ok(
        run(
            processor,
            "ingest_readings",
            "olga",
            readings=[{"asset_id": 4, "metric": "flow", "value": 7.5}],
        )
    )
    ok(
        run(
            processor, "report_issue", "olga", category="Leak", asset_id=4, job={"skills": ["pipe"]}
        )
    )
    ok(run(processor, "ack_alarm", "olga", alarm_id=2, version=1))
    replica = dict(start)
    with CommandProcessor(engine).sessions() as s:
        for e in s.scalars(select(Event).where(Event.seq > seq0).order_by(Event.seq)):
            apply_event(replica, e.topic, e.body)
    seq1, later = consistent_snapshot(engine)
    assert seq1 > seq0
    assert replica == dict(later)
    seq_jobs, jobs = consistent_snapshot(engine, "job/")
    assert seq_jobs == seq1 and {t for t, _ in jobs} == {f"job/{i}" for i in range(1, 6)}
    assert [t for t, _ in consistent_snapshot(engine, "crew/3")[1]] == ["crew/3"]


def test_old_idempotency_keys_are_pruned(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    ok(run(processor, "report_issue", "olga", key="old", category="A"))
    ok(run(processor, "report_issue", "olga", key="new", category="B"))
    with sessions.begin() as s:
        old = s.get(CommandLog, "old")
        assert old is not None
        old.created_at = datetime.now(UTC) - timedelta(days=2)
    assert processor.prune_command_log(timedelta(hours=24)) == 1
    with sessions() as s:
        assert [c.key for c in s.scalars(select(CommandLog))] == ["new"]


def test_columnar_batches_store_publish_and_refuse_like_lists(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    t = to_micros(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    cols = readings_columns(
        np.array([1, 2, 1]),
        ["pressure", "temp"],
        np.array([0, 1, 0]),
        np.array([t, t, t + 1_000_000]),
        np.array([4.1, 40.0, 4.3]),
    )
    assert ok(run(processor, "ingest_readings", "olga", columns=cols))["stored"] == 3
    (batch,) = [e for e in events(sessions) if e.type == "asset.readings"]
    assert dict(expand(batch.topic, batch.body)) == {
        "asset/1": {"readings": {"pressure": ["2026-03-01T09:00:01.000000Z", 4.3]}},
        "asset/2": {"readings": {"temp": ["2026-03-01T09:00:00.000000Z", 40.0]}},
    }
    bad = dict(cols, metrics=["pressure"])
    assert "metric index" in run(processor, "ingest_readings", "olga", columns=bad).body["message"]
    nan = readings_columns(
        np.array([1, 1]), ["p"], np.zeros(2), np.full(2, t), np.array([1, np.nan])
    )
    refused = run(processor, "ingest_readings", "olga", columns=nan)
    assert refused.code == "bad_args" and refused.body["details"] == {"index": 1}
    late = readings_columns(np.array([1]), ["p"], np.zeros(1), np.array([2**62]), np.ones(1))
    assert (
        "ts out of range" in run(processor, "ingest_readings", "olga", columns=late).body["message"]
    )
    unknown = readings_columns(np.array([999]), ["p"], np.zeros(1), np.array([t]), np.ones(1))
    assert run(processor, "ingest_readings", "olga", columns=unknown).code == "not_found"
    garbled = {"n": 1, "cols": {"asset_id": ["i8", "AAAA"]}}
    assert run(processor, "ingest_readings", "olga", columns=garbled).code == "bad_args"
    positions = positions_columns(
        np.array([2, 1, 2]), np.array([t, t, t - 1]), np.array([24.9, 24.8, 0.0]), np.full(3, 60.2)
    )
    assert ok(run(processor, "update_crew_positions", "olga", columns=positions)) == {
        "stored": 3,
        "moved": 2,
    }
    # Crew 1's packet is older than what the crew last reported: stored, but it moves nothing.
    later = positions_columns(
        np.array([1, 2]), np.array([t - 5, t + 5]), np.array([0.0, 25.0]), np.full(2, 60.0)
    )
    assert ok(run(processor, "update_crew_positions", "olga", columns=later))["moved"] == 1
    with sessions() as s:
        crew = s.get(Crew, 2)
        assert crew is not None and crew.last_lon == 25.0 and crew.last_heading is None
        first = s.get(Crew, 1)
        assert first is not None and first.last_lon == 24.8
        assert stored_counts(s.connection()).raw == 3  # the refused batches wrote nothing
        assert stored_counts(s.connection()).positions == 5
    outside = positions_columns(np.array([1]), np.array([t]), np.array([181.0]), np.zeros(1))
    assert (
        "WGS84" in run(processor, "update_crew_positions", "olga", columns=outside).body["message"]
    )
