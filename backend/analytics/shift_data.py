"""Read what a shift report needs from the database into :mod:`backend.analytics.shift` records.

Only what lived in the window is read: jobs, alarms and issues opened
before its end and not closed before its start, their events up to its end,
and every crew (skills and shifts). A job's story comes from its ``job.*``
events; a job that has none (imported, or written by the demo-city
generator) gets one from its row's ``assigned_at`` and ``closed_at``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.analytics.shift import (
    FINAL,
    STATUS_OF_EVENT,
    AlarmRecord,
    CrewRecord,
    IssueRecord,
    JobEvent,
    JobRecord,
    shift_report,
)
from backend.db.models import Alarm, Crew, Event, Issue, Job
from backend.service.crew_specs import zone_at

#: Topics per ``IN (...)`` list (keeps statements small on both databases).
CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _events(session: Session, topics: list[str], until: datetime, types: Sequence[str]) -> Any:
    """Events of ``types`` on ``topics`` before ``until``, in seq order per chunk."""
    for chunk in _chunks(topics):
        yield from session.scalars(
            select(Event)
            .where(Event.topic.in_(chunk), Event.type.in_(types), Event.ts < until)
            .order_by(Event.seq)
        )


def _job_event(e: Event) -> JobEvent:
    entity = e.body.get("entity") if isinstance(e.body, dict) else None
    entity = entity if isinstance(entity, dict) else {}
    status = entity.get("status") or STATUS_OF_EVENT[e.type]
    crew = entity.get("crew_id")
    return JobEvent(e.ts, e.type, str(status), crew if isinstance(crew, int) else None)


def _from_row(job: Job) -> tuple[JobEvent, ...]:
    """A story for a job that has no events: its assignment and closing times."""
    out = []
    if job.assigned_at is not None and job.crew_id is not None:
        out.append(JobEvent(job.assigned_at, "job.assigned", "assigned", job.crew_id))
    if job.closed_at is not None and job.status in FINAL:
        out.append(JobEvent(job.closed_at, f"job.{job.status}", job.status, job.crew_id))
    return tuple(out)


def load_jobs(session: Session, since: datetime, until: datetime) -> list[JobRecord]:
    """Jobs alive in ``[since, until)`` with their events up to ``until``."""
    rows = list(
        session.scalars(
            select(Job)
            .where(Job.created_at < until, or_(Job.closed_at.is_(None), Job.closed_at >= since))
            .order_by(Job.id)
        )
    )
    history: dict[str, list[JobEvent]] = {}
    for e in _events(session, [f"job/{j.id}" for j in rows], until, tuple(STATUS_OF_EVENT)):
        history.setdefault(e.topic, []).append(_job_event(e))
    return [
        JobRecord(
            id=j.id,
            title=j.title,
            created_at=j.created_at,
            due_at=j.due_at,
            skills=tuple(j.skills or ()),
            priority=j.priority,
            events=tuple(history[f"job/{j.id}"]) if f"job/{j.id}" in history else _from_row(j),
        )
        for j in rows
    ]


def load_alarms(session: Session, since: datetime, until: datetime) -> list[AlarmRecord]:
    """Alarms alive in the window; the first acknowledgement from the events (else the row)."""
    rows = list(
        session.scalars(
            select(Alarm)
            .where(
                Alarm.raised_at < until, or_(Alarm.cleared_at.is_(None), Alarm.cleared_at >= since)
            )
            .order_by(Alarm.id)
        )
    )
    first_ack: dict[str, datetime] = {}
    for e in _events(session, [f"alarm/{a.id}" for a in rows], until, ("alarm.acknowledged",)):
        first_ack.setdefault(e.topic, e.ts)
    return [
        AlarmRecord(
            id=a.id,
            severity=a.severity,
            raised_at=a.raised_at,
            acked_at=first_ack.get(f"alarm/{a.id}", a.acked_at),
            cleared_at=a.cleared_at,
        )
        for a in rows
    ]


def load_issues(session: Session, since: datetime, until: datetime) -> list[IssueRecord]:
    """Service requests alive in the window."""
    query = select(Issue.id, Issue.requested_at, Issue.closed_at).where(
        Issue.requested_at < until, or_(Issue.closed_at.is_(None), Issue.closed_at >= since)
    )
    return [IssueRecord(int(i), r, c) for i, r, c in session.execute(query)]


def load_crews(session: Session) -> list[CrewRecord]:
    """Every crew with its skills and its shift, local to its depot (see ``crew_specs``)."""
    return [
        CrewRecord(
            id=c.id,
            name=c.name,
            skills=frozenset(c.skills or ()),
            shift_start=c.shift_start,
            shift_end=c.shift_end,
            zone=zone_at(
                c.depot_lon if c.depot_lon is not None else c.last_lon,
                c.depot_lat if c.depot_lat is not None else c.last_lat,
            ),
        )
        for c in session.scalars(select(Crew).order_by(Crew.id))
    ]


def build_shift_report(session: Session, since: datetime, until: datetime) -> dict[str, Any]:
    """The shift report for ``[since, until)`` read on ``session`` (read-only)."""
    if until <= since:
        raise ValueError("the report's end must be after its start")
    return shift_report(
        since,
        until,
        load_jobs(session, since, until),
        load_alarms(session, since, until),
        load_issues(session, since, until),
        load_crews(session),
    )
