"""``plan_fleet``: a fleet plan over the open jobs and on-shift crews, for dispatchers.

Read-only: it answers "how many crews, which jobs each, in which order and
arriving when", and the dispatcher then assigns with ``assign_job`` as usual.

Args (all optional): ``time_limit_s`` (solver time, 0 < s ≤ :data:`MAX_TIME_LIMIT_S`,
default :data:`DEFAULT_TIME_LIMIT_S`), ``crew_ids`` and ``job_ids`` (lists of
ints: plan only these), ``max_vehicles`` (send at most this many crews),
``service_min`` (time on site per job, default 30), ``max_jobs_per_crew``.

Where the inputs come from:

* **Crews**: every crew on shift now (status and local shift times, as
  :mod:`backend.service.crew_specs` reads them), starting from its last
  position (else its depot) and returning to its depot (when it has one) by
  the end of its shift. A 24-hour or unreadable shift is planned over
  :data:`MAX_HORIZON_S`. Crews named in ``crew_ids`` that are off shift come
  back as excluded.
* **Jobs**: open jobs not yet started (``new``, ``assigned``, ``en_route``);
  ``due_at`` is the soft deadline, ``priority`` weighs lateness and dropping.
  A job already assigned to a planned crew stays with that crew (the plan
  orders it among the crew's others); one whose crew is not planned is
  planned afresh. A job without a location comes back as ``no_location``.

The solve runs while the command holds the serving loop, so the time limit
is capped well below the backend's database deadline; ``python main.py
fleet plan`` runs the same plan from the command line with any limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Crew, Job
from backend.routing import Router
from backend.routing.fleet import FleetJob, FleetPlan, FleetPolicy, FleetVehicle, plan_fleet
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg
from backend.service.crew_specs import _hhmm, in_shift, zone_at
from backend.service.handlers_dispatch import _graph_info, _router

#: Default and largest solver time for the bus command (s): the serving loop waits for it.
DEFAULT_TIME_LIMIT_S = 3.0
MAX_TIME_LIMIT_S = 10.0
#: How far ahead a crew with a 24-hour (or unreadable) shift is planned (s).
MAX_HORIZON_S = 12 * 3600.0
#: Job statuses a plan covers: open and not started on site.
PLANNABLE = ("new", "assigned", "en_route")
#: Largest id list a command may name.
MAX_IDS = 5000


def shift_left_s(start: str | None, end: str | None, now: datetime, zone: tzinfo) -> float:
    """Seconds from ``now`` to the end of the shift the crew is in (capped at the horizon)."""
    a, b = _hhmm(start), _hhmm(end)
    if a is None or b is None or a == b:
        return MAX_HORIZON_S
    local = now.astimezone(zone)
    until = datetime.combine(local.date(), b, tzinfo=zone)
    if until <= local:
        until += timedelta(days=1)
    return min((until - now).total_seconds(), MAX_HORIZON_S)


def _ids(args: dict[str, Any], name: str) -> list[int] | None:
    value = arg(args, name, list, required=False)
    if value is None:
        return None
    if len(value) > MAX_IDS or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        raise CommandError(
            "bad_args", f"{name} must be a list of at most {MAX_IDS} ids", {"argument": name}
        )
    return sorted(set(value))


@dataclass(slots=True)
class FleetInputs:
    """What a plan is made of, read from the database, plus the names its reply shows."""

    vehicles: list[FleetVehicle] = field(default_factory=list)
    jobs: list[FleetJob] = field(default_factory=list)
    crew_names: dict[int, str] = field(default_factory=dict)
    job_titles: dict[int, str] = field(default_factory=dict)
    job_priority: dict[int, int] = field(default_factory=dict)
    job_skills: dict[int, frozenset[str]] = field(default_factory=dict)
    off_shift_skills: list[frozenset[str]] = field(default_factory=list)
    excluded: dict[int, str] = field(default_factory=dict)
    unserved: list[dict[str, Any]] = field(default_factory=list)


def load_inputs(
    session: Session,
    now: datetime,
    crew_ids: list[int] | None = None,
    job_ids: list[int] | None = None,
    service_s: float = 1800.0,
    capacity: int | None = None,
) -> FleetInputs:
    """The crews and jobs to plan (see the module doc); unknown ids are ``not_found``."""
    out = FleetInputs()
    query = select(Crew).order_by(Crew.id)
    if crew_ids is not None:
        query = query.where(Crew.id.in_(crew_ids))
    crews = list(session.scalars(query))
    _missing("crew", crew_ids, [c.id for c in crews])
    for c in crews:
        out.crew_names[c.id] = c.name
        home = (c.depot_lon, c.depot_lat) if c.depot_lon is not None else (c.last_lon, c.last_lat)
        zone = zone_at(*home)
        if c.status == "off_shift" or not in_shift(c.shift_start, c.shift_end, now, zone):
            out.excluded[c.id] = "off_shift"
            out.off_shift_skills.append(frozenset(c.skills or ()))
            continue
        depot = None
        if c.depot_lon is not None and c.depot_lat is not None:
            depot = (float(c.depot_lon), float(c.depot_lat))
        start = None
        if c.last_lon is not None and c.last_lat is not None:
            start = (float(c.last_lon), float(c.last_lat))
        out.vehicles.append(
            FleetVehicle(
                vehicle_id=c.id,
                skills=frozenset(c.skills or ()),
                start=start,
                depot=depot,
                shift_start_s=0.0,
                shift_end_s=shift_left_s(c.shift_start, c.shift_end, now, zone),
                capacity=capacity,
            )
        )
    planned = {v.vehicle_id for v in out.vehicles}
    jq = select(Job).order_by(Job.id)
    if job_ids is not None:
        jq = jq.where(Job.id.in_(job_ids))
    else:
        jq = jq.where(Job.status.in_(PLANNABLE))
    jobs = list(session.scalars(jq))
    _missing("job", job_ids, [j.id for j in jobs])
    for j in jobs:
        out.job_titles[j.id] = j.title
        out.job_priority[j.id] = j.priority
        out.job_skills[j.id] = frozenset(j.skills or ())
        if j.status not in PLANNABLE:
            out.unserved.append(_unserved(j, "not_open", f"the job is {j.status}"))
        elif j.lon is None or j.lat is None:
            out.unserved.append(_unserved(j, "no_location", "the job has no location"))
        else:
            due = None if j.due_at is None else (_aware(j.due_at) - now).total_seconds()
            pinned = j.crew_id if j.crew_id in planned and j.status != "new" else None
            out.jobs.append(
                FleetJob(
                    job_id=j.id,
                    lon=float(j.lon),
                    lat=float(j.lat),
                    skills=frozenset(j.skills or ()),
                    service_s=service_s,
                    priority=j.priority,
                    due_s=due,
                    vehicle_id=pinned,
                )
            )
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _missing(label: str, wanted: list[int] | None, found: list[int]) -> None:
    if wanted is None:
        return
    gone = sorted(set(wanted) - set(found))
    if gone:
        raise CommandError(
            "not_found", f"{label} {', '.join(map(str, gone))} does not exist", {"ids": gone}
        )


def _unserved(job: Job, reason: str, detail: str) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "title": job.title,
        "priority": job.priority,
        "reason": reason,
        "detail": detail,
    }


def _min(seconds: float) -> float:
    return round(seconds / 60.0, 1)


def plan_reply(plan: FleetPlan, inputs: FleetInputs, now: datetime) -> dict[str, Any]:
    """The plan as the console and the CLI show it: minutes, clock times, names."""

    def at(seconds: float) -> datetime:
        return now + timedelta(seconds=round(seconds))

    routes = []
    for r in plan.routes:
        stops = [
            {
                "job_id": s.job_id,
                "title": inputs.job_titles.get(s.job_id),
                "priority": inputs.job_priority.get(s.job_id),
                "eta": at(s.eta_s),
                "eta_min": _min(s.eta_s),
                "travel_min": _min(s.travel_s),
                "wait_min": _min(s.wait_s),
                "service_min": _min(s.service_s),
                "late_min": _min(s.late_s),
            }
            for s in r.stops
        ]
        routes.append(
            {
                "crew_id": r.vehicle_id,
                "crew_name": inputs.crew_names.get(r.vehicle_id),
                "stops": stops,
                "back_at": at(r.end_s),
                "return_min": _min(r.return_s),
                "travel_min": _min(r.travel_s),
                "service_min": _min(r.service_s),
                "wait_min": _min(r.wait_s),
                "late_min": _min(r.late_s),
            }
        )
    excluded = {**inputs.excluded, **plan.excluded}
    unserved = list(inputs.unserved)
    for u in plan.unserved:
        reason, detail = u.reason, u.detail
        needs = inputs.job_skills.get(u.job_id, frozenset())
        if reason == "no_crew_with_skills" and any(needs <= s for s in inputs.off_shift_skills):
            reason, detail = "no_skilled_crew_on_shift", f"{detail}: only off-shift crews have it"
        unserved.append(
            {
                "job_id": u.job_id,
                "title": inputs.job_titles.get(u.job_id),
                "priority": inputs.job_priority.get(u.job_id),
                "reason": reason,
                "detail": detail,
            }
        )
    unserved.sort(key=lambda u: u["job_id"])
    totals = plan.totals()
    totals["jobs_unserved"] = len(unserved)
    return {
        "method": plan.method,
        "status": plan.status,
        "totals": totals,
        "routes": routes,
        "unused_crews": [
            {"crew_id": c, "crew_name": inputs.crew_names.get(c)} for c in plan.unused
        ],
        "excluded_crews": [
            {"crew_id": c, "crew_name": inputs.crew_names.get(c), "reason": why}
            for c, why in sorted(excluded.items())
        ],
        "unserved": unserved,
        "matrix_ms": round(plan.matrix_ms, 1),
        "solve_s": round(plan.solve_s, 2),
        "computed_at": now,
    }


def make_plan(
    session: Session, router: Router, now: datetime, args: dict[str, Any], max_time_s: float
) -> dict[str, Any]:
    """Check ``args``, load the inputs, plan and build the reply (the command and the CLI)."""
    limit = arg(args, "time_limit_s", float, required=False, default=DEFAULT_TIME_LIMIT_S)
    if not (0 < limit <= max_time_s):
        raise CommandError(
            "bad_args", f"time_limit_s must be in (0, {max_time_s:g}]", {"argument": "time_limit_s"}
        )
    max_vehicles = arg(args, "max_vehicles", int, required=False)
    if max_vehicles is not None and max_vehicles < 0:
        raise CommandError("bad_args", "max_vehicles must be ≥ 0", {"argument": "max_vehicles"})
    service_min = arg(args, "service_min", float, required=False, default=30.0)
    if not (math.isfinite(service_min) and 0 <= service_min <= 24 * 60):
        raise CommandError(
            "bad_args", "service_min must be 0..1440 minutes", {"argument": "service_min"}
        )
    capacity = arg(args, "max_jobs_per_crew", int, required=False)
    if capacity is not None and capacity < 1:
        raise CommandError(
            "bad_args", "max_jobs_per_crew must be ≥ 1", {"argument": "max_jobs_per_crew"}
        )
    inputs = load_inputs(
        session, now, _ids(args, "crew_ids"), _ids(args, "job_ids"), service_min * 60.0, capacity
    )
    policy = FleetPolicy(time_limit_s=limit, max_vehicles=max_vehicles)
    plan = plan_fleet(router, inputs.vehicles, inputs.jobs, policy)
    reply = plan_reply(plan, inputs, now)
    reply["time_limit_s"] = limit
    return reply


def plan_fleet_command(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """The fleet plan over open jobs and on-shift crews (see the module doc). Writes nothing."""
    state = _router(ctx)
    reply = make_plan(ctx.session, state.router, ctx.now, args, MAX_TIME_LIMIT_S)
    reply["graph"] = _graph_info(state)
    return reply
