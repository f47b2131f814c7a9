"""Crews and jobs as the router sees them: position, skills, shift and workload from the database.

Shift times (``crews.shift_start``/``shift_end``) are local ``HH:MM``. The
zone they are local to is **the crew's own city**: the IANA zone at the
crew's depot (else its last position), found offline with timezonefinder the
way the 311 importer finds a file's zone. A database can hold several cities
(the demo city in Lower Saxony beside an imported Boston), so one zone for
the whole service would put some crews off shift at noon. Where neither point
is known, or it lies at sea, the shift is read in UTC.

Workload is the number of the crew's jobs that are assigned and not done
(``assigned``, ``en_route``, ``on_site``), not counting the job being staffed.
A crew that never reported a position is placed at its depot with an unknown
position age: the recommendation ranks it down and marks it stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import Crew, Job
from backend.routing import CrewSpec, JobSpec

#: Job statuses that keep a crew busy.
BUSY = ("assigned", "en_route", "on_site")


@dataclass(frozen=True, slots=True)
class CrewInfo:
    """A crew's routing spec plus what the reply shows beside it."""

    spec: CrewSpec
    name: str
    status: str
    position_source: str  # "last", "depot" or "none"


@lru_cache(maxsize=4096)
def _zone_name_at(lon_r: float, lat_r: float) -> str:
    from timezonefinder import timezone_at_land

    return timezone_at_land(lng=lon_r, lat=lat_r) or ""


def zone_at(lon: float | None, lat: float | None) -> tzinfo:
    """The IANA zone at a point (UTC when unknown, at sea or not installed)."""
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return UTC
    # Rounded to ~1 km: zone borders do not run through a depot yard, and the cache stays small.
    name = _zone_name_at(round(lon, 2), round(lat, 2))
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _hhmm(value: str | None) -> time | None:
    try:
        hours, minutes = (value or "").split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def in_shift(start: str | None, end: str | None, now: datetime, zone: tzinfo) -> bool:
    """Is ``now`` inside the local ``HH:MM`` window? Overnight shifts wrap; start == end is 24 h.

    An unreadable time counts as no limit: the backend's ``assign_job`` does not
    refuse on shift times either, and a typo must not hide a crew.
    """
    a, b = _hhmm(start), _hhmm(end)
    if a is None or b is None or a == b:
        return True
    local = now.astimezone(zone).time().replace(tzinfo=None)
    return a <= local < b if a < b else local >= a or local < b


def job_spec(job: Job) -> JobSpec:
    """The router's view of a job row (its location must be known)."""
    if job.lon is None or job.lat is None:
        raise ValueError(f"job {job.id} has no location")
    return JobSpec(job.id, float(job.lon), float(job.lat), frozenset(job.skills or ()))


def workloads(session: Session, exclude_job: int | None = None) -> dict[int, int]:
    """Open jobs per crew (assigned and not done), leaving out ``exclude_job``."""
    query = (
        select(Job.crew_id, func.count(Job.id))
        .where(Job.crew_id.is_not(None), Job.status.in_(BUSY))
        .group_by(Job.crew_id)
    )
    if exclude_job is not None:
        query = query.where(Job.id != exclude_job)
    return {int(c): int(n) for c, n in session.execute(query) if c is not None}


def load_crews(session: Session, now: datetime, exclude_job: int | None = None) -> list[CrewInfo]:
    """Every crew as a :class:`CrewInfo`, in id order."""
    load = workloads(session, exclude_job)
    rows = session.execute(
        select(
            Crew.id,
            Crew.name,
            Crew.status,
            Crew.skills,
            Crew.shift_start,
            Crew.shift_end,
            Crew.last_lon,
            Crew.last_lat,
            Crew.last_seen_at,
            Crew.depot_lon,
            Crew.depot_lat,
        ).order_by(Crew.id)
    ).all()
    out: list[CrewInfo] = []
    for r in rows:
        if r.last_lon is not None and r.last_lat is not None:
            lon, lat, seen, source = r.last_lon, r.last_lat, r.last_seen_at, "last"
        elif r.depot_lon is not None and r.depot_lat is not None:
            lon, lat, seen, source = r.depot_lon, r.depot_lat, None, "depot"
        else:
            lon, lat, seen, source = None, None, None, "none"
        home_lon = r.depot_lon if r.depot_lon is not None else r.last_lon
        home_lat = r.depot_lat if r.depot_lat is not None else r.last_lat
        zone = zone_at(home_lon, home_lat)
        on_shift = r.status != "off_shift" and in_shift(r.shift_start, r.shift_end, now, zone)
        spec = CrewSpec(
            crew_id=int(r.id),
            lon=None if lon is None else float(lon),
            lat=None if lat is None else float(lat),
            last_seen=seen,
            skills=frozenset(r.skills or ()),
            workload=load.get(int(r.id), 0),
            on_shift=on_shift,
        )
        out.append(CrewInfo(spec, str(r.name), str(r.status), source))
    return out


def specs(crews: Sequence[CrewInfo]) -> list[CrewSpec]:
    """The router specs of some crews."""
    return [c.spec for c in crews]
