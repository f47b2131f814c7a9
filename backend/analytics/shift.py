"""The shift report: what happened in a time window, what was late and why.

Pure functions over plain records (no database): the loader
(:mod:`backend.analytics.shift_data`) turns rows and ``events`` into
:class:`JobRecord`, :class:`AlarmRecord`, :class:`IssueRecord` and
:class:`CrewRecord`, and :func:`shift_report` does the arithmetic, so tests
can hand it a history whose answers they know.

A job's story comes from its own events (``job.created``, ``job.assigned``,
``job.unassigned``, ``job.en_route``, ``job.on_site``, ``job.done``,
``job.cancelled``: what ``handlers_jobs`` emits and the simulator's crews
drive). Its life is cut into the time it spent in each status, so "why late"
is measured, not guessed: minutes waiting for a crew (``new``), minutes
between assignment and setting out (``assigned``), minutes driving
(``en_route``), minutes on site, plus how often it changed hands and
whether any crew with its skills was on shift while it waited.

The window is half-open, ``since <= t < until``, so consecutive shifts'
reports add up. Percentiles are nearest-rank (a value that occurred).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

#: Job statuses that end a job.
FINAL = frozenset({"done", "cancelled"})
#: The status each job event type leaves the job in (bodies usually say it themselves).
STATUS_OF_EVENT = {
    "job.created": "new",
    "job.assigned": "assigned",
    "job.unassigned": "new",
    "job.en_route": "en_route",
    "job.on_site": "on_site",
    "job.done": "done",
    "job.cancelled": "cancelled",
}
#: The phases a job's time is cut into, in the order a job lives them.
PHASES = ("new", "assigned", "en_route", "on_site")


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One change of a job: when, what kind, and the status and crew it left the job with."""

    ts: datetime
    type: str
    status: str
    crew_id: int | None


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job's fixed facts and its events in order (``events`` may be empty for imported jobs)."""

    id: int
    title: str
    created_at: datetime
    due_at: datetime | None
    skills: tuple[str, ...] = ()
    priority: int = 3
    events: tuple[JobEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """An alarm's lifetime: raised, first acknowledged (None: never), cleared (None: not yet)."""

    id: int
    severity: str
    raised_at: datetime
    acked_at: datetime | None
    cleared_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssueRecord:
    """A service request's lifetime: reported and (maybe) closed."""

    id: int
    requested_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CrewRecord:
    """A crew's skills and its local shift (``HH:MM`` in ``zone``)."""

    id: int
    name: str
    skills: frozenset[str]
    shift_start: str
    shift_end: str
    zone: tzinfo


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of a job's life in one status, with the crew it had then."""

    status: str
    start: datetime
    end: datetime
    crew_id: int | None

    def minutes_within(self, since: datetime, until: datetime) -> float:
        """Minutes of this interval inside ``[since, until)``."""
        start, end = max(self.start, since), min(self.end, until)
        return max((end - start).total_seconds(), 0.0) / 60.0


@dataclass(slots=True)
class JobStory:
    """A job's life up to the end of the window, cut into status intervals."""

    job: JobRecord
    intervals: list[Interval]
    status: str  # as of the window's end
    crew_id: int | None  # as of the window's end
    closed_at: datetime | None  # done or cancelled, within the story
    assignments: int = 0
    reassignments: int = 0
    taken_back: int = 0
    first_assigned_at: datetime | None = None
    phase_minutes: dict[str, float] = field(default_factory=dict)


def job_story(job: JobRecord, until: datetime) -> JobStory:
    """The job's intervals, status and hand-overs from its events up to ``until``.

    A reassignment is an assignment after the first one that gives the job to
    another crew, or gives it back after it was taken back (``unassigned``).
    """
    state, crew, start = "new", None, job.created_at
    intervals: list[Interval] = []
    story = JobStory(job, intervals, "new", None, None)
    previous_crew: int | None = None
    was_taken_back = False
    for event in job.events:
        if event.ts >= until:
            break
        if event.type == "job.created":
            continue
        if event.ts > start:
            intervals.append(Interval(state, start, event.ts, crew))
            start = event.ts
        if event.type == "job.assigned":
            story.assignments += 1
            if story.first_assigned_at is None:
                story.first_assigned_at = event.ts
            elif event.crew_id != previous_crew or was_taken_back:
                story.reassignments += 1
            previous_crew, was_taken_back = event.crew_id, False
        elif event.type == "job.unassigned":
            story.taken_back += 1
            was_taken_back = True
        state, crew = event.status, event.crew_id
        if state in FINAL:
            story.closed_at = event.ts
            break
    if state not in FINAL and until > start:
        intervals.append(Interval(state, start, until, crew))
    story.status, story.crew_id = state, crew
    story.phase_minutes = {
        phase: sum((i.end - i.start).total_seconds() for i in intervals if i.status == phase) / 60.0
        for phase in PHASES
    }
    return story


def _local_shift_spans(
    crew: CrewRecord, t0: datetime, t1: datetime
) -> Iterable[tuple[datetime, datetime]]:
    """The crew's shifts (aware datetimes) on the local days around ``[t0, t1]``."""
    start, end = _hhmm(crew.shift_start), _hhmm(crew.shift_end)
    if start is None or end is None or start == end:
        yield t0, t1  # no readable limit (as crew_specs.in_shift): always on
        return
    day = t0.astimezone(crew.zone).date() - timedelta(days=1)
    last = t1.astimezone(crew.zone).date()
    while day <= last:
        a = datetime.combine(day, start, tzinfo=crew.zone)
        b = datetime.combine(day + timedelta(days=1 if end <= start else 0), end, tzinfo=crew.zone)
        yield a, b
        day += timedelta(days=1)


def _hhmm(value: str) -> time | None:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        return None


def skilled_crews(skills: Iterable[str], crews: Sequence[CrewRecord]) -> list[CrewRecord]:
    """Crews having every skill in ``skills``."""
    needed = frozenset(skills)
    return [c for c in crews if needed <= c.skills]


def on_shift_during(crew: CrewRecord, t0: datetime, t1: datetime) -> bool:
    """True when any of the crew's shifts overlaps ``[t0, t1)``."""
    return any(a < t1 and b > t0 for a, b in _local_shift_spans(crew, t0, t1))


def _minutes(value: float) -> float:
    return round(value, 1)


def duration_text(minutes: float) -> str:
    """Minutes as a shift lead reads them: ``42 min``, ``3 h 05 min``, ``12 d 4 h``."""
    total = round(minutes)
    if total < 60:
        return f"{total} min"
    if total < 1440:
        return f"{total // 60} h {total % 60:02d} min"
    return f"{total // 1440} d {total % 1440 // 60} h"


def _reason(code: str, text: str, minutes: float | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "text": text}
    if minutes is not None:
        out["minutes"] = _minutes(minutes)
    out.update(extra)
    return out


def _waiting_spans(story: JobStory) -> list[tuple[datetime, datetime]]:
    return [(i.start, i.end) for i in story.intervals if i.status == "new"]


def late_reasons(story: JobStory, crews: Sequence[CrewRecord]) -> list[dict[str, Any]]:
    """Why a job took so long: hand-overs and staffing first, then phases, longest first."""
    job = story.job
    reasons: list[dict[str, Any]] = []
    waits = _waiting_spans(story)
    if job.skills and waits:
        skilled = skilled_crews(job.skills, crews)
        wanted = ", ".join(sorted(job.skills))
        if not skilled:
            reasons.append(_reason("no_skilled_crew", f"no crew has the skill(s) {wanted}"))
        elif not any(on_shift_during(c, a, b) for c in skilled for a, b in waits):
            reasons.append(
                _reason(
                    "no_skilled_crew_on_shift",
                    f"no crew with the skill(s) {wanted} was on shift while it waited",
                )
            )
    if story.reassignments:
        n = story.reassignments
        reasons.append(_reason("reassigned", f"reassigned {n} time{'s' if n > 1 else ''}", count=n))
    if story.taken_back:
        n = story.taken_back
        reasons.append(
            _reason(
                "taken_back", f"taken back from its crew {n} time{'s' if n > 1 else ''}", count=n
            )
        )
    m = story.phase_minutes
    phases = []
    # A phase shorter than half a minute explains nothing; it is left out of the reasons.
    if m["new"] >= 0.5:
        unassigned = story.first_assigned_at is None and story.closed_at is None
        wait = duration_text(m["new"])
        text = f"still waiting for a crew ({wait})" if unassigned else f"waited {wait} for a crew"
        phases.append(_reason("waited_for_assignment", text, m["new"]))
    travel = m["assigned"] + m["en_route"]
    if travel >= 0.5:
        text = (
            f"travel {duration_text(travel)} (assigned → en route "
            f"{duration_text(m['assigned'])}, en route → on site {duration_text(m['en_route'])})"
        )
        phases.append(
            _reason(
                "travel",
                text,
                travel,
                before_setting_out=_minutes(m["assigned"]),
                driving=_minutes(m["en_route"]),
            )
        )
    if m["on_site"] >= 0.5:
        phases.append(_reason("on_site", f"on site {duration_text(m['on_site'])}", m["on_site"]))
    phases.sort(key=lambda r: -r["minutes"])
    return reasons + phases


def _in(ts: datetime | None, since: datetime, until: datetime) -> bool:
    return ts is not None and since <= ts < until


def late_job(
    story: JobStory, until: datetime, crews: Sequence[CrewRecord]
) -> dict[str, Any] | None:
    """The job's entry in the late list, or None when it was not late by ``until``.

    Late: done after its due time, or still open (not done or cancelled) past it.
    A cancelled job is not late: nobody was going to come.
    """
    job = story.job
    if job.due_at is None or story.status == "cancelled":
        return None
    if story.status == "done" and story.closed_at is not None:
        if story.closed_at <= job.due_at:
            return None
        finished, end = True, story.closed_at
    elif job.due_at < until:
        finished, end = False, until
    else:
        return None
    reasons = late_reasons(story, crews)
    return {
        "job_id": job.id,
        "title": job.title,
        "priority": job.priority,
        "skills": list(job.skills),
        "created_at": job.created_at,
        "due_at": job.due_at,
        "closed_at": story.closed_at,
        "status": story.status,
        "crew_id": story.crew_id,
        "state": "done late" if finished else "open past due",
        "minutes_late": _minutes((end - job.due_at).total_seconds() / 60.0),
        "allowed_minutes": _minutes((job.due_at - job.created_at).total_seconds() / 60.0),
        "phases": {k: _minutes(v) for k, v in story.phase_minutes.items()},
        "assignments": story.assignments,
        "reassignments": story.reassignments,
        "taken_back": story.taken_back,
        "reasons": reasons,
        "why": "; ".join(r["text"] for r in reasons) or "no recorded progress",
    }


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(p / 100.0 * len(ordered)), 1)
    return ordered[rank - 1]


def job_summary(
    stories: Sequence[JobStory], since: datetime, until: datetime, crews: Sequence[CrewRecord]
) -> dict[str, Any]:
    """Jobs opened, assigned, completed, cancelled and still open, and the late ones."""

    def had(story: JobStory, kind: str) -> bool:
        return any(e.type == kind and _in(e.ts, since, until) for e in story.job.events)

    late = [entry for s in stories if (entry := late_job(s, until, crews)) is not None]
    late.sort(key=lambda e: (-e["minutes_late"], e["job_id"]))
    return {
        "opened": sum(_in(s.job.created_at, since, until) for s in stories),
        "assigned": sum(had(s, "job.assigned") for s in stories),
        "completed": sum(s.status == "done" and _in(s.closed_at, since, until) for s in stories),
        "cancelled": sum(
            s.status == "cancelled" and _in(s.closed_at, since, until) for s in stories
        ),
        "still_open": sum(s.status not in FINAL and s.job.created_at < until for s in stories),
        "late_count": len(late),
        "late": late,
    }


def alarm_summary(
    alarms: Sequence[AlarmRecord], since: datetime, until: datetime
) -> dict[str, Any]:
    """Alarms raised, acknowledged and cleared in the window, and how fast people acknowledged.

    Time to acknowledge counts alarms raised in the window and acknowledged
    before its end (the first acknowledgement: an escalation re-raises).
    """
    raised = [a for a in alarms if _in(a.raised_at, since, until)]
    tta = [
        (a.acked_at - a.raised_at).total_seconds() / 60.0
        for a in raised
        if a.acked_at is not None and a.acked_at < until
    ]
    unacked = [
        a
        for a in raised
        if (a.acked_at is None or a.acked_at >= until)
        and (a.cleared_at is None or a.cleared_at >= until)
    ]
    by_severity: dict[str, int] = {}
    for a in raised:
        by_severity[a.severity] = by_severity.get(a.severity, 0) + 1
    p50, p90 = percentile(tta, 50), percentile(tta, 90)
    return {
        "raised": len(raised),
        "raised_by_severity": dict(sorted(by_severity.items())),
        "acknowledged": sum(_in(a.acked_at, since, until) for a in alarms),
        "cleared": sum(_in(a.cleared_at, since, until) for a in alarms),
        "unacknowledged_at_end": len(unacked),
        "time_to_ack_min": {
            "count": len(tta),
            "p50": None if p50 is None else _minutes(p50),
            "p90": None if p90 is None else _minutes(p90),
        },
    }


def issue_summary(
    issues: Sequence[IssueRecord], since: datetime, until: datetime
) -> dict[str, Any]:
    """Service requests reported and closed in the window, and those open at its end."""
    return {
        "reported": sum(_in(i.requested_at, since, until) for i in issues),
        "closed": sum(_in(i.closed_at, since, until) for i in issues),
        "open_at_end": sum(
            i.requested_at < until and (i.closed_at is None or i.closed_at >= until) for i in issues
        ),
    }


def crew_summary(
    stories: Sequence[JobStory], crews: Sequence[CrewRecord], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Per crew: jobs finished in the window and minutes on site within it (busiest first)."""
    done: dict[int, int] = {}
    on_site: dict[int, float] = {}
    for s in stories:
        if s.status == "done" and _in(s.closed_at, since, until) and s.crew_id is not None:
            done[s.crew_id] = done.get(s.crew_id, 0) + 1
        for i in s.intervals:
            if i.status == "on_site" and i.crew_id is not None:
                on_site[i.crew_id] = on_site.get(i.crew_id, 0.0) + i.minutes_within(since, until)
    names = {c.id: c.name for c in crews}
    ids = sorted(set(done) | {c for c, m in on_site.items() if m > 0})
    rows: list[dict[str, Any]] = [
        {
            "crew_id": cid,
            "name": names.get(cid, f"crew {cid}"),
            "jobs_done": done.get(cid, 0),
            "on_site_min": _minutes(on_site.get(cid, 0.0)),
        }
        for cid in ids
    ]
    rows.sort(key=lambda r: (-r["jobs_done"], -r["on_site_min"], r["crew_id"]))
    return rows


def shift_report(
    since: datetime,
    until: datetime,
    jobs: Sequence[JobRecord],
    alarms: Sequence[AlarmRecord],
    issues: Sequence[IssueRecord],
    crews: Sequence[CrewRecord],
) -> dict[str, Any]:
    """The whole report for ``[since, until)`` (times stay datetimes; the caller serialises)."""
    if until <= since:
        raise ValueError("the report's end must be after its start")
    stories = [job_story(j, until) for j in jobs if j.created_at < until]
    return {
        "since": since,
        "until": until,
        "jobs": job_summary(stories, since, until, crews),
        "alarms": alarm_summary(alarms, since, until),
        "issues": issue_summary(issues, since, until),
        "crews": crew_summary(stories, crews, since, until),
    }
