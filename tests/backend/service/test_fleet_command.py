"""``plan_fleet`` through the command processor and ``main.py fleet plan``, SQLite and PostgreSQL.

The city: one straight 10 km residential road through the depot at x = 0,
two pump crews at the depot, one of them also doing gas, and a crane crew
off shift; open, assigned, closed, overdue, unplaceable and off-road jobs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from backend.db.engine import make_sessionmaker
from backend.db.models import Crew, Event, Job, Road, User
from backend.service.processor import CommandProcessor, Outcome
from tests.backend.routing.handmade import ll, road_table_row
from tests.backend.service.seed import USERS


def run(p: CommandProcessor, user: str = "dana", **args: Any) -> Outcome:
    return p.execute({"name": "plan_fleet", "user": user, "args": args}, msg_id="m")


def ok(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, outcome.body
    result: dict[str, Any] = outcome.body["result"]
    return result


def _job(title: str, x: float | None, y: float = 0.0, **kw: Any) -> Job:
    lon, lat = ll(x, y) if x is not None else (None, None)
    fields: dict[str, Any] = {"skills": ["pump"], "created_at": datetime.now(UTC)}
    fields.update(kw)
    return Job(title=title, lon=lon, lat=lat, **fields)


def _city(engine: Engine) -> dict[str, int]:
    depot = ll(0, 0)
    with make_sessionmaker(engine).begin() as s:
        s.execute(insert(Road), [road_table_row("main", (-5000, 0), (5000, 0))])
        s.add_all(User(name=n, role=r) for n, r in USERS.items())
        crews = {
            name: Crew(
                name=name,
                skills=skills,
                depot_lon=depot[0],
                depot_lat=depot[1],
                shift_start="00:00",
                shift_end="00:00",  # round the clock: planned over the 12 h horizon
                status=status,
            )
            for name, skills, status in (
                ("Pumps", ["pump"], "available"),
                ("Gas", ["pump", "gas"], "available"),
                ("Crane", ["crane"], "off_shift"),
            )
        }
        s.add_all(crews.values())
        s.flush()
        jobs = {
            "west": _job("West pump", -2000),
            "west2": _job("West pump 2", -2100),
            "gas": _job("Gas leak", 1500, skills=["gas"], priority=1),
            "pinned": _job(
                "Pinned", 500, status="assigned", crew_id=crews["Pumps"].id, assigned_by="dana"
            ),
            "crane": _job("Lift", 100, skills=["crane"]),
            "nowhere": _job("No place", None),
            "offroad": _job("Far away", 0, 20000),
            "done": _job("Done already", 100, status="done"),
            "late": _job("Overdue", 3000, due_at=datetime.now(UTC) - timedelta(hours=1)),
        }
        s.add_all(jobs.values())
        s.flush()
        return {**{k: c.id for k, c in crews.items()}, **{k: j.id for k, j in jobs.items()}}


def _counts(engine: Engine) -> tuple[int, list[tuple[int, int, str]]]:
    with make_sessionmaker(engine)() as s:
        events = s.scalar(select(func.count()).select_from(Event)) or 0
        jobs = [(j.id, j.version, j.status) for j in s.scalars(select(Job).order_by(Job.id))]
    return events, jobs


def test_plan_covers_open_jobs_on_shift_crews_and_says_why_for_the_rest(engine: Engine) -> None:
    ids = _city(engine)
    before = _counts(engine)
    p = CommandProcessor(engine)
    plan = ok(run(p, time_limit_s=1.0))
    routes = {r["crew_name"]: [s["job_id"] for s in r["stops"]] for r in plan["routes"]}
    served = sorted(j for stops in routes.values() for j in stops)
    assert served == sorted([ids["west"], ids["west2"], ids["gas"], ids["pinned"], ids["late"]])
    assert ids["gas"] in routes["Gas"] and ids["pinned"] in routes["Pumps"]
    reasons = {u["job_id"]: u["reason"] for u in plan["unserved"]}
    assert reasons == {
        ids["crane"]: "no_skilled_crew_on_shift",
        ids["nowhere"]: "no_location",
        ids["offroad"]: "off_road",
    }
    assert ids["done"] not in reasons  # closed jobs are not planned unless asked for
    assert plan["excluded_crews"] == [
        {"crew_id": ids["Crane"], "crew_name": "Crane", "reason": "off_shift"}
    ]
    totals = plan["totals"]
    assert totals["jobs_served"] == 5 and totals["jobs_unserved"] == 3
    assert totals["vehicles_used"] == len(plan["routes"]) == 2
    late = next(s for r in plan["routes"] for s in r["stops"] if s["job_id"] == ids["late"])
    assert late["late_min"] > 60  # due an hour ago, and 3 km away
    first = plan["routes"][0]["stops"][0]
    assert first["eta"] > plan["computed_at"] and first["travel_min"] > 0
    assert plan["graph"]["segments"] == 1 and plan["time_limit_s"] == 1.0
    assert _counts(engine) == before  # read-only: no event, no job changed


def test_plan_arguments_narrow_it_and_bad_ones_are_refused(engine: Engine) -> None:
    ids = _city(engine)
    p = CommandProcessor(engine)
    only = ok(run(p, time_limit_s=0.5, job_ids=[ids["west"], ids["done"]], crew_ids=[ids["Gas"]]))
    assert [[s["job_id"] for s in r["stops"]] for r in only["routes"]] == [[ids["west"]]]
    assert [(u["job_id"], u["reason"]) for u in only["unserved"]] == [(ids["done"], "not_open")]
    one = ok(run(p, time_limit_s=0.5, max_vehicles=1, service_min=10))
    assert one["totals"]["vehicles_used"] == 1
    # The pinned job's crew does the gas leak? No: only Gas has gas, so one of them is left.
    assert {u["reason"] for u in one["unserved"]} >= {"no_capacity"}
    for bad in (
        {"time_limit_s": 0},
        {"time_limit_s": 11},
        {"crew_ids": "1"},
        {"job_ids": [True]},
        {"max_vehicles": -1},
        {"service_min": 5000},
        {"max_jobs_per_crew": 0},
    ):
        out = run(p, **bad)
        assert not out.ok and out.code == "bad_args", (bad, out.body)
    missing = run(p, job_ids=[999999])
    assert missing.code == "not_found" and missing.body["details"]["ids"] == [999999]
    assert run(p, user="olga").code == "forbidden"  # operators do not plan the fleet


def test_cli_prints_the_plan_and_a_json_last_line(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from main import main

    ids = _city(engine)
    assert main(["fleet", "plan", "--db", db_url, "--time-limit", "0.5"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("fleet plan (ortools")
    assert any(line.strip().startswith("1. ") for line in out)
    assert any("no_skilled_crew_on_shift" in line for line in out)
    totals = json.loads(out[-1])
    assert totals["jobs_served"] == 5 and totals["vehicles_used"] == 2
    assert main(["fleet", "plan", "--db", db_url, "--time-limit", "0.5", "--json"]) == 0
    whole = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {r["crew_id"] for r in whole["routes"]} == {ids["Pumps"], ids["Gas"]}
    assert main(["fleet", "plan", "--db", db_url, "--job", "424242"]) == 2
