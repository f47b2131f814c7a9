"""Benchmark: a fleet plan on the Cambridge street network, OR-Tools against a greedy dispatcher.

    python tests/bench/fleet_plan.py [--data DIR] [--crews 20] [--jobs 200] [--time-limit 30]
                                     [--sweep 12,14,16,18,20 --sweep-time 5]

1. Imports ``cambridge/TRANS_Centerlines.geojson`` into a temporary SQLite file
   and builds the router from the ``roads`` table (as ``tests/bench/recommend.py``).
2. A seeded instance: 4 depots at random road positions; 20 crews, each with
   2-4 of 4 skills, half of them out on the road already, shifts of 6-8 hours
   starting now or within the hour; 200 jobs needing no skill (30 %) or one,
   15-45 minutes on site, priorities 1-5, half with a due time in the next
   1-7 hours and a fifth with a hard 2-hour window.
3. :func:`backend.routing.fleet.prepare` (snapping and the road travel-time
   matrix), then :func:`solve` (OR-Tools, guided local search for
   ``--time-limit`` seconds) and :func:`greedy` (each job in priority order
   to the nearest crew by road that can fit it) on the same problem.
4. Both plans are checked independently of the planner (every job at most
   once, skills, hard windows, shifts including the drive home, times
   re-timed from the matrix); the run fails if either breaks a rule.
5. ``--sweep`` plans again with at most each given number of crews.

Prints details first, then, last, one JSON line with the matrix build time,
the solve time, and crews used, jobs served, driving and lateness for both.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from backend.routing import Router  # noqa: E402
from backend.routing.fleet import (  # noqa: E402
    FleetJob,
    FleetPlan,
    FleetPolicy,
    FleetProblem,
    FleetVehicle,
    greedy,
    prepare,
    solve,
    sweep,
)
from tests.bench.recommend import SKILLS, load_router, random_positions  # noqa: E402

H = 3600.0


def make_instance(
    router: Router, n_crews: int, n_jobs: int, rng: np.random.Generator
) -> tuple[list[FleetVehicle], list[FleetJob]]:
    """Crews and jobs as the module doc says (seeded)."""
    g = router.graph
    depots = random_positions(g, 4, rng)
    out_now = random_positions(g, n_crews, rng)
    crews = []
    for i in range(n_crews):
        depot = depots[i % len(depots)]
        skills = rng.choice(SKILLS, size=int(rng.integers(2, 5)), replace=False)
        start_s = float(rng.choice([0.0, 0.0, 1800.0, 3600.0]))
        crews.append(
            FleetVehicle(
                vehicle_id=i + 1,
                skills=frozenset(str(s) for s in skills),
                start=out_now[i] if rng.random() < 0.5 else depot,
                depot=depot,
                shift_start_s=start_s,
                shift_end_s=start_s + float(rng.uniform(6 * H, 8 * H)),
            )
        )
    jobs = []
    for j, (lon, lat) in enumerate(random_positions(g, n_jobs, rng), start=1):
        need = frozenset() if rng.random() < 0.3 else frozenset({str(rng.choice(SKILLS))})
        due = float(rng.uniform(1 * H, 7 * H)) if rng.random() < 0.5 else None
        earliest, latest = 0.0, None
        if rng.random() < 0.2:
            earliest = float(rng.uniform(0, 5 * H))
            latest = earliest + 2 * H
        jobs.append(
            FleetJob(
                job_id=j,
                lon=lon,
                lat=lat,
                skills=need,
                service_s=float(rng.uniform(15 * 60, 45 * 60)),
                priority=int(rng.integers(1, 6)),
                due_s=due,
                earliest_s=earliest,
                latest_s=latest,
            )
        )
    return crews, jobs


def check(p: FleetProblem, plan: FleetPlan) -> list[str]:
    """Rule breaks of a plan, re-timed from the matrix (empty when it keeps every rule)."""
    errors: list[str] = []
    vi = {v.vehicle_id: i for i, v in enumerate(p.vehicles)}
    ji = {j.job_id: i for i, j in enumerate(p.jobs)}
    seen: set[int] = set()
    for route in plan.routes:
        v = vi[route.vehicle_id]
        veh = p.vehicles[v]
        t, here = max(veh.shift_start_s, 0.0), p.start(v)
        for stop in route.stops:
            j = ji[stop.job_id]
            job = p.jobs[j]
            if stop.job_id in seen:
                errors.append(f"job {stop.job_id} planned twice")
            seen.add(stop.job_id)
            if not job.skills <= veh.skills:
                errors.append(f"crew {veh.vehicle_id} lacks skills for job {job.job_id}")
            t = max(t + float(p.matrix[here, p.job(j)]), job.earliest_s)
            if not math.isfinite(t) or abs(t - stop.eta_s) > 1e-6:
                errors.append(f"job {job.job_id}: eta {stop.eta_s} but re-timed {t}")
            if job.latest_s is not None and t > job.latest_s + 1e-6:
                errors.append(f"job {job.job_id} starts after its window")
            t += job.service_s
            here = p.job(j)
        t += p.back_s(v, here)
        if t > veh.shift_end_s + 1e-6:
            errors.append(f"crew {veh.vehicle_id} back at {t:.0f} s, shift ends {veh.shift_end_s}")
    unserved = {u.job_id for u in plan.unserved}
    if seen & unserved or len(seen) + len(unserved) != len(p.jobs):
        errors.append("served and unserved jobs do not add up to the jobs given")
    return errors


def summary(plan: FleetPlan) -> dict[str, float | int]:
    """The headline figures of one plan."""
    t = plan.totals()
    return {
        "vehicles_used": t["vehicles_used"],
        "jobs_served": t["jobs_served"],
        "travel_min": t["travel_min"],
        "late_min": t["late_min"],
        "late_jobs": t["late_jobs"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--crews", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--sweep", default="", help="fleet sizes, e.g. 12,14,16,18,20")
    parser.add_argument("--sweep-time", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()

    router, build_s = load_router(args.data)
    print(f"router: {router.graph.n_arcs} arcs, built in {build_s:.2f} s", file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    crews, jobs = make_instance(router, args.crews, args.jobs, rng)
    problem = prepare(router, crews, jobs)
    print(
        f"matrix {len(problem.matrix)}x{len(problem.matrix)} in {problem.matrix_ms:.1f} ms; "
        f"{len(problem.excluded)} crews excluded, {len(problem.unserved)} jobs no crew can do "
        f"({sorted({u.reason for u in problem.unserved.values()})})",
        file=sys.stderr,
    )
    base = greedy(problem)
    started = time.perf_counter()
    best = solve(problem, FleetPolicy(time_limit_s=args.time_limit))
    solve_s = time.perf_counter() - started
    failed = False
    for name, plan in (("greedy", base), ("ortools", best)):
        errors = check(problem, plan)
        print(f"{name}: {plan.status} {plan.totals()} errors={errors[:5]}", file=sys.stderr)
        failed |= bool(errors)
    rows = []
    if args.sweep:
        sizes = [int(s) for s in args.sweep.split(",") if s.strip()]
        for row in sweep(problem, sizes, FleetPolicy(time_limit_s=args.sweep_time)):
            print(f"sweep: {row}", file=sys.stderr)
            rows.append([row.max_vehicles, row.jobs_served, row.late_min])
    result: dict[str, object] = {
        "crews": args.crews,
        "jobs": args.jobs,
        "matrix_ms": round(problem.matrix_ms, 1),
        "solve_s": round(solve_s, 2),
        **summary(best),
        "greedy": summary(base),
    }
    if rows:
        result["sweep"] = rows
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
