"""Commands that change jobs, issues and alarms (versioned rows, optimistic locking)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from backend.db.models import (
    Alarm,
    Asset,
    Citizen,
    CitizenInteraction,
    Crew,
    Issue,
    Job,
)
from backend.protocol.envelope import new_msg_id
from backend.protocol.topics import topic
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg, check_version, get_row

#: Job statuses from which nothing moves on.
FINAL = frozenset({"done", "cancelled"})
#: The moves ``set_job_status`` allows (assignment has its own commands).
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"cancelled"}),
    "assigned": frozenset({"en_route", "on_site", "done", "cancelled"}),
    "en_route": frozenset({"on_site", "done", "cancelled", "assigned"}),
    "on_site": frozenset({"done", "cancelled", "en_route"}),
}
#: What a crew is doing while its job is in a status.
CREW_STATUS_FOR = {"assigned": "available", "en_route": "en_route", "on_site": "on_site"}


def _job(ctx: CommandContext, args: dict[str, Any]) -> tuple[Job, str]:
    job_id = arg(args, "job_id", int)
    job = get_row(ctx, Job, job_id, "job")
    t = topic("job", job.id)
    check_version(ctx, job, arg(args, "version", int), t, f"job {job.id}")
    return job, t


def _touch(ctx: CommandContext, row: Any) -> None:
    row.version += 1
    row.updated_at = ctx.now


def _set_crew_status(ctx: CommandContext, crew_id: int | None, status: str) -> None:
    if crew_id is None:
        return
    crew = get_row(ctx, Crew, crew_id, "crew")
    if crew.status != status and crew.status != "off_shift":
        crew.status = status
        crew.version += 1
        ctx.emit_entity("crew.status", topic("crew", crew.id), crew)


def assign_job(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Give a job to a crew. Args: ``job_id``, ``crew_id``, ``version`` (the job's, as seen)."""
    job, t = _job(ctx, args)
    crew = get_row(ctx, Crew, arg(args, "crew_id", int), "crew", lock=False)
    if job.status not in ("new", "assigned"):
        raise CommandError(
            "invalid_state",
            f"job {job.id} is {job.status}; only a new or assigned job can be (re)assigned",
            {"status": job.status},
        )
    if crew.status == "off_shift":
        raise CommandError("invalid_state", f"crew {crew.name} is off shift", {"crew_id": crew.id})
    job.crew_id = crew.id
    job.status = "assigned"
    job.assigned_by = ctx.user.name
    job.assigned_at = ctx.now
    _touch(ctx, job)
    ctx.emit_entity("job.assigned", t, job)
    return {"job_id": job.id, "version": job.version, "crew_id": crew.id}


def unassign_job(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Take a job back from its crew (it returns to ``new``). Args: ``job_id``, ``version``."""
    job, t = _job(ctx, args)
    if job.status in FINAL or job.crew_id is None:
        raise CommandError(
            "invalid_state", f"job {job.id} is {job.status} and has no crew to take it from"
        )
    crew_id, was = job.crew_id, job.status
    job.crew_id = None
    job.status = "new"
    job.assigned_by = None
    job.assigned_at = None
    _touch(ctx, job)
    ctx.emit_entity("job.unassigned", t, job)
    if was in ("en_route", "on_site"):
        _set_crew_status(ctx, crew_id, "available")
    return {"job_id": job.id, "version": job.version}


def set_job_status(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Move a job along: en route, on site, done, cancelled.

    Args: ``job_id``, ``status``, ``version``; optional ``note``.

    A job done (or cancelled) frees its crew; the last open job of an issue
    closes the issue; a crew setting out puts the issue in progress.
    """
    job, t = _job(ctx, args)
    status = arg(args, "status", str)
    note = arg(args, "note", str, required=False)
    allowed = TRANSITIONS.get(job.status, frozenset())
    if status not in allowed:
        raise CommandError(
            "invalid_state",
            f"job {job.id} cannot go from {job.status} to {status}"
            f" (allowed: {', '.join(sorted(allowed)) or 'none, it is final'})",
            {"status": job.status, "requested": status},
        )
    if status in ("en_route", "on_site", "done") and job.crew_id is None:
        raise CommandError("invalid_state", f"job {job.id} has no crew")
    job.status = status
    if status in FINAL:
        job.closed_at = ctx.now
    _touch(ctx, job)
    ctx.emit_entity(f"job.{status}", t, job)
    _set_crew_status(ctx, job.crew_id, CREW_STATUS_FOR.get(status, "available"))
    issue_closed = False
    if job.issue_id is not None:
        issue = get_row(ctx, Issue, job.issue_id, "issue")
        if status in FINAL:
            issue_closed = _close_issue_if_done(ctx, issue, job, note)
        elif status in ("en_route", "on_site") and issue.status in ("open", "acknowledged"):
            issue.status = "in_progress"
            _touch(ctx, issue)
            ctx.emit_entity("issue.in_progress", topic("issue", issue.id), issue)
    return {"job_id": job.id, "version": job.version, "issue_closed": issue_closed}


def _close_issue_if_done(ctx: CommandContext, issue: Issue, job: Job, note: str | None) -> bool:
    open_jobs = ctx.session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.issue_id == issue.id, Job.status.not_in(FINAL), Job.id != job.id)
    )
    if open_jobs or issue.status == "closed":
        return False
    done = job.status == "done"
    issue.status = "closed"
    issue.closed_at = ctx.now
    issue.status_notes = note or (
        f"resolved by job {job.id}" if done else f"job {job.id} cancelled"
    )
    _touch(ctx, issue)
    ctx.emit_entity("issue.closed", topic("issue", issue.id), issue)
    return True


def report_issue(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Record a service request; optionally its citizen and a job for it.

    Args: ``category``; optional ``description``, ``lon``, ``lat``, ``address``,
    ``asset_id``, ``service_code``, ``channel``, ``requested_at``,
    ``citizen`` ({name, email, phone}), ``job`` ({title, priority, skills}).
    """
    category = arg(args, "category", str)
    lon = arg(args, "lon", float, required=False)
    lat = arg(args, "lat", float, required=False)
    if (lon is None) != (lat is None) or (
        lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90)
    ):
        raise CommandError("bad_args", "lon/lat must both be given and inside WGS84 bounds")
    asset_id = arg(args, "asset_id", int, required=False)
    if asset_id is not None:
        get_row(ctx, Asset, asset_id, "asset", lock=False)
    requested_at = arg(args, "requested_at", datetime, required=False) or ctx.now
    citizen_id = _citizen(ctx, arg(args, "citizen", dict, required=False))
    issue = Issue(
        source="cityops",
        source_id=new_msg_id(),
        category=category,
        service_code=arg(args, "service_code", str, required=False),
        description=arg(args, "description", str, required=False),
        lon=lon,
        lat=lat,
        address=arg(args, "address", str, required=False),
        status="open",
        requested_at=requested_at,
        updated_at=ctx.now,
        channel=arg(args, "channel", str, required=False) or "console",
        citizen_id=citizen_id,
        asset_id=asset_id,
        attributes={"reported_by": ctx.user.name},
        version=1,
    )
    ctx.session.add(issue)
    ctx.session.flush()
    ctx.emit_entity("issue.reported", topic("issue", issue.id), issue)
    if citizen_id is not None:
        ctx.session.add(
            CitizenInteraction(
                citizen_id=citizen_id,
                issue_id=issue.id,
                ts=requested_at,
                channel=issue.channel or "console",
                kind="report",
                body=issue.description,
            )
        )
    result: dict[str, Any] = {"issue_id": issue.id, "version": issue.version}
    job_args = arg(args, "job", dict, required=False)
    if job_args is not None:
        priority = arg(job_args, "priority", int, required=False, default=3)
        if not 1 <= priority <= 5:
            raise CommandError("bad_args", "job priority must be 1 (most urgent) to 5")
        skills = arg(job_args, "skills", list, required=False, default=[])
        job = Job(
            issue_id=issue.id,
            asset_id=asset_id,
            title=arg(job_args, "title", str, required=False) or category,
            priority=priority,
            skills=[str(s) for s in skills],
            lon=lon,
            lat=lat,
            created_at=ctx.now,
            due_at=arg(job_args, "due_at", datetime, required=False),
            status="new",
            updated_at=ctx.now,
            version=1,
        )
        ctx.session.add(job)
        ctx.session.flush()
        ctx.emit_entity("job.created", topic("job", job.id), job)
        result["job_id"] = job.id
    return result


def _citizen(ctx: CommandContext, data: dict[str, Any] | None) -> int | None:
    if not data:
        return None
    email = arg(data, "email", str, required=False)
    if email:
        found = ctx.session.scalar(select(Citizen.id).where(Citizen.email == email))
        if found is not None:
            return int(found)
    citizen = Citizen(
        name=arg(data, "name", str, required=False),
        email=email,
        phone=arg(data, "phone", str, required=False),
        created_at=ctx.now,
    )
    ctx.session.add(citizen)
    ctx.session.flush()
    return citizen.id


def ack_alarm(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Acknowledge a raised (or shelved) alarm. Args: ``alarm_id``, ``version``."""
    alarm = get_row(ctx, Alarm, arg(args, "alarm_id", int), "alarm")
    t = topic("alarm", alarm.id)
    check_version(ctx, alarm, arg(args, "version", int), t, f"alarm {alarm.id}")
    if alarm.state not in ("raised", "shelved"):
        by = f" by {alarm.acked_by}" if alarm.acked_by else ""
        raise CommandError(
            "invalid_state",
            f"alarm {alarm.id} is already {alarm.state}{by}",
            {"state": alarm.state},
        )
    alarm.state = "acknowledged"
    alarm.acked_by = ctx.user.name
    alarm.acked_at = ctx.now
    alarm.version += 1
    ctx.emit_entity("alarm.acknowledged", t, alarm)
    return {"alarm_id": alarm.id, "version": alarm.version}
