"""Fleet plans on hand-made roads where the best plan is known.

The test speed table drives residential roads at 10 m/s, so 1 km is 100 s.
Most cases sit on one straight east-west road through the depot at x = 0.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import Engine

from backend.routing.fleet import (
    FleetJob,
    FleetPolicy,
    FleetVehicle,
    greedy,
    plan_fleet,
    prepare,
    solve,
    sweep,
)
from backend.routing.matrix import travel_matrix
from backend.routing.snapping import Snap
from tests.backend.routing.handmade import ll, road, router
from tests.conftest import shared_file

H = 3600.0
PUMP = frozenset({"pump"})
FAST = FleetPolicy(time_limit_s=0.5)


def line_router() -> object:
    """One straight road from x = -5 km to x = 5 km, and a separate road far north."""
    return router(road(1, (-5000, 0), (5000, 0)), road(2, (0, 3000), (1000, 3000)))


def crew(vid: int, skills: frozenset[str] = PUMP, x: float = 0.0, **kw: object) -> FleetVehicle:
    fields: dict[str, object] = {"depot": ll(0, 0), "start": ll(x, 0), "shift_end_s": 8 * H}
    fields.update(kw)
    return FleetVehicle(vid, skills, **fields)  # type: ignore[arg-type]


def job(jid: int, x: float, y: float = 0.0, **kw: object) -> FleetJob:
    fields: dict[str, object] = {"skills": PUMP, "service_s": 600.0}
    fields.update(kw)
    return FleetJob(jid, *ll(x, y), **fields)  # type: ignore[arg-type]


def stops(plan: object) -> dict[int, list[int]]:
    return {r.vehicle_id: [s.job_id for s in r.stops] for r in plan.routes}  # type: ignore[attr-defined]


def test_two_clusters_need_two_crews_only_when_one_shift_cannot_hold_both() -> None:
    r = line_router()
    jobs = [job(1, -3000, service_s=H), job(2, -3100, service_s=H)]
    jobs += [job(3, 3000, service_s=H), job(4, 3100, service_s=H)]
    long_shift = [crew(1), crew(2)]
    plan = plan_fleet(r, long_shift, jobs, FAST)  # type: ignore[arg-type]
    # One crew: 4 h on site + 12.4 km of driving fits 8 h; a second crew would cost its fixed cost.
    assert plan.vehicles_used == 1 and plan.jobs_served == 4 and not plan.unserved
    assert plan.travel_s == pytest.approx(1240.0, abs=2)
    short_shift = [crew(1, shift_end_s=3 * H), crew(2, shift_end_s=3 * H)]
    plan = plan_fleet(r, short_shift, jobs, FAST)  # type: ignore[arg-type]
    assert plan.vehicles_used == 2 and plan.jobs_served == 4
    routes = sorted(sorted(s) for s in stops(plan).values())
    assert routes == [[1, 2], [3, 4]]  # one crew per cluster
    assert plan.travel_s == pytest.approx(4 * 310.0, abs=2)
    assert all(r.end_s <= 3 * H for r in plan.routes)


def test_a_skill_only_one_crew_has_sends_that_crew_even_from_farther() -> None:
    r = line_router()
    near = crew(1, x=900)
    far = crew(2, frozenset({"pump", "gas"}), x=-2000)
    plan = plan_fleet(r, [near, far], [job(1, 1000, skills=frozenset({"gas"}))], FAST)  # type: ignore[arg-type]
    assert stops(plan) == {2: [1]}
    (route,) = plan.routes
    assert route.stops[0].travel_s == pytest.approx(300.0, abs=0.5)
    assert route.stops[0].eta_s == pytest.approx(300.0, abs=0.5)


def test_a_time_window_forces_the_far_job_first() -> None:
    r = line_router()
    jobs = [job(1, 1000), job(2, 2000)]
    roaming = crew(1, depot=None)  # no drive home, so the order matters: near first is best
    free = plan_fleet(r, [roaming], jobs, FAST)  # type: ignore[arg-type]
    assert stops(free) == {1: [1, 2]} and free.travel_s == pytest.approx(200.0, abs=0.5)
    jobs[1] = replace(jobs[1], latest_s=250.0)  # reachable only by going straight there
    forced = plan_fleet(r, [roaming], jobs, FAST)  # type: ignore[arg-type]
    assert stops(forced) == {1: [2, 1]}
    first, second = forced.routes[0].stops
    assert first.eta_s == pytest.approx(200.0, abs=0.5) and first.eta_s <= 250.0
    assert second.eta_s == pytest.approx(200.0 + 600.0 + 100.0, abs=1.0)


def test_an_earliest_start_makes_the_crew_wait_and_says_so() -> None:
    r = line_router()
    plan = plan_fleet(r, [crew(1)], [job(1, 1000, earliest_s=1000.0)], FAST)  # type: ignore[arg-type]
    (stop,) = plan.routes[0].stops
    assert stop.eta_s == pytest.approx(1000.0) and stop.wait_s == pytest.approx(900.0, abs=0.5)


def test_jobs_no_crew_can_do_are_reported_with_their_reason_not_dropped_silently() -> None:
    r = line_router()
    jobs = [
        job(1, 500),  # fine
        job(2, 500, 3000),  # on the northern road: no drive from the depot
        job(3, 500, skills=frozenset({"crane"})),  # nobody has the skill
        job(4, 4000, latest_s=100.0),  # 400 s away, must start within 100 s
        job(5, 500, service_s=20 * H),  # longer than any shift
        job(6, 500, 20000),  # 17 km from any road
        job(7, 600, demand=5),  # bigger than the crew's capacity
    ]
    plan = plan_fleet(r, [crew(1, capacity=3)], jobs, FAST)  # type: ignore[arg-type]
    assert stops(plan) == {1: [1]}
    reasons = {u.job_id: u.reason for u in plan.unserved}
    assert reasons == {
        2: "unreachable",
        3: "no_crew_with_skills",
        4: "window_unreachable",
        5: "shift_too_short",
        6: "off_road",
        7: "over_capacity",
    }
    assert plan.jobs_served + len(plan.unserved) == len(jobs)


def test_crews_that_cannot_work_are_excluded_with_reasons() -> None:
    r = line_router()
    vehicles = [
        crew(1),
        FleetVehicle(2, PUMP),  # no start, no depot
        crew(3, shift_start_s=-2 * H, shift_end_s=-H),  # shift over
        crew(4, x=-4000, shift_end_s=100.0),  # 400 s from its depot, 100 s of shift left
        crew(5, start=ll(0, 3000)),  # on the northern road: cannot drive home
    ]
    p = prepare(r, vehicles, [job(1, 100)])  # type: ignore[arg-type]
    assert p.excluded == {
        2: "no_position",
        3: "shift_over",
        4: "cannot_return_in_shift",
        5: "depot_unreachable",
    }
    plan = solve(p, FAST)
    assert stops(plan) == {1: [1]} and plan.excluded == p.excluded


def test_when_time_runs_short_the_low_priority_job_is_the_one_left() -> None:
    r = line_router()
    jobs = [job(1, 1000, service_s=H, priority=5), job(2, -1000, service_s=H, priority=1)]
    plan = plan_fleet(r, [crew(1, shift_end_s=1.5 * H)], jobs, FAST)  # type: ignore[arg-type]
    assert stops(plan) == {1: [2]}
    assert [(u.job_id, u.reason) for u in plan.unserved] == [(1, "no_capacity")]


def test_a_due_time_is_soft_the_job_is_served_late_and_the_lateness_reported() -> None:
    r = line_router()
    plan = plan_fleet(r, [crew(1)], [job(1, 3000, due_s=100.0, priority=1)], FAST)  # type: ignore[arg-type]
    (stop,) = plan.routes[0].stops
    assert stop.late_s == pytest.approx(200.0, abs=0.5)
    assert plan.late_jobs == 1 and plan.totals()["late_min"] == pytest.approx(3.3, abs=0.1)


def test_urgent_jobs_go_first_when_both_cannot_be_on_time() -> None:
    r = line_router()
    # Both due at 200 s, 1 km either side: whichever comes second is late by ~30 min.
    jobs = [job(1, 1000, due_s=200.0, priority=5), job(2, -1000, due_s=200.0, priority=1)]
    plan = plan_fleet(r, [crew(1)], jobs, FAST)  # type: ignore[arg-type]
    assert stops(plan) == {1: [2, 1]}


def test_an_assigned_job_stays_with_its_crew() -> None:
    r = line_router()
    jobs = [job(1, 1000, vehicle_id=2)]
    plan = plan_fleet(r, [crew(1, x=1000), crew(2, x=-3000)], jobs, FAST)  # type: ignore[arg-type]
    assert stops(plan) == {2: [1]}
    gone = plan_fleet(r, [crew(1)], jobs, FAST)  # type: ignore[arg-type]
    assert [(u.job_id, u.reason) for u in gone.unserved] == [(1, "crew_unavailable")]


def test_capacity_spreads_jobs_over_crews() -> None:
    r = line_router()
    jobs = [job(1, 100), job(2, 200), job(3, 300)]
    plan = plan_fleet(r, [crew(1, capacity=2), crew(2, capacity=2)], jobs, FAST)  # type: ignore[arg-type]
    assert plan.vehicles_used == 2 and plan.jobs_served == 3
    assert max(len(s) for s in stops(plan).values()) == 2


def test_a_crew_without_a_depot_ends_at_its_last_job() -> None:
    r = line_router()
    plan = plan_fleet(r, [crew(1, depot=None)], [job(1, 2000)], FAST)  # type: ignore[arg-type]
    (route,) = plan.routes
    assert route.return_s == 0.0 and route.travel_s == pytest.approx(200.0, abs=0.5)


def test_sweep_reports_what_each_fleet_size_serves() -> None:
    r = line_router()
    jobs = [job(i, x, service_s=H) for i, x in enumerate((-3000, -3100, 3000, 3100), start=1)]
    vehicles = [crew(v, shift_end_s=3 * H) for v in (1, 2, 3)]
    rows = sweep(prepare(r, vehicles, jobs), [0, 1, 2, 3], FAST)  # type: ignore[arg-type]
    assert [(w.max_vehicles, w.vehicles_used, w.jobs_served) for w in rows] == [
        (0, 0, 0),
        (1, 1, 2),
        (2, 2, 4),
        (3, 2, 4),  # a third crew is not worth its fixed cost
    ]


def test_the_solver_serves_what_the_greedy_baseline_strands() -> None:
    r = line_router()
    # Greedy gives the urgent job to its nearest crew A, which then cannot make job 2's
    # window; the solver sends A to job 2 first and then back to the urgent one.
    jobs = [job(1, 100, priority=1), job(2, 1000, priority=2, latest_s=150.0)]
    vehicles = [crew(1, x=0), crew(2, x=-3000)]
    p = prepare(r, vehicles, jobs)  # type: ignore[arg-type]
    base, best = greedy(p), solve(p, FAST)
    assert stops(base) == {1: [1]} and [u.job_id for u in base.unserved] == [2]
    assert stops(best) == {1: [2, 1]} and not best.unserved


def test_bad_input_is_refused_clearly() -> None:
    r = line_router()
    with pytest.raises(ValueError, match="priority"):
        prepare(r, [crew(1)], [job(1, 0, priority=9)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="twice"):
        prepare(r, [crew(1), crew(1)], [])  # type: ignore[arg-type]


def test_travel_matrix_equals_one_search_per_target_on_a_one_way_block() -> None:
    r = router(
        road(1, (0, 0), (200, 0)),
        road(2, (200, 0), (200, 200)),
        road(3, (200, 200), (0, 200)),
        road(4, (0, 0), (0, 200), oneway=1),
        road(5, (0, 1000), (100, 1000)),  # an island
    )
    pts = [(0, 50), (0, 150), (100, 0), (200, 100), (100, 200), (0, 0), (50, 1000), (0, 100)]
    snaps = r.snapper.snap_many([ll(*q)[0] for q in pts], [ll(*q)[1] for q in pts])
    m = travel_matrix(r.graph, snaps, chunk=3)
    for j, target in enumerate(snaps):
        assert target is not None
        want = r.search_to(target).seconds_many(snaps)
        want[j] = 0.0
        np.testing.assert_allclose(m[:, j], want, rtol=1e-9, atol=1e-9)
    # Down the one-way west side is not allowed: 50 m north, then round the block.
    assert m[1, 0] == pytest.approx((50 + 200 + 200 + 200 + 50) / 10.0)
    assert m[0, 1] == pytest.approx(10.0)
    assert math.isinf(m[0, 6]) and math.isinf(m[6, 0])


def test_travel_matrix_equals_one_search_per_target_on_cambridge(sqlite_engine: Engine) -> None:
    from backend.routing import Router
    from tests.backend.routing.test_real_networks import imported_graph

    graph = imported_graph(sqlite_engine, shared_file("cambridge", "TRANS_Centerlines.geojson"))
    r = Router(graph)
    rng = np.random.default_rng(7)
    segs = rng.choice(graph.n_segments, size=60, replace=False)  # some in cut-off pieces too
    snaps: list[Snap | None] = []
    for seg in segs.tolist():
        along = float(rng.uniform(0.0, graph.seg_proj_len[seg]))
        lon, lat = graph.piece_lonlat(seg, along, along)[0]
        frac = along / graph.seg_proj_len[seg]
        snaps.append(Snap(seg, along, frac, 0.0, float(lon), float(lat)))
    m = travel_matrix(graph, snaps, chunk=16)
    for j, target in enumerate(snaps):
        assert target is not None
        want = r.search_to(target).seconds_many(snaps)
        want[j] = 0.0
        np.testing.assert_allclose(m[:, j], want, rtol=1e-9, atol=1e-6)
    assert np.isfinite(m).mean() > 0.5
