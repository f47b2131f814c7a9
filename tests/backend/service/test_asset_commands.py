"""create_job, shelve_alarm, the richer get_asset_history, get_risk and get_renewal, on both DBs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backend.analytics.scoring import score_source
from backend.db.models import Alarm, Asset, AssetRisk, Event, Issue, Job
from backend.service.processor import CommandProcessor, Outcome
from tests.backend.service.risk_seed import pipe_city
from tests.backend.service.seed import T0, seed_city


@pytest.fixture
def processor(engine: Engine) -> CommandProcessor:
    seed_city(engine)
    return CommandProcessor(engine)


def run(p: CommandProcessor, name: str, user: str, key: str | None = None, **args: Any) -> Outcome:
    return p.execute({"name": name, "user": user, "key": key, "args": args}, msg_id="m")


def ok(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, outcome.body
    return outcome.body["result"]


def test_create_job_puts_the_job_at_the_asset_for_every_role(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    due = T0 + timedelta(days=2)
    ids = []
    for n, user in enumerate(("olga", "dana", "sam", "root")):
        result = ok(
            run(
                processor,
                "create_job",
                user,
                key=f"cj-{n}",
                asset_id=3,
                title=" Inspect pump 3 ",
                priority=2,
                skills=["pump", "pump", "mechanical"],
                due_at=due,
                issue_id=1 if n == 0 else None,
            )
        )
        ids.append(result["job_id"])
    with sessions() as s:
        job = s.get(Job, ids[0])
        asset = s.get(Asset, 3)
        assert job is not None and asset is not None
        assert (job.lon, job.lat) == (asset.lon, asset.lat)
        assert job.title == "Inspect pump 3" and job.priority == 2 and job.status == "new"
        assert job.skills == ["mechanical", "pump"] and job.due_at == due and job.issue_id == 1
        created = s.scalars(select(Event).where(Event.type == "job.created")).all()
        assert [e.topic for e in created] == [f"job/{i}" for i in ids]
        assert created[0].body["entity"]["asset_id"] == 3 and created[0].actor == "olga"
    # A retry with the same key does not open a second job.
    again = run(
        processor,
        "create_job",
        "olga",
        key="cj-0",
        asset_id=3,
        title="Inspect pump 3",
        priority=2,
        skills=["pump"],
        due_at=due,
        issue_id=1,
    )
    assert again.ok and again.body["replayed"] is True


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"asset_id": 999, "title": "x", "priority": 3, "skills": []}, "not_found"),
        ({"asset_id": 1, "title": "  ", "priority": 3, "skills": []}, "bad_args"),
        ({"asset_id": 1, "title": "x", "priority": 9, "skills": []}, "bad_args"),
        ({"asset_id": 1, "title": "x", "priority": 3, "skills": [1]}, "bad_args"),
        ({"asset_id": 1, "title": "x", "priority": 3, "skills": [], "issue_id": 999}, "not_found"),
        (
            {
                "asset_id": 1,
                "title": "x",
                "priority": 3,
                "skills": [],
                "due_at": datetime(2026, 1, 1),
            },
            "bad_args",
        ),
    ],
)
def test_create_job_refuses_bad_input_and_writes_nothing(
    processor: CommandProcessor, sessions: sessionmaker[Session], args: dict[str, Any], code: str
) -> None:
    assert run(processor, "create_job", "olga", key="bad", **args).code == code
    with sessions() as s:
        assert s.scalar(select(Job).where(Job.title == "x")) is None
        assert s.scalars(select(Event)).all() == []


def test_shelve_alarm_is_versioned_and_bounded(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    first = ok(
        run(
            processor,
            "shelve_alarm",
            "olga",
            key="s1",
            alarm_id=1,
            version=1,
            minutes=90,
            reason="sensor being replaced",
        )
    )
    assert first["version"] == 2
    with sessions() as s:
        alarm = s.get(Alarm, 1)
        assert alarm is not None and alarm.state == "shelved"
        assert alarm.shelve_reason == "sensor being replaced"
        assert alarm.shelved_until is not None
        span = alarm.shelved_until - datetime.now(UTC)
        assert timedelta(minutes=88) < span <= timedelta(minutes=90)
        assert first["shelved_until"].startswith(alarm.shelved_until.strftime("%Y-%m-%dT%H:%M"))
        (event,) = s.scalars(select(Event).where(Event.type == "alarm.shelved")).all()
        assert event.topic == "alarm/1" and event.body["entity"]["state"] == "shelved"
    stale = run(
        processor,
        "shelve_alarm",
        "dana",
        key="s2",
        alarm_id=1,
        version=1,
        minutes=10,
        reason="again",
    )
    assert stale.code == "conflict" and stale.body["details"]["changed_by"] == "olga"
    for minutes, reason in ((0, "r"), (1441, "r"), (10, "  ")):
        bad = run(
            processor,
            "shelve_alarm",
            "olga",
            key=f"b{minutes}",
            alarm_id=2,
            version=1,
            minutes=minutes,
            reason=reason,
        )
        assert bad.code == "bad_args", bad.body
    assert (
        run(
            processor,
            "shelve_alarm",
            "olga",
            key="nf",
            alarm_id=99,
            version=1,
            minutes=5,
            reason="r",
        ).code
        == "not_found"
    )
    with sessions.begin() as s:
        cleared = s.get(Alarm, 2)
        assert cleared is not None
        cleared.state = "cleared"
    done = run(
        processor, "shelve_alarm", "olga", key="c", alarm_id=2, version=1, minutes=5, reason="r"
    )
    assert done.code == "invalid_state"


def test_asset_history_has_jobs_with_crews_alarms_and_nearby_reports(
    processor: CommandProcessor, sessions: sessionmaker[Session]
) -> None:
    ok(run(processor, "assign_job", "dana", key="a1", job_id=2, crew_id=3, version=1))
    with sessions.begin() as s:
        asset = s.get(Asset, 1)
        assert asset is not None
        lon, lat = asset.lon, asset.lat
        assert lon is not None and lat is not None
        # 50 m north, 99 m east, 150 m north: two inside 100 m, one outside.
        for sid, dlat, dlon in (
            ("n50", 50 / 111_200, 0.0),
            ("e99", 0.0, 99 / 60_000),
            ("n150", 150 / 111_200, 0.0),
        ):
            s.add(
                Issue(
                    source="test",
                    source_id=sid,
                    category="Leak",
                    lon=lon + dlon,
                    lat=lat + dlat,
                    requested_at=T0,
                )
            )
    result = ok(run(processor, "get_asset_history", "olga", asset_id=1))
    jobs = result["jobs"]
    assert [j["id"] for j in jobs] == [4, 3, 2, 1]  # same created_at: newest id first
    assert {j["id"]: j["crew_name"] for j in jobs}[2] == "Crew 3"
    assert {j["id"]: j["crew_name"] for j in jobs}[1] is None
    assert [a["rule"] for a in result["alarms"]] == ["pressure_low"]
    near = result["nearby_issues"]
    assert [i["source_id"] for i in near][:1] == ["n50"]
    assert "n150" not in {i["source_id"] for i in near}
    assert all(i["distance_m"] <= 100 for i in near)
    d = {i["source_id"]: i["distance_m"] for i in near}
    assert abs(d["n50"] - 50) < 1.0
    # The three seeded reports sit ~1.3 km away: outside 100 m, inside 2 km.
    wide = ok(run(processor, "get_asset_history", "olga", asset_id=1, radius_m=2000.0))
    assert len(wide["nearby_issues"]) == len(near) + 1 + 4
    assert run(processor, "get_asset_history", "olga", asset_id=1, radius_m=5000.0).code == (
        "bad_args"
    )


def test_risk_and_renewal_read_the_stored_scores(
    processor: CommandProcessor, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    pipe_city(engine)
    summary = score_source(engine, "pipes", now=datetime(2025, 6, 1, tzinfo=UTC))
    assert summary["assets"] == 120
    with sessions() as s:
        assert s.scalar(select(Event.type).where(Event.type == "risk.scored")) == "risk.scored"
        p = [r.p30 for r in s.scalars(select(AssetRisk))]
    assert len(p) == 120 and all(0.0 < x < 1.0 for x in p)
    top = ok(run(processor, "get_risk", "olga", limit=10))
    assert top["count"] == 120 and len(top["assets"]) == 10
    p30 = [a["p30"] for a in top["assets"]]
    assert p30 == sorted(p30, reverse=True)
    assert all(
        a["reasons"] and all(isinstance(w, str) for w in a["reasons"]) for a in top["assets"]
    )
    mains = ok(run(processor, "get_risk", "olga", kind="water_main", limit=5000))
    assert mains["count"] == 90 and {a["kind"] for a in mains["assets"]} == {"water_main"}
    # Cast iron breaks six times as often here: it should lead the mains.
    with sessions() as s:
        material = {
            a.id: a.attributes.get("material")
            for a in s.scalars(select(Asset).where(Asset.source == "pipes"))
        }
    leaders = [material[a["asset_id"]] for a in mains["assets"][:15]]
    assert leaders.count("cast_iron") >= 10

    plan = ok(run(processor, "get_renewal", "olga", budget_m=1000.0))
    assert 0 < plan["length_m"] <= 1000.0 and plan["pipes"]
    assert abs(sum(p["length_m"] for p in plan["pipes"]) - plan["length_m"]) < 0.5
    assert {p["asset_id"] for p in plan["pipes"]} <= {a["asset_id"] for a in mains["assets"]}
    back = plan["backtest"]
    assert back is not None and back["failures_in_test"] > 0
    assert 0 <= back["avoided"] <= back["failures_in_test"]
    bigger = ok(run(processor, "get_renewal", "olga", budget_m=50_000.0))["backtest"]
    assert bigger["avoided"] >= back["avoided"]  # a bigger budget never avoids less
    assert run(processor, "get_renewal", "olga", budget_m=-5.0).code == "bad_args"
    assert run(processor, "get_risk", "olga", limit=0).code == "bad_args"
