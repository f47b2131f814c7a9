"""Read-only dispatch queries on the road router: best crews for a job, and every crew's ETA.

* ``recommend_crews {job_id, top?}`` → the top crews (3 by default, at most
  :data:`MAX_TOP`), each with road ETA, score, stale flag and position age,
  workload and its route as ``[[lon, lat], ...]``; plus every left-out crew
  with its reason. What the recommendation panel and the routes layer show.
* ``crew_etas {job_id}`` → the road ETA of every eligible crew (one reversed
  Dijkstra), for the map's marks while a job is dragged.

Both read the job and the crews from the command's session, take the router
from :mod:`backend.service.routing_cache` (in memory; rebuilt in the
background when the roads change) and write nothing. Rules (skills, shift,
staleness, workload) are :mod:`backend.routing.recommend`'s; where the data
comes from is :mod:`backend.service.crew_specs`.
"""

from __future__ import annotations

import math
from typing import Any

from backend.db.models import Job
from backend.routing import Recommendation, RecommendPolicy, crew_etas, recommend
from backend.routing.recommend import EtaBoard
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg, get_row
from backend.service.crew_specs import CrewInfo, job_spec, load_crews, specs, zone_at
from backend.service.routing_cache import RoutingState, RoutingUnavailable, routing_for

#: Most crews ``recommend_crews`` ranks with routes.
MAX_TOP = 10
#: Job statuses worth staffing (a done or cancelled job needs no crew).
STAFFABLE = frozenset({"new", "assigned", "en_route", "on_site"})
#: Decimals of route coordinates on the wire (1e-7 degree is about 1 cm, as stored).
COORD_DECIMALS = 7


def _router(ctx: CommandContext) -> RoutingState:
    cache = routing_for(ctx.session.get_bind())  # type: ignore[arg-type]
    try:
        state = cache.current(ctx.session)
    except RoutingUnavailable as exc:
        raise CommandError(
            "unavailable", f"routing is not ready: {exc}; retry shortly", {"reason": str(exc)}
        ) from exc
    if not state.router.graph.n_segments:
        raise CommandError(
            "no_roads", "no drivable roads are imported: import a road network or the demo city"
        )
    return state


def _prepare(ctx: CommandContext, args: dict[str, Any]) -> tuple[Job, list[CrewInfo]]:
    job = get_row(ctx, Job, arg(args, "job_id", int), "job", lock=False)
    if job.status not in STAFFABLE:
        raise CommandError(
            "invalid_state",
            f"job {job.id} is {job.status}; only an open job needs a crew",
            {"status": job.status},
        )
    if job.lon is None or job.lat is None:
        raise CommandError("invalid_state", f"job {job.id} has no location to route to")
    return job, load_crews(ctx.session, ctx.now, exclude_job=job.id)


def _eligible(job: Job, crews: list[CrewInfo]) -> tuple[list[CrewInfo], dict[int, str]]:
    """Leave out the crew that already holds the job (assigning it again is refused)."""
    holder = {c.spec.crew_id: "has_this_job" for c in crews if c.spec.crew_id == job.crew_id}
    return [c for c in crews if c.spec.crew_id not in holder], holder


def _graph_info(state: RoutingState) -> dict[str, Any]:
    g = state.router.graph
    return {
        "segments": g.n_segments,
        "arcs": g.n_arcs,
        "roads": state.key.count,
        "built_at": state.built_at,
    }


def _age(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 1)


def _excluded(excluded: dict[int, str], names: dict[int, str]) -> list[dict[str, Any]]:
    return [
        {"crew_id": crew_id, "crew_name": names.get(crew_id), "reason": reason}
        for crew_id, reason in sorted(excluded.items())
    ]


def recommend_crews(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """The best crews for a job by road travel time, with their routes (see the module doc).

    Args: ``job_id``; optional ``top`` (1..10, default 3).
    """
    top = arg(args, "top", int, required=False, default=3)
    if not 1 <= top <= MAX_TOP:
        raise CommandError("bad_args", f"top must be 1..{MAX_TOP}", {"argument": "top"})
    job, crews = _prepare(ctx, args)
    state = _router(ctx)
    candidates, excluded = _eligible(job, crews)
    info = {c.spec.crew_id: c for c in crews}
    result: Recommendation = recommend(
        state.router, job_spec(job), specs(candidates), ctx.now, RecommendPolicy(top=top)
    )
    excluded.update(result.excluded)
    choices = []
    for choice in result.choices:
        crew = info[choice.crew_id]
        choices.append(
            {
                "rank": choice.rank,
                "crew_id": choice.crew_id,
                "crew_name": crew.name,
                "crew_status": crew.status,
                "eta_s": round(choice.eta_s, 1),
                "score_s": round(choice.score_s, 1),
                "stale": choice.stale,
                "position_age_s": _age(choice.position_age_s),
                "position_source": crew.position_source,
                "workload": choice.workload,
                "route": {
                    "seconds": round(choice.route.seconds, 1),
                    "meters": round(choice.route.meters, 1),
                    "coords": [
                        [round(x, COORD_DECIMALS), round(y, COORD_DECIMALS)]
                        for x, y in choice.route.coords
                    ],
                },
            }
        )
    return {
        "job_id": job.id,
        "job_version": job.version,
        "job_snapped": result.job_snapped,
        "choices": choices,
        "excluded": _excluded(excluded, {c.spec.crew_id: c.name for c in crews}),
        "zone": str(zone_at(job.lon, job.lat)),
        "graph": _graph_info(state),
        "computed_at": ctx.now,
    }


def crew_etas_command(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Road ETA of every eligible crew to a job, best first (drag marks). Args: ``job_id``."""
    job, crews = _prepare(ctx, args)
    state = _router(ctx)
    candidates, excluded = _eligible(job, crews)
    board: EtaBoard = crew_etas(state.router, job_spec(job), specs(candidates), ctx.now)
    excluded.update(board.excluded)
    return {
        "job_id": job.id,
        "job_version": job.version,
        "job_snapped": board.job_snap is not None,
        "etas": [
            {
                "crew_id": e.crew_id,
                "eta_s": round(e.eta_s, 1),
                "stale": e.stale,
                "position_age_s": _age(e.position_age_s),
                "workload": e.workload,
            }
            for e in board.etas
        ],
        "excluded": _excluded(excluded, {c.spec.crew_id: c.name for c in crews}),
        "zone": str(zone_at(job.lon, job.lat)),
        "graph": _graph_info(state),
        "computed_at": ctx.now,
    }
