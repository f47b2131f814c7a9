"""Crew recommendation on a hand-made street (residential, 10 m/s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.routing import CrewSpec, JobSpec, RecommendPolicy, Router, crew_etas, recommend
from tests.backend.routing.handmade import ll, road, router

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FRESH = NOW - timedelta(seconds=30)


def street() -> Router:
    """A 1 km two-way street along y=0, a one-way loop off it, and an island street."""
    return router(
        road(1, (0, 0), (500, 0), (1000, 0)),
        road(2, (1000, 0), (1000, 200), oneway=1),
        road(3, (1000, 200), (0, 200), oneway=1),
        road(4, (0, 200), (0, 0), oneway=1),
        road(5, (0, 400), (1000, 400)),  # island: no road joins it
    )


def crew(crew_id: int, x: float, y: float, **kw: object) -> CrewSpec:
    """A crew at (x, y) metres, fresh, on shift, with the electrical skill unless told."""
    lon, lat = ll(x, y)
    fields: dict[str, object] = {"last_seen": FRESH, "skills": frozenset({"electrical"})}
    fields.update(kw)
    return CrewSpec(crew_id=crew_id, lon=lon, lat=lat, **fields)  # type: ignore[arg-type]


JOB = JobSpec(job_id=9, lon=ll(500, 0)[0], lat=ll(500, 0)[1], skills=frozenset({"electrical"}))


def test_top_three_by_road_time_with_routes() -> None:
    crews = [crew(1, 100, 0), crew(2, 450, 0), crew(3, 950, 0), crew(4, 700, 5), crew(5, 0, 0)]
    rec = recommend(street(), JOB, crews, NOW)
    assert rec.job_snapped
    assert [c.crew_id for c in rec.choices] == [2, 4, 1]
    assert [c.rank for c in rec.choices] == [1, 2, 3]
    assert [c.eta_s for c in rec.choices] == pytest.approx([5.0, 20.0, 40.0], abs=1e-3)
    for choice in rec.choices:
        assert choice.route.seconds == pytest.approx(choice.eta_s)
        assert choice.route.coords[-1] == pytest.approx(ll(500, 0), abs=1e-8)
        assert not choice.stale
    assert rec.excluded == {}


def test_one_way_loop_counts_in_the_eta() -> None:
    # On the one-way leg (0,200)→(0,0): 10 s down, 50 s along. On the top leg, heading
    # west: 10 s to the corner, 20 s down, 50 s along, though the job is straight below.
    crews = [crew(1, 0, 100), crew(2, 100, 200), crew(3, 500, 200)]
    etas = crew_etas(street(), JOB, crews, NOW).etas
    assert [(e.crew_id, round(e.eta_s, 2)) for e in etas] == [(1, 60.0), (2, 80.0), (3, 120.0)]


def test_skills_are_a_hard_filter_and_shift_too() -> None:
    crews = [
        crew(1, 490, 0, skills=frozenset({"plumbing"})),
        crew(2, 480, 0, on_shift=False),
        crew(3, 0, 0, skills=frozenset({"electrical", "plumbing"})),
        CrewSpec(crew_id=4, lon=None, lat=None, last_seen=None, skills=frozenset({"electrical"})),
    ]
    rec = recommend(street(), JOB, crews, NOW)
    assert [c.crew_id for c in rec.choices] == [3]
    assert rec.excluded == {1: "missing_skills:electrical", 2: "off_shift", 4: "no_position"}


def test_stale_positions_rank_below_fresh_ones_and_are_marked() -> None:
    crews = [
        crew(1, 490, 0, last_seen=NOW - timedelta(minutes=5)),
        crew(2, 0, 0),
        crew(3, 480, 0, last_seen=None),
    ]
    rec = recommend(street(), JOB, crews, NOW)
    assert [(c.crew_id, c.stale) for c in rec.choices] == [(2, False), (1, True), (3, True)]
    assert rec.choices[1].position_age_s == pytest.approx(300.0)
    assert rec.choices[2].position_age_s is None
    # a longer threshold makes crew 1 fresh again
    policy = RecommendPolicy(stale_after_s=600.0)
    rec = recommend(street(), JOB, crews, NOW, policy)
    assert [(c.crew_id, c.stale) for c in rec.choices] == [(1, False), (2, False), (3, True)]


def test_workload_is_a_penalty_not_a_filter() -> None:
    crews = [crew(1, 450, 0, workload=2), crew(2, 100, 0)]
    rec = recommend(street(), JOB, crews, NOW, RecommendPolicy(workload_penalty_s=60.0))
    assert [c.crew_id for c in rec.choices] == [2, 1]
    assert rec.choices[1].score_s == pytest.approx(5.0 + 120.0, abs=1e-3)
    rec = recommend(street(), JOB, crews, NOW, RecommendPolicy(workload_penalty_s=10.0))
    assert [c.crew_id for c in rec.choices] == [1, 2]


def test_ties_break_on_crew_id() -> None:
    crews = [crew(7, 400, 0), crew(3, 400, 0), crew(5, 400, 0), crew(1, 300, 0)]
    rec = recommend(street(), JOB, crews, NOW)
    assert [c.crew_id for c in rec.choices] == [3, 5, 7]


def test_unreachable_and_off_road_crews_are_listed_not_raised() -> None:
    crews = [crew(1, 500, 400), crew(2, 500, 5_000), crew(3, 0, 0)]
    rec = recommend(street(), JOB, crews, NOW)
    assert [c.crew_id for c in rec.choices] == [3]
    assert rec.excluded == {1: "unreachable", 2: "off_road"}


def test_job_off_the_network_gives_no_choices() -> None:
    job = JobSpec(job_id=1, lon=ll(500, 9_000)[0], lat=ll(500, 9_000)[1])
    rec = recommend(street(), job, [crew(1, 0, 0)], NOW)
    assert not rec.job_snapped
    assert rec.choices == ()
    assert rec.excluded == {1: "job_off_road"}


def test_top_and_limit_come_from_the_policy() -> None:
    crews = [crew(i, 50 * i, 0) for i in range(1, 10)]
    assert len(recommend(street(), JOB, crews, NOW, RecommendPolicy(top=5)).choices) == 5
    near = recommend(street(), JOB, crews, NOW, RecommendPolicy(limit_s=12.0))
    assert [c.crew_id for c in near.choices] == [9, 8]  # 5 s and 10 s away
    assert near.excluded.get(1) == "unreachable"


def test_times_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="zone"):
        recommend(street(), JOB, [crew(1, 0, 0)], NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="zone"):
        recommend(street(), JOB, [crew(1, 0, 0, last_seen=FRESH.replace(tzinfo=None))], NOW)
