"""Which crews should take a job: road travel time first, then skills, staleness and workload.

A pure function over plain dataclasses: the dispatch command in the backend
fills :class:`JobSpec` and :class:`CrewSpec` from the database and ships the
:class:`Recommendation` to the console as it is.

The rules, in order:

* **Hard filters.** Off-shift crews, crews missing any needed skill, crews
  with no known position, crews too far from any drivable road and crews
  that cannot reach the job by road are left out, each with its reason in
  ``Recommendation.excluded``.
* **Score** = road ETA + ``workload_penalty_s`` per job already queued on the
  crew (a crew finishing two jobs first is not really 4 minutes away).
* **Stale positions ranked down and marked.** A position older than
  ``stale_after_s`` (or of unknown age) is a guess; every crew whose position
  is fresh ranks before every stale one, and stale choices carry ``stale=True``
  and their age so the dispatcher sees why.
* Ties break on ETA, then crew id, so the same input always gives the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from backend.routing.paths import Route, Router, TargetSearch
from backend.routing.snapping import DEFAULT_MAX_SNAP_M, Snap


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job to staff: where it is and which skills it needs."""

    job_id: int
    lon: float
    lat: float
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CrewSpec:
    """A crew as dispatch sees it: last position and its time, skills, queue, shift."""

    crew_id: int
    lon: float | None
    lat: float | None
    last_seen: datetime | None
    skills: frozenset[str] = frozenset()
    workload: int = 0  # jobs assigned to the crew and not yet done
    on_shift: bool = True


@dataclass(frozen=True, slots=True)
class RecommendPolicy:
    """Tuning of :func:`recommend`; the defaults suit a city-centre control room."""

    top: int = 3
    stale_after_s: float = 120.0
    workload_penalty_s: float = 600.0
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    limit_s: float = math.inf  # crews farther than this by road count as unreachable


@dataclass(frozen=True, slots=True)
class CrewEta:
    """An eligible crew's road ETA to the job and how fresh its position is."""

    crew_id: int
    eta_s: float
    stale: bool
    position_age_s: float | None
    workload: int
    score_s: float
    snap: Snap


@dataclass(frozen=True, slots=True)
class CrewChoice:
    """One recommended crew: rank (1 = best), ETA, score, staleness and the route to draw."""

    rank: int
    crew_id: int
    eta_s: float
    score_s: float
    stale: bool
    position_age_s: float | None
    workload: int
    route: Route


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The best crews for a job, and why every other crew was left out."""

    job_id: int
    job_snapped: bool
    choices: tuple[CrewChoice, ...]
    excluded: dict[int, str] = field(default_factory=dict)


def _age_s(crew: CrewSpec, now: datetime) -> float | None:
    if crew.last_seen is None:
        return None
    if crew.last_seen.tzinfo is None:
        raise ValueError(f"crew {crew.crew_id}: last_seen must carry a time zone")
    return (now - crew.last_seen).total_seconds()


@dataclass(frozen=True, slots=True)
class EtaBoard:
    """Every eligible crew's ETA to one job (best first), the excluded crews, and the search."""

    job_snap: Snap | None
    etas: tuple[CrewEta, ...]
    excluded: dict[int, str]
    search: TargetSearch | None


def crew_etas(
    router: Router,
    job: JobSpec,
    crews: Sequence[CrewSpec],
    now: datetime,
    policy: RecommendPolicy | None = None,
) -> EtaBoard:
    """Road ETAs of every eligible crew to ``job``, ranked, plus the excluded crews' reasons.

    One reversed Dijkstra from the job serves all crews. This is what the map
    shows while a job is dragged; :func:`recommend` keeps the top ones.
    """
    policy = policy or RecommendPolicy()
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    excluded: dict[int, str] = {}
    candidates: list[CrewSpec] = []
    for crew in crews:
        if not crew.on_shift:
            excluded[crew.crew_id] = "off_shift"
        elif not job.skills <= crew.skills:
            excluded[crew.crew_id] = "missing_skills:" + ",".join(sorted(job.skills - crew.skills))
        elif crew.lon is None or crew.lat is None:
            excluded[crew.crew_id] = "no_position"
        else:
            candidates.append(crew)
    lons = [job.lon, *(float(c.lon) for c in candidates if c.lon is not None)]
    lats = [job.lat, *(float(c.lat) for c in candidates if c.lat is not None)]
    snaps = router.snapper.snap_many(lons, lats, policy.max_snap_m)
    job_snap = snaps[0]
    if job_snap is None:
        for crew in candidates:
            excluded[crew.crew_id] = "job_off_road"
        return EtaBoard(None, (), excluded, None)
    search = router.search_to(job_snap, policy.limit_s)
    seconds = search.seconds_many(snaps[1:])
    etas: list[CrewEta] = []
    for crew, snap, eta in zip(candidates, snaps[1:], seconds.tolist(), strict=True):
        if snap is None:
            excluded[crew.crew_id] = "off_road"
            continue
        if not math.isfinite(eta):
            excluded[crew.crew_id] = "unreachable"
            continue
        age = _age_s(crew, now)
        stale = age is None or age > policy.stale_after_s
        score = eta + policy.workload_penalty_s * max(crew.workload, 0)
        etas.append(CrewEta(crew.crew_id, eta, stale, age, crew.workload, score, snap))
    etas.sort(key=lambda c: (c.stale, c.score_s, c.eta_s, c.crew_id))
    return EtaBoard(job_snap, tuple(etas), excluded, search)


def recommend(
    router: Router,
    job: JobSpec,
    crews: Sequence[CrewSpec],
    now: datetime,
    policy: RecommendPolicy | None = None,
) -> Recommendation:
    """The top crews for ``job`` (``policy.top``, 3 by default), each with its route and ETA.

    Never raises for geography: a job off the road network gives no choices
    and ``job_snapped=False``; unreachable crews are listed in ``excluded``.
    """
    policy = policy or RecommendPolicy()
    board = crew_etas(router, job, crews, now, policy)
    choices: list[CrewChoice] = []
    if board.search is not None:
        for eta in board.etas[: max(policy.top, 0)]:
            route = board.search.route(eta.snap)
            if route is None:  # cannot happen for a finite ETA; kept so a bug cannot crash dispatch
                board.excluded[eta.crew_id] = "unreachable"
                continue
            choices.append(
                CrewChoice(
                    rank=len(choices) + 1,
                    crew_id=eta.crew_id,
                    eta_s=eta.eta_s,
                    score_s=eta.score_s,
                    stale=eta.stale,
                    position_age_s=eta.position_age_s,
                    workload=eta.workload,
                    route=route,
                )
            )
    return Recommendation(job.job_id, board.job_snap is not None, tuple(choices), board.excluded)
