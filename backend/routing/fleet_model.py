"""The OR-Tools routing model behind :func:`backend.routing.fleet.solve`.

Nodes: each planned vehicle's start, each vehicle's end (its depot, or one
shared "anywhere" node that every job reaches at no cost for crews without a
depot), then the jobs no pre-check ruled out. Both matrices (driving time for
the arc cost; service plus driving time for the time dimension) are handed to
the solver as plain integer matrices (``RegisterTransitMatrix``), so the
search never calls back into Python.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

if TYPE_CHECKING:
    from backend.routing.fleet import FleetPolicy, FleetProblem


def status_name(code: int) -> str:
    """The solver status in plain words: ``success``, ``time_limit`` (a plan, search cut by
    the time limit, which is how guided local search always ends), ``infeasible``, ..."""
    if (
        code
        == routing_enums_pb2.RoutingSearchStatus.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED
    ):
        return "time_limit"
    try:
        name = routing_enums_pb2.RoutingSearchStatus.Value.Name(code)
    except ValueError:
        return str(code)
    return name.removeprefix("ROUTING_").lower()


def solve_routing(
    p: FleetProblem, policy: FleetPolicy
) -> tuple[dict[int, list[int]], str, float | None]:
    """Job order (job indices) per vehicle index, the solver status and the objective."""
    vs, js = p.active_v, p.active_j
    nv = len(vs)
    # Node layout: starts, the depot ends of vehicles that have one, "anywhere", jobs.
    # (Every node that is neither a start nor an end is a visit, so no spare nodes.)
    point = [p.start(v) for v in vs]
    end_of = {}
    for v in vs:
        if p.has_depot(v):
            end_of[v] = len(point)
            point.append(p.end(v))
    first_end, anywhere = nv, len(point)
    open_end = len(end_of) < nv
    first_job = anywhere + (1 if open_end else 0)
    point += [-1] * (first_job - anywhere) + [p.job(j) for j in js]
    n = len(point)
    horizon = math.ceil(max(p.vehicles[v].shift_end_s for v in vs))
    big = 4 * horizon + 1_000_000  # an arc no route may take (beyond every shift)

    def seconds(a: int, b: int) -> float:
        if first_end <= a < first_job or b < nv:
            return big  # nothing leaves an end, nothing enters a start
        if b == anywhere and open_end:
            return 0.0
        return float(p.matrix[point[a], point[b]])

    drive = [[0] * n for _ in range(n)]
    busy = [[0] * n for _ in range(n)]
    for a in range(n):
        service = round(p.jobs[js[a - first_job]].service_s) if a >= first_job else 0
        for b in range(n):
            if a == b:
                continue
            s = seconds(a, b)
            cost = round(s) if math.isfinite(s) and s < big else big
            drive[a][b] = cost
            busy[a][b] = cost if cost >= big else cost + service

    starts = list(range(nv))
    ends = [end_of.get(v, anywhere) for v in vs]
    manager = pywrapcp.RoutingIndexManager(n, nv, starts, ends)
    model = pywrapcp.RoutingModel(manager)
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(drive))
    model.SetFixedCostOfAllVehicles(round(policy.vehicle_cost_s))
    if policy.max_vehicles is not None:
        model.SetMaximumNumberOfActiveVehicles(max(policy.max_vehicles, 0))

    model.AddDimension(model.RegisterTransitMatrix(busy), horizon, horizon, False, "time")
    clock = model.GetDimensionOrDie("time")
    for i, v in enumerate(vs):
        veh = p.vehicles[v]
        lo = math.ceil(max(veh.shift_start_s, 0.0))
        hi = math.floor(veh.shift_end_s)
        clock.CumulVar(model.Start(i)).SetRange(lo, hi)
        clock.CumulVar(model.End(i)).SetRange(lo, hi)
        model.AddVariableMinimizedByFinalizer(clock.CumulVar(model.End(i)))

    position = {v: i for i, v in enumerate(vs)}
    for k, j in enumerate(js):
        job = p.jobs[j]
        index = manager.NodeToIndex(first_job + k)
        lo = math.ceil(max(job.earliest_s, 0.0))
        hi = horizon if job.latest_s is None else math.floor(min(job.latest_s, horizon))
        clock.CumulVar(index).SetRange(lo, max(lo, hi))
        weight = policy.late_weight[job.priority - 1]
        if job.due_s is not None and weight > 0:
            due = min(max(math.floor(job.due_s), 0), horizon)
            clock.SetCumulVarSoftUpperBound(index, due, round(weight))
        allowed = [position[v] for v in vs if p.feasible[v, j]]
        if len(allowed) < nv:
            # The same as SetAllowedVehiclesForIndex, whose span argument the Python
            # binding of OR-Tools 9.15 cannot pass; -1 keeps "not performed" possible.
            model.VehicleVar(index).SetValues([-1, *allowed])
        model.AddDisjunction([index], round(policy.drop_penalty_s[job.priority - 1]))

    caps = [p.vehicles[v].capacity for v in vs]
    if any(c is not None for c in caps):
        demand = [0] * first_job + [p.jobs[j].demand for j in js]
        total = sum(demand)
        model.AddDimensionWithVehicleCapacity(
            model.RegisterUnaryTransitVector(demand),
            0,
            [total if c is None else c for c in caps],
            True,
            "load",
        )

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(int(policy.time_limit_s * 1000), 1))
    solution = model.SolveWithParameters(params)
    status = status_name(int(model.status()))
    if solution is None:
        return {}, status, None
    orders: dict[int, list[int]] = {}
    for i, v in enumerate(vs):
        order = []
        index = solution.Value(model.NextVar(model.Start(i)))
        while not model.IsEnd(index):
            order.append(js[manager.IndexToNode(index) - first_job])
            index = solution.Value(model.NextVar(index))
        orders[v] = order
    return orders, status, float(solution.ObjectiveValue())
