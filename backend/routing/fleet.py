"""Fleet plans: how many crews to send, which jobs each takes, in which order, arriving when.

A pure module (no database): :func:`prepare` snaps crews, depots and jobs to
the road graph and builds the driving-time matrix by road
(:func:`backend.routing.matrix.travel_matrix`, one batched Dijkstra); :func:`solve`
hands it to Google OR-Tools' vehicle routing solver and reads the routes back.

Why OR-Tools: crews with skills, shifts, deadlines, priorities and the option
of leaving work undone is a vehicle routing problem with time windows and
optional visits. OR-Tools' routing library models each of those directly
(a time dimension with slack for waiting, ``SetAllowedVehiclesForIndex`` for
skills, disjunctions with a penalty for a job it may drop, a fixed cost per
vehicle used, soft upper bounds for lateness) and searches with guided local
search within a time limit. A home-made heuristic would get a first plan but
not the improvement search, and a MIP does not scale to hundreds of stops.

The objective, in seconds of driving as the unit:

* ``vehicle_cost_s`` for every crew sent out (so a crew is used only when it
  saves more than that: the "how many vehicles" answer),
* the driving time of every route (out, between jobs, back to the depot),
* ``late_weight[p]`` per second a priority-``p`` job starts after its due time,
* ``drop_penalty_s[p]`` for each priority-``p`` job left undone (large: the
  solver drops a job only when no crew can fit it in).

Hard rules: a job goes only to a crew with all its skills (and to its own crew
when it is already assigned); service starts within the job's hard window;
every route starts and ends (back at the depot, when the crew has one) inside
the crew's shift; a crew's load stays within its capacity. Jobs no crew could
ever do are not given to the solver: they come back in ``unserved`` with the
reason (``no_crew_with_skills``, ``off_road``, ``unreachable``,
``window_unreachable``, ``shift_too_short``, ``over_capacity``,
``crew_unavailable``); jobs the solver left out are ``no_capacity``.

Times are seconds from the plan's time zero (the caller's "now").
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from backend.routing.graph import FloatArray
from backend.routing.matrix import travel_matrix
from backend.routing.paths import Router
from backend.routing.snapping import DEFAULT_MAX_SNAP_M

LonLat = tuple[float, float]


@dataclass(frozen=True, slots=True)
class FleetVehicle:
    """A crew and its vehicle as the planner sees it.

    ``start`` is where it is now (None: at its depot); ``depot`` is where its
    route ends (None: it ends at its last job). Shift times are seconds from
    the plan's time zero; ``capacity`` bounds the summed ``demand`` of its jobs.
    """

    vehicle_id: int
    skills: frozenset[str] = frozenset()
    start: LonLat | None = None
    depot: LonLat | None = None
    shift_start_s: float = 0.0
    shift_end_s: float = 8 * 3600.0
    capacity: int | None = None


@dataclass(frozen=True, slots=True)
class FleetJob:
    """A job to plan: place, skills, service time, priority (1 most urgent) and times.

    ``due_s`` is the soft deadline for the start of service (lateness is
    penalised by priority); ``earliest_s``/``latest_s`` bound the start of
    service hard. ``vehicle_id`` pins a job already assigned to its crew.
    """

    job_id: int
    lon: float
    lat: float
    skills: frozenset[str] = frozenset()
    service_s: float = 1800.0
    priority: int = 3
    due_s: float | None = None
    earliest_s: float = 0.0
    latest_s: float | None = None
    demand: int = 1
    vehicle_id: int | None = None


@dataclass(frozen=True, slots=True)
class FleetPolicy:
    """Weights and limits of a plan (costs in seconds of driving; index = priority - 1)."""

    vehicle_cost_s: float = 3600.0
    late_weight: tuple[float, float, float, float, float] = (10.0, 5.0, 3.0, 2.0, 1.0)
    drop_penalty_s: tuple[float, float, float, float, float] = (
        1_000_000.0,
        500_000.0,
        250_000.0,
        150_000.0,
        100_000.0,
    )
    time_limit_s: float = 5.0
    max_vehicles: int | None = None
    max_snap_m: float = DEFAULT_MAX_SNAP_M


@dataclass(frozen=True, slots=True)
class Stop:
    """One job on a route: when service starts (ETA), drive before it, wait, lateness."""

    job_id: int
    eta_s: float
    travel_s: float
    wait_s: float
    service_s: float
    late_s: float
    depart_s: float


@dataclass(frozen=True, slots=True)
class VehicleRoute:
    """A crew's planned day: ordered stops, the drive back, and its totals."""

    vehicle_id: int
    start_s: float
    stops: tuple[Stop, ...]
    return_s: float  # the drive from the last job to the depot (0 without a depot)
    end_s: float
    travel_s: float
    service_s: float
    wait_s: float
    late_s: float


@dataclass(frozen=True, slots=True)
class Unserved:
    """A job left out of the plan and why."""

    job_id: int
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """A plan: the routes of the crews sent out, unused and excluded crews, jobs left out."""

    routes: tuple[VehicleRoute, ...]
    unused: tuple[int, ...]
    excluded: dict[int, str]
    unserved: tuple[Unserved, ...]
    method: str  # "ortools" or "greedy"
    status: str  # solver status, or "ok"
    matrix_ms: float
    solve_s: float
    objective: float | None = None

    @property
    def vehicles_used(self) -> int:
        """Crews with at least one job."""
        return len(self.routes)

    @property
    def jobs_served(self) -> int:
        """Jobs on some route."""
        return sum(len(r.stops) for r in self.routes)

    @property
    def travel_s(self) -> float:
        """Driving time of all routes (s)."""
        return sum(r.travel_s for r in self.routes)

    @property
    def service_s(self) -> float:
        """Time on site of all routes (s)."""
        return sum(r.service_s for r in self.routes)

    @property
    def late_s(self) -> float:
        """Seconds past due, summed over the served jobs."""
        return sum(r.late_s for r in self.routes)

    @property
    def late_jobs(self) -> int:
        """Served jobs that start after their due time."""
        return sum(1 for r in self.routes for s in r.stops if s.late_s > 0)

    def totals(self) -> dict[str, float | int]:
        """The headline figures, minutes rounded to 0.1."""
        return {
            "vehicles_used": self.vehicles_used,
            "jobs_served": self.jobs_served,
            "jobs_unserved": len(self.unserved),
            "travel_min": round(self.travel_s / 60.0, 1),
            "service_min": round(self.service_s / 60.0, 1),
            "late_min": round(self.late_s / 60.0, 1),
            "late_jobs": self.late_jobs,
        }


@dataclass(slots=True)
class FleetProblem:
    """Crews and jobs on the road graph, with the driving-time matrix and the pre-checks.

    Point order in ``matrix``: vehicle starts, vehicle ends (depots), jobs.
    ``feasible[v, j]`` says whether vehicle ``v`` alone could do job ``j``
    (skills, road, window, shift, capacity). Build it with :func:`prepare`
    once and :func:`solve` it as often as needed (e.g. :func:`sweep`).
    """

    vehicles: list[FleetVehicle]
    jobs: list[FleetJob]
    matrix: FloatArray
    feasible: np.ndarray
    excluded: dict[int, str]
    unserved: dict[int, Unserved]
    matrix_ms: float
    active_v: list[int] = field(default_factory=list)
    active_j: list[int] = field(default_factory=list)

    def start(self, v: int) -> int:
        """Matrix index of vehicle ``v``'s start."""
        return v

    def end(self, v: int) -> int:
        """Matrix index of vehicle ``v``'s end (its depot; its start when it has none)."""
        return len(self.vehicles) + v

    def job(self, j: int) -> int:
        """Matrix index of job ``j``."""
        return 2 * len(self.vehicles) + j

    def has_depot(self, v: int) -> bool:
        """Does vehicle ``v`` drive back to a depot?"""
        return self.vehicles[v].depot is not None

    def back_s(self, v: int, point: int) -> float:
        """Driving time from matrix point ``point`` to the end of ``v``'s route."""
        return float(self.matrix[point, self.end(v)]) if self.has_depot(v) else 0.0


def _check(vehicles: Sequence[FleetVehicle], jobs: Sequence[FleetJob]) -> None:
    seen: set[int] = set()
    for v in vehicles:
        if v.vehicle_id in seen:
            raise ValueError(f"vehicle {v.vehicle_id} is given twice")
        seen.add(v.vehicle_id)
        if v.capacity is not None and v.capacity < 0:
            raise ValueError(f"vehicle {v.vehicle_id}: capacity must not be negative")
    seen.clear()
    for j in jobs:
        if j.job_id in seen:
            raise ValueError(f"job {j.job_id} is given twice")
        seen.add(j.job_id)
        if not 1 <= j.priority <= 5:
            raise ValueError(f"job {j.job_id}: priority must be 1..5, not {j.priority}")
        if not (j.service_s >= 0 and math.isfinite(j.service_s)):
            raise ValueError(f"job {j.job_id}: service time must be a finite number ≥ 0")
        if j.demand < 0:
            raise ValueError(f"job {j.job_id}: demand must not be negative")


def prepare(
    router: Router,
    vehicles: Sequence[FleetVehicle],
    jobs: Sequence[FleetJob],
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> FleetProblem:
    """Snap everything, build the road travel-time matrix and sort out what can never be done."""
    _check(vehicles, jobs)
    vs, js = list(vehicles), list(jobs)
    started = time.perf_counter()
    points: list[LonLat | None] = [v.start if v.start is not None else v.depot for v in vs]
    points += [v.depot if v.depot is not None else None for v in vs]
    points += [(j.lon, j.lat) for j in js]
    lons = [p[0] if p is not None else math.nan for p in points]
    lats = [p[1] if p is not None else math.nan for p in points]
    snaps = router.snapper.snap_many(lons, lats, max_snap_m)
    matrix = travel_matrix(router.graph, snaps)
    matrix_ms = (time.perf_counter() - started) * 1000.0
    problem = FleetProblem(vs, js, matrix, np.zeros((len(vs), len(js)), bool), {}, {}, matrix_ms)
    nv = len(vs)
    for v, veh in enumerate(vs):
        t0 = max(veh.shift_start_s, 0.0)
        if points[v] is None:
            problem.excluded[veh.vehicle_id] = "no_position"
        elif snaps[v] is None:
            problem.excluded[veh.vehicle_id] = "off_road"
        elif veh.shift_end_s <= t0:
            problem.excluded[veh.vehicle_id] = "shift_over"
        elif veh.depot is not None and snaps[nv + v] is None:
            problem.excluded[veh.vehicle_id] = "depot_off_road"
        elif not math.isfinite(problem.back_s(v, v)):
            problem.excluded[veh.vehicle_id] = "depot_unreachable"
        elif t0 + problem.back_s(v, v) > veh.shift_end_s:
            problem.excluded[veh.vehicle_id] = "cannot_return_in_shift"
        else:
            problem.active_v.append(v)
    ids = {veh.vehicle_id: v for v, veh in enumerate(vs)}
    for j, job in enumerate(js):
        why = _job_reason(problem, j, job, snaps[problem.job(j)] is not None, ids)
        if why is None:
            problem.active_j.append(j)
        else:
            problem.unserved[job.job_id] = why
    return problem


def _job_reason(
    p: FleetProblem, j: int, job: FleetJob, snapped: bool, ids: dict[int, int]
) -> Unserved | None:
    """Why no crew could ever do job ``j`` (None: some can; ``p.feasible`` is filled in)."""
    jid = job.job_id
    if job.vehicle_id is not None and (
        job.vehicle_id not in ids or ids[job.vehicle_id] not in p.active_v
    ):
        why = p.excluded.get(job.vehicle_id, "not_planned")
        return Unserved(jid, "crew_unavailable", f"assigned crew {job.vehicle_id}: {why}")
    candidates = p.active_v if job.vehicle_id is None else [ids[job.vehicle_id]]
    skilled_any = [v for v, veh in enumerate(p.vehicles) if job.skills <= veh.skills]
    if not skilled_any:
        return Unserved(jid, "no_crew_with_skills", ",".join(sorted(job.skills)))
    skilled = [v for v in candidates if job.skills <= p.vehicles[v].skills]
    if not skilled:
        if job.vehicle_id is not None:
            return Unserved(jid, "no_crew_with_skills", "its crew lacks the skills")
        return Unserved(jid, "crew_unavailable", "every crew with the skills is unavailable")
    if not snapped:
        return Unserved(jid, "off_road", "no drivable road near the job")
    reasons: set[str] = set()
    at = p.job(j)
    for v in skilled:
        veh = p.vehicles[v]
        there, back = float(p.matrix[p.start(v), at]), p.back_s(v, at)
        if not (math.isfinite(there) and math.isfinite(back)):
            reasons.add("unreachable")
            continue
        arrive = max(max(veh.shift_start_s, 0.0) + there, job.earliest_s)
        if job.latest_s is not None and arrive > job.latest_s:
            reasons.add("window_unreachable")
        elif arrive + job.service_s + back > veh.shift_end_s:
            reasons.add("shift_too_short")
        elif veh.capacity is not None and job.demand > veh.capacity:
            reasons.add("over_capacity")
        else:
            p.feasible[v, j] = True
    if p.feasible[:, j].any():
        return None
    for reason, detail in (
        ("unreachable", "no crew with the skills can drive there (or back) by road"),
        ("window_unreachable", "no crew with the skills can arrive within its time window"),
        ("shift_too_short", "no crew with the skills can do it and get back within its shift"),
        ("over_capacity", "its demand exceeds every skilled crew's capacity"),
    ):
        if reason in reasons:
            return Unserved(jid, reason, detail)
    return Unserved(jid, "unreachable", "")  # pragma: no cover - every branch adds a reason


def schedule(p: FleetProblem, v: int, order: Sequence[int]) -> VehicleRoute:
    """Earliest-start timing of vehicle ``v`` doing jobs ``order`` (job indices) in turn."""
    veh = p.vehicles[v]
    t = max(veh.shift_start_s, 0.0)
    start = t
    here = p.start(v)
    stops: list[Stop] = []
    travel = service = wait = late = 0.0
    for j in order:
        job = p.jobs[j]
        drive = float(p.matrix[here, p.job(j)])
        arrive = t + drive
        eta = max(arrive, job.earliest_s)
        overdue = max(0.0, eta - job.due_s) if job.due_s is not None else 0.0
        stops.append(
            Stop(job.job_id, eta, drive, eta - arrive, job.service_s, overdue, eta + job.service_s)
        )
        travel += drive
        service += job.service_s
        wait += eta - arrive
        late += overdue
        t = eta + job.service_s
        here = p.job(j)
    back = p.back_s(v, here) if stops else 0.0
    return VehicleRoute(
        veh.vehicle_id, start, tuple(stops), back, t + back, travel + back, service, wait, late
    )


def _plan(
    p: FleetProblem,
    orders: dict[int, list[int]],
    method: str,
    status: str,
    solve_s: float,
    objective: float | None = None,
) -> FleetPlan:
    routes = tuple(schedule(p, v, orders[v]) for v in p.active_v if orders.get(v))
    unused = tuple(p.vehicles[v].vehicle_id for v in p.active_v if not orders.get(v))
    served = {j for order in orders.values() for j in order}
    unserved = dict(p.unserved)
    for j in p.active_j:
        if j not in served:
            jid = p.jobs[j].job_id
            unserved[jid] = Unserved(
                jid, "no_capacity", "the crews planned had no time or capacity left for it"
            )
    return FleetPlan(
        routes=routes,
        unused=unused,
        excluded=dict(p.excluded),
        unserved=tuple(unserved[k] for k in sorted(unserved)),
        method=method,
        status=status,
        matrix_ms=p.matrix_ms,
        solve_s=solve_s,
        objective=objective,
    )


def solve(p: FleetProblem, policy: FleetPolicy | None = None) -> FleetPlan:
    """The OR-Tools plan of a prepared problem (see the module doc for the objective)."""
    from backend.routing.fleet_model import solve_routing

    policy = policy or FleetPolicy()
    started = time.perf_counter()
    if not p.active_v or not p.active_j:
        return _plan(p, {}, "ortools", "trivial", time.perf_counter() - started)
    orders, status, objective = solve_routing(p, policy)
    return _plan(p, orders, "ortools", status, time.perf_counter() - started, objective)


def plan_fleet(
    router: Router,
    vehicles: Sequence[FleetVehicle],
    jobs: Sequence[FleetJob],
    policy: FleetPolicy | None = None,
) -> FleetPlan:
    """:func:`prepare` then :func:`solve`: the fleet plan for these crews and jobs."""
    policy = policy or FleetPolicy()
    return solve(prepare(router, vehicles, jobs, policy.max_snap_m), policy)


def greedy(p: FleetProblem) -> FleetPlan:
    """The baseline a dispatcher would do by hand: jobs in priority order (then due time),
    each to the nearest crew by road (from where its queue ends) that can still fit it in
    with its skills, window, shift and capacity; no reordering, no lookahead.
    """
    started = time.perf_counter()
    orders: dict[int, list[int]] = {v: [] for v in p.active_v}
    clock = {v: max(p.vehicles[v].shift_start_s, 0.0) for v in p.active_v}
    here = {v: p.start(v) for v in p.active_v}
    load = dict.fromkeys(p.active_v, 0)
    ranked = sorted(
        p.active_j,
        key=lambda j: (
            p.jobs[j].priority,
            math.inf if p.jobs[j].due_s is None else p.jobs[j].due_s,
            p.jobs[j].job_id,
        ),
    )
    for j in ranked:
        job, at = p.jobs[j], p.job(j)
        best: tuple[float, float, int] | None = None
        for v in p.active_v:
            veh = p.vehicles[v]
            if not p.feasible[v, j]:
                continue
            if veh.capacity is not None and load[v] + job.demand > veh.capacity:
                continue
            drive = float(p.matrix[here[v], at])
            eta = max(clock[v] + drive, job.earliest_s)
            if job.latest_s is not None and eta > job.latest_s:
                continue
            if eta + job.service_s + p.back_s(v, at) > veh.shift_end_s:
                continue
            key = (drive, eta, veh.vehicle_id)
            if best is None or key < (best[0], best[1], p.vehicles[best[2]].vehicle_id):
                best = (drive, eta, v)
        if best is not None:
            _, eta, v = best
            orders[v].append(j)
            clock[v] = eta + job.service_s
            here[v] = at
            load[v] += job.demand
    return _plan(p, orders, "greedy", "ok", time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One fleet size of a sweep and what it achieves."""

    max_vehicles: int
    vehicles_used: int
    jobs_served: int
    jobs_unserved: int
    late_min: float
    travel_min: float


def sweep(
    p: FleetProblem, sizes: Sequence[int], policy: FleetPolicy | None = None
) -> list[SweepRow]:
    """Plan with at most each of ``sizes`` crews (one matrix for all): served jobs and lateness
    per fleet size, so a shift lead sees where one more crew stops paying off."""
    policy = policy or FleetPolicy()
    rows = []
    for k in sizes:
        if k < 0:
            raise ValueError("a fleet size must not be negative")
        plan = solve(p, replace(policy, max_vehicles=k))
        t = plan.totals()
        rows.append(
            SweepRow(
                k,
                plan.vehicles_used,
                plan.jobs_served,
                len(plan.unserved),
                float(t["late_min"]),
                float(t["travel_min"]),
            )
        )
    return rows
