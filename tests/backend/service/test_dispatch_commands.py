"""``recommend_crews`` and ``crew_etas`` through the command processor, on SQLite and PostgreSQL.

A hand-made block with a one-way side proves the returned routes drive
around it; an import that adds a road proves the router is rebuilt; the demo
city proves it on a generated network with real one-ways, shifts in the
city's own zone, workloads and stale positions.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from backend.db.engine import make_sessionmaker
from backend.db.models import Crew, Job, Road, User
from backend.demo_city.generate import build_demo_city
from backend.service.crew_specs import in_shift, zone_at
from backend.service.processor import CommandProcessor, Outcome
from backend.service.routing_cache import routing_for
from tests.backend.routing.handmade import block_road_rows, ll, road_table_row


def run(p: CommandProcessor, name: str, user: str = "olga", **args: Any) -> Outcome:
    """A read-only command (no idempotency key)."""
    return p.execute({"name": name, "user": user, "args": args}, msg_id="m")


def ok(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, outcome.body
    result: dict[str, Any] = outcome.body["result"]
    return result


def _crew(name: str, x: float, y: float, **kw: Any) -> Crew:
    lon, lat = ll(x, y)
    fields: dict[str, Any] = {
        "skills": ["pump"],
        "shift_start": "00:00",
        "shift_end": "00:00",
        "last_lon": lon,
        "last_lat": lat,
        "last_seen_at": datetime.now(UTC),  # fresh when the test runs, not at import
    }
    fields.update(kw)
    return Crew(name=name, **fields)


def _block_city(engine: Engine) -> dict[str, int]:
    """A 200 m square; its west side is one-way northwards. A job sits mid-west side.

    ::

        (0,200) ─────── (200,200)
          ↑ one-way        │
        job (0,100)        │
          ↑                │
        (0,0) ───────── (200,0)
    """
    with make_sessionmaker(engine).begin() as s:
        s.execute(
            insert(Road),
            block_road_rows(),
        )
        s.add_all([User(name="olga", role="operator"), User(name="dana", role="dispatcher")])
        crews = [
            _crew("South", 100, 0),  # 100 m + 100 m up the one-way: 200 m
            _crew("North", 100, 200),  # may not come down the west side: 100+200+200+100 = 600 m
            _crew(
                "Stale", 0, 50, last_seen_at=datetime.now(UTC) - timedelta(hours=1)
            ),  # 50 m, but stale
            _crew("Plumber", 0, 90, skills=["electric"]),
            _crew("Off", 0, 95),
        ]
        crews[-1].status = "off_shift"
        s.add_all(crews)
        s.flush()
        lon, lat = ll(0, 100)
        job = Job(title="Pump", skills=["pump"], lon=lon, lat=lat, created_at=datetime.now(UTC))
        s.add(job)
        s.flush()
        return {"job": job.id, **{c.name: c.id for c in crews}}


def test_recommendation_ranks_by_road_time_and_routes_obey_the_one_way(engine: Engine) -> None:
    ids = _block_city(engine)
    p = CommandProcessor(engine)
    result = ok(run(p, "recommend_crews", job_id=ids["job"]))
    got = [(c["crew_name"], c["stale"]) for c in result["choices"]]
    # Fresh crews first by ETA; the stale one is nearest by road yet ranked after them.
    assert got == [("South", False), ("North", False), ("Stale", True)]
    south, north, stale = result["choices"]
    assert south["eta_s"] == pytest.approx(200 / (25 / 3.6), rel=1e-3)
    assert south["route"]["meters"] == pytest.approx(200.0, rel=1e-3)
    # North drives round the block: east, south, then up the one-way.
    assert north["route"]["meters"] == pytest.approx(600.0, rel=1e-3)
    corners = [ll(200, 200), ll(200, 0), ll(0, 0)]
    coords = [tuple(c) for c in north["route"]["coords"]]
    for corner in corners:
        assert any(math.dist(corner, c) < 1e-6 for c in coords), corner
    assert math.dist(coords[0], ll(100, 200)) < 1e-6 and math.dist(coords[-1], ll(0, 100)) < 1e-6
    assert stale["position_age_s"] == pytest.approx(3600, abs=120)
    assert all(c["workload"] == 0 for c in result["choices"])
    reasons = {e["crew_name"]: e["reason"] for e in result["excluded"]}
    assert reasons == {"Plumber": "missing_skills:pump", "Off": "off_shift"}
    assert result["job_snapped"] and result["graph"]["segments"] == 4

    etas = ok(run(p, "crew_etas", job_id=ids["job"]))
    by_crew = {e["crew_id"]: e["eta_s"] for e in etas["etas"]}
    assert set(by_crew) == {ids["South"], ids["North"], ids["Stale"]}
    assert by_crew[ids["Stale"]] == pytest.approx(50 / (25 / 3.6), rel=1e-3)
    assert by_crew[ids["North"]] == pytest.approx(north["eta_s"], abs=0.1)


def test_workload_holder_and_top(engine: Engine) -> None:
    ids = _block_city(engine)
    p = CommandProcessor(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        lon, lat = ll(50, 0)
        for n in range(2):  # South is busy with two other jobs: 2 x 600 s penalty
            s.add(
                Job(
                    title=f"busy {n}",
                    lon=lon,
                    lat=lat,
                    created_at=datetime.now(UTC),
                    status="en_route" if n else "assigned",
                    crew_id=ids["South"],
                )
            )
        s.add(
            Job(title="finished", created_at=datetime.now(UTC), status="done", crew_id=ids["North"])
        )
        s.execute(
            update(Job).where(Job.id == ids["job"]).values(crew_id=ids["North"], status="assigned")
        )
    result = ok(run(p, "recommend_crews", job_id=ids["job"], top=1))
    (only,) = result["choices"]
    # North holds the job already; South carries two open jobs (2 x 600 s on its score) yet,
    # being the only fresh crew left, still ranks before the stale one.
    assert (only["crew_name"], only["workload"]) == ("South", 2)
    assert only["score_s"] == pytest.approx(only["eta_s"] + 1200.0, abs=0.2)
    reasons = {e["crew_name"]: e["reason"] for e in result["excluded"]}
    assert reasons["North"] == "has_this_job"


def test_refusals_are_clear(engine: Engine) -> None:
    ids = _block_city(engine)
    p = CommandProcessor(engine)
    assert run(p, "recommend_crews", job_id=999).code == "not_found"
    assert run(p, "recommend_crews", job_id=ids["job"], top=0).code == "bad_args"
    assert run(p, "recommend_crews", job_id="1").code == "bad_args"
    assert run(p, "crew_etas").code == "bad_args"
    assert run(p, "recommend_crews", user="nobody", job_id=ids["job"]).code == "unauthenticated"
    with make_sessionmaker(engine).begin() as s:
        s.add(Job(title="nowhere", created_at=datetime.now(UTC)))
        s.execute(update(Job).where(Job.id == ids["job"]).values(status="done"))
        nowhere = s.scalar(select(Job.id).where(Job.title == "nowhere"))
    done = run(p, "recommend_crews", job_id=ids["job"])
    assert done.code == "invalid_state" and "done" in done.body["message"]
    assert run(p, "crew_etas", job_id=nowhere).code == "invalid_state"


def test_no_roads_is_said_plainly(engine: Engine) -> None:
    with make_sessionmaker(engine).begin() as s:
        s.add(User(name="olga", role="operator"))
        lon, lat = ll(0, 0)
        s.add(Job(title="x", lon=lon, lat=lat, created_at=datetime.now(UTC)))
    outcome = run(CommandProcessor(engine), "recommend_crews", job_id=1)
    assert outcome.code == "no_roads" and "import" in outcome.body["message"]


def test_router_is_rebuilt_when_roads_are_added(engine: Engine) -> None:
    ids = _block_city(engine)
    p = CommandProcessor(engine)
    before = ok(run(p, "crew_etas", job_id=ids["job"]))
    north = {e["crew_id"]: e["eta_s"] for e in before["etas"]}[ids["North"]]
    cache = routing_for(engine)
    assert cache.builds == 1
    # A new two-way road from the north side straight down to the job's corner area.
    with make_sessionmaker(engine).begin() as s:
        s.execute(insert(Road), [road_table_row("cut", (100, 200), (0, 100))])
    # The first query after the change starts the rebuild; answers then use the new network.
    ok(run(p, "crew_etas", job_id=ids["job"]))
    assert cache.wait_ready(30)
    after = ok(run(p, "crew_etas", job_id=ids["job"]))
    assert cache.builds == 2 and after["graph"]["roads"] == 5
    north_after = {e["crew_id"]: e["eta_s"] for e in after["etas"]}[ids["North"]]
    assert north_after == pytest.approx(math.hypot(100, 100) / (25 / 3.6), abs=0.15)
    assert north_after < north / 3


def test_shift_hours_are_read_in_the_crews_own_zone() -> None:
    berlin = zone_at(10.45, 53.05)
    assert str(berlin) == "Europe/Berlin"
    assert str(zone_at(-71.1, 42.37)) == "America/New_York"
    assert zone_at(None, None) is UTC and zone_at(-30.0, 40.0) is UTC  # at sea
    noon_utc = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 13:00 in Berlin (winter)
    assert in_shift("12:30", "13:30", noon_utc, berlin)
    assert not in_shift("11:30", "12:30", noon_utc, berlin)
    assert in_shift("11:30", "12:30", noon_utc, UTC)
    assert in_shift("22:00", "06:00", datetime(2026, 1, 15, 2, tzinfo=UTC), UTC)  # overnight
    assert not in_shift("22:00", "06:00", datetime(2026, 1, 15, 7, tzinfo=UTC), UTC)
    assert in_shift("07:00", "07:00", noon_utc, berlin) and in_shift("bad", "x", noon_utc, UTC)


def _forbidden_moves(session: Session) -> set[tuple[tuple[float, float], tuple[float, float]]]:
    """Vertex moves (rounded like the wire) that a one-way road forbids and none allows."""
    allowed: set[tuple[tuple[float, float], tuple[float, float]]] = set()
    forbidden: set[tuple[tuple[float, float], tuple[float, float]]] = set()
    for geom, oneway in session.execute(
        select(Road.geom, Road.oneway).where(Road.drivable.is_(True))
    ):
        lines = [geom] if geom.geom_type == "LineString" else list(geom.geoms)
        for line in lines:
            pts = [(round(x, 7), round(y, 7)) for x, y in line.coords]
            for a, b in pairwise(pts):
                (allowed if oneway >= 0 else forbidden).add((a, b))
                (allowed if oneway <= 0 else forbidden).add((b, a))
    return forbidden - allowed


@pytest.mark.slow
def test_demo_city_recommendations(engine: Engine) -> None:
    build_demo_city(engine, seed=7)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        user = s.scalars(select(User.name).where(User.role == "dispatcher")).first()
        jobs = s.execute(
            select(Job.id, Job.crew_id).where(Job.status.in_(("new", "assigned"))).order_by(Job.id)
        ).all()
        forbidden = _forbidden_moves(s)
        crews = {c.id: c for c in s.scalars(select(Crew))}
    assert user and jobs and len(forbidden) > 50
    p = CommandProcessor(engine)
    # Shifts are Berlin time (the city's zone); an off-shift status always excludes.
    local = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin"))
    on_shift = {
        i
        for i, c in crews.items()
        if c.status != "off_shift" and in_shift(c.shift_start, c.shift_end, local, local.tzinfo)  # type: ignore[arg-type]
    }
    one_way_moves = 0
    routed = 0
    for job_id, holder in jobs[:15]:
        result = ok(run(p, "recommend_crews", user, job_id=job_id))
        off = {e["crew_id"] for e in result["excluded"] if e["reason"] == "off_shift"}
        assert off == set(crews) - on_shift - {holder}
        stale_seen = False
        for choice in result["choices"]:
            route = choice["route"]
            assert route["seconds"] == pytest.approx(choice["eta_s"], abs=0.1)
            coords = [tuple(c) for c in route["coords"]]
            moves = set(pairwise(coords))
            assert not moves & forbidden, "a route drives a one-way street the wrong way"
            one_way_moves += len(moves & {(b, a) for a, b in forbidden})
            assert not (stale_seen and not choice["stale"]), "a fresh crew ranked after a stale one"
            stale_seen |= choice["stale"]
            routed += 1
    assert routed >= 15
    assert one_way_moves > 0  # routes did use one-way streets, the right way
