"""The citizens' commands against the real database (SQLite and PostgreSQL), without sockets:
notices decided when an issue closes (once, also on retry), the citizen record, request queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db.models import Citizen, CitizenInteraction, Event, Issue
from backend.service.processor import CommandProcessor, Outcome
from tests.backend.service.seed import T0, seed_city


@pytest.fixture
def processor(engine: Engine) -> CommandProcessor:
    seed_city(engine)
    return CommandProcessor(engine)


def run(p: CommandProcessor, name: str, user: str, key: str | None = None, **args: Any) -> Outcome:
    key = key or f"{name}-{user}-{sorted(args.items())!r}"[:120]
    return p.execute({"name": name, "user": user, "key": key, "args": args}, msg_id="m")


def ok(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, outcome.body
    return outcome.body["result"]


def report(p: CommandProcessor, citizen: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return ok(
        run(
            p,
            "report_issue",
            "olga",
            category="Pothole",
            service_code="pothole",
            lon=24.95,
            lat=60.17,
            channel="open311",
            citizen=citizen,
            job={"title": "Fill it", "priority": 3},
            **extra,
        )
    )


def fix(p: CommandProcessor, job_id: int, key: str = "done-1") -> Outcome:
    ok(run(p, "assign_job", "dana", job_id=job_id, crew_id=1, version=1))
    ok(run(p, "set_job_status", "dana", job_id=job_id, status="en_route", version=2))
    return run(p, "set_job_status", "dana", key=key, job_id=job_id, status="done", version=3)


def notices(sessions: sessionmaker[Session]) -> list[CitizenInteraction]:
    with sessions() as s:
        return list(
            s.scalars(
                select(CitizenInteraction)
                .where(CitizenInteraction.kind == "notice")
                .order_by(CitizenInteraction.id)
            )
        )


def test_fixing_the_issue_records_one_notice_per_reporter_even_on_retry(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    made = report(processor, {"name": "Aino", "email": "aino@example.org"})
    issue_id, job_id = made["issue_id"], made["job_id"]
    # A second citizen reported the same hole by phone (a call logged on the issue).
    with sessions.begin() as s:
        caller = Citizen(name="Ben", phone="+358401234567", created_at=T0)
        s.add(caller)
        s.flush()
        s.add(
            CitizenInteraction(
                citizen_id=caller.id, issue_id=issue_id, ts=T0, channel="phone", kind="report"
            )
        )
    done = fix(processor, job_id)
    assert ok(done)["issue_closed"] is True
    again = run(
        processor, "set_job_status", "dana", key="done-1", job_id=job_id, status="done", version=3
    )
    assert again.ok and again.body["replayed"] is True
    # Another key cannot close it twice either: the job is final.
    assert (
        run(
            processor, "set_job_status", "dana", key="d2", job_id=job_id, status="done", version=4
        ).code
        == "invalid_state"
    )
    sent = notices(sessions)
    assert [(n.channel, n.delivery, n.issue_id) for n in sent] == [
        ("email", "pending", issue_id),
        ("sms", "pending", issue_id),
    ]
    assert "resolved by job" in (sent[0].body or "") and "Pothole" in (sent[0].body or "")
    with sessions() as s:
        types = list(
            s.scalars(
                select(Event.type).where(Event.topic == f"issue/{issue_id}").order_by(Event.seq)
            )
        )
        issue = s.get(Issue, issue_id)
        assert issue is not None and issue.status == "closed"
        assert issue.updated_at == sent[0].ts  # GeoReport's updated_datetime is the notice's time
    assert types == [
        "issue.reported",
        "issue.in_progress",
        "issue.closed",
        "citizen.notice",
        "citizen.notice",
    ]


def test_a_citizen_who_wants_no_messages_gets_a_web_notice_only(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    made = report(processor, {"email": "quiet@example.org"})
    with sessions.begin() as s:
        citizen = s.scalars(select(Citizen)).one()
        citizen.notify = False
    ok(fix(processor, made["job_id"]))
    (notice,) = notices(sessions)
    assert notice.channel == "web" and notice.delivery is None
    assert ok(run(processor, "pending_notices", "olga"))["notices"] == []


def test_the_citizen_record_lists_reports_status_notes_and_notices_in_time_order(
    processor: CommandProcessor,
) -> None:
    first = report(processor, {"name": "Aino", "email": "aino@example.org"})
    second = report(
        processor,
        {"email": "aino@example.org"},
        description="another one",
        media_url="https://example.org/p.jpg",
        attributes={"depth": "deep", "lanes": ["1", "2"]},
    )
    ok(fix(processor, first["job_id"]))
    record = ok(run(processor, "get_citizen", "olga", email="aino@example.org"))
    assert record["citizen"]["name"] == "Aino"
    kinds = [(i["kind"], i["issue_id"]) for i in record["interactions"]]
    assert kinds == [
        ("report", first["issue_id"]),
        ("report", second["issue_id"]),
        ("status", first["issue_id"]),
        ("notice", first["issue_id"]),
    ]
    stamps = [i["ts"] for i in record["interactions"]]
    assert stamps == sorted(stamps)
    assert record["interactions"][-1]["issue_status"] == "closed"
    assert record["interactions"][-1]["delivery"] == "pending"
    by_id = ok(run(processor, "get_citizen", "olga", citizen_id=record["citizen"]["id"]))
    assert by_id == record
    assert run(processor, "get_citizen", "olga", email="nobody@example.org").code == "not_found"
    assert run(processor, "get_citizen", "olga").code == "bad_args"
    (req,) = ok(run(processor, "list_requests", "olga", ids=[second["issue_id"]]))["requests"]
    assert req["media_url"] == "https://example.org/p.jpg"


def test_delivery_attempts_are_recorded_once_each_until_sent_or_given_up(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    ok(fix(processor, report(processor, {"email": "a@example.org"})["job_id"]))
    ok(fix(processor, report(processor, {"email": "b@example.org"})["job_id"], key="done-2"))
    pending = ok(run(processor, "pending_notices", "olga"))["notices"]
    assert [n["email"] for n in pending] == ["a@example.org", "b@example.org"]
    a, b = pending[0]["id"], pending[1]["id"]
    failed = run(
        processor, "record_notice_delivery", "olga", key="a1", notice_id=a, ok=False, error="down"
    )
    assert ok(failed) == {"notice_id": a, "delivery": "pending", "attempts": 1}
    replay = run(
        processor, "record_notice_delivery", "olga", key="a1", notice_id=a, ok=False, error="down"
    )
    assert replay.body["replayed"] and ok(replay)["attempts"] == 1
    sent = ok(run(processor, "record_notice_delivery", "olga", key="a2", notice_id=a, ok=True))
    assert sent == {"notice_id": a, "delivery": "sent", "attempts": 2}
    again = run(processor, "record_notice_delivery", "olga", key="a3", notice_id=a, ok=True)
    assert again.code == "invalid_state"
    for attempt in (1, 2):
        out = run(
            processor,
            "record_notice_delivery",
            "olga",
            key=f"b{attempt}",
            notice_id=b,
            ok=False,
            max_attempts=2,
        )
        assert ok(out)["delivery"] == ("pending" if attempt == 1 else "failed")
    assert ok(run(processor, "pending_notices", "olga"))["notices"] == []
    with sessions() as s:
        row = s.get(CitizenInteraction, a)
        assert row is not None and row.delivered_at is not None and row.delivery_error is None
        types = list(s.scalars(select(Event.type).where(Event.type.like("citizen.%"))))
    assert types.count("citizen.notice_delivery") == 4  # a1, a2, b1, b2: the replay wrote none


def test_list_requests_filters(processor: CommandProcessor) -> None:
    made = [report(processor, {"email": f"c{i}@example.org"}) for i in range(3)]
    ok(fix(processor, made[0]["job_id"]))
    ids = {m["issue_id"] for m in made}

    def listed(**args: Any) -> set[int]:
        return {r["id"] for r in ok(run(processor, "list_requests", "olga", **args))["requests"]}

    everything = listed()
    assert ids < everything and 1 in everything  # the seed's issues (no code) too
    assert listed(service_code="pothole", category="Pothole") == ids
    assert listed(service_code="pump_failure", category="Pump failure") == {1, 2, 3, 4}
    assert listed(status="closed") == {made[0]["issue_id"]}
    assert made[0]["issue_id"] not in listed(status="open")
    assert listed(start=T0 + timedelta(days=1)) == ids
    assert listed(end=T0 + timedelta(days=1)) == {1, 2, 3, 4}
    assert listed(ids=[made[1]["issue_id"], 9999]) == {made[1]["issue_id"]}
    assert len(listed(limit=2)) == 2
    assert run(processor, "list_requests", "olga", status="pending").code == "bad_args"
    assert run(processor, "list_requests", "olga", limit=5000).code == "bad_args"
    assert run(processor, "list_requests", "olga", ids=["x"]).code == "bad_args"
    now = datetime.now(UTC)
    assert run(processor, "list_requests", "olga", start=now, end=now - timedelta(1)).code == (
        "bad_args"
    )
    services = ok(run(processor, "list_services", "olga"))["services"]
    assert {(s["service_code"], s["category"], s["count"]) for s in services} == {
        ("pothole", "Pothole", 3),
        (None, "Pump failure", 4),
    }


def test_bad_attributes_write_nothing(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    out = run(processor, "report_issue", "olga", category="Pothole", attributes={"depth": 3})
    assert out.code == "bad_args"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 4  # the seed's only
