"""Commands an operator gives about one asset: a job for it, and shelving one of its alarms."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shapely.geometry.base import BaseGeometry

from backend.db.models import Alarm, Asset, Issue, Job
from backend.protocol.limits import MAX_SHELVE_MINUTES
from backend.protocol.topics import topic
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg, check_version, get_row
from backend.service.entities import wire_time

SHELVABLE = frozenset({"raised", "acknowledged", "shelved"})
MAX_TITLE = 200
MAX_REASON = 500
MAX_SKILLS = 20


def asset_position(asset: Asset) -> tuple[float | None, float | None]:
    """Where to send a crew for an asset: its point, else its line's or area's middle."""
    if asset.lon is not None and asset.lat is not None:
        return asset.lon, asset.lat
    geom = asset.geom
    if isinstance(geom, BaseGeometry) and not geom.is_empty:
        # A point on the line or area itself (a centroid may fall off a bent main).
        point = geom.representative_point()
        return float(point.x), float(point.y)
    return None, None


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise CommandError("bad_args", f"{name} must carry a time zone", {"argument": name})
    return value


def create_job(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Open a work order on an asset, at the asset's location.

    Args: ``asset_id``, ``title``, ``priority`` (1 most urgent .. 5), ``skills``
    (list of skill names); optional ``due_at`` (aware time) and ``issue_id``
    (the report it answers). Emits ``job.created`` on ``job/<id>``.
    """
    asset = get_row(ctx, Asset, arg(args, "asset_id", int), "asset", lock=False)
    title = arg(args, "title", str).strip()
    if not title or len(title) > MAX_TITLE:
        raise CommandError(
            "bad_args", f"a job title is 1..{MAX_TITLE} characters", {"argument": "title"}
        )
    priority = arg(args, "priority", int)
    if not 1 <= priority <= 5:
        raise CommandError(
            "bad_args", "priority must be 1 (most urgent) to 5", {"argument": "priority"}
        )
    skills = arg(args, "skills", list)
    if len(skills) > MAX_SKILLS or not all(isinstance(s, str) and s.strip() for s in skills):
        raise CommandError(
            "bad_args", f"skills must be a list of up to {MAX_SKILLS} names", {"argument": "skills"}
        )
    due_at = _aware(arg(args, "due_at", datetime, required=False), "due_at")
    issue_id = arg(args, "issue_id", int, required=False)
    if issue_id is not None:
        get_row(ctx, Issue, issue_id, "issue", lock=False)
    lon, lat = asset_position(asset)
    job = Job(
        issue_id=issue_id,
        asset_id=asset.id,
        title=title,
        priority=priority,
        skills=sorted({s.strip() for s in skills}),
        lon=lon,
        lat=lat,
        created_at=ctx.now,
        due_at=due_at,
        status="new",
        updated_at=ctx.now,
        version=1,
    )
    ctx.session.add(job)
    ctx.session.flush()
    ctx.emit_entity("job.created", topic("job", job.id), job)
    return {"job_id": job.id, "version": job.version}


def shelve_alarm(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Silence an alarm for a while, with a reason the next shift reads.

    Args: ``alarm_id``, ``version`` (as seen), ``minutes`` (1..1440), ``reason``.
    A shelved alarm may be shelved again (a new end time and reason).
    Emits ``alarm.shelved`` on ``alarm/<id>``.
    """
    alarm = get_row(ctx, Alarm, arg(args, "alarm_id", int), "alarm")
    t = topic("alarm", alarm.id)
    minutes = arg(args, "minutes", int)
    reason = arg(args, "reason", str).strip()
    if not 1 <= minutes <= MAX_SHELVE_MINUTES:
        raise CommandError(
            "bad_args",
            f"a shelve lasts 1 to {MAX_SHELVE_MINUTES} minutes, not {minutes}",
            {"argument": "minutes"},
        )
    if not reason or len(reason) > MAX_REASON:
        raise CommandError(
            "bad_args",
            f"a shelve needs a reason of 1..{MAX_REASON} characters",
            {"argument": "reason"},
        )
    check_version(ctx, alarm, arg(args, "version", int), t, f"alarm {alarm.id}")
    if alarm.state not in SHELVABLE:
        raise CommandError(
            "invalid_state",
            f"alarm {alarm.id} is {alarm.state}: nothing to shelve",
            {"state": alarm.state},
        )
    alarm.state = "shelved"
    alarm.shelved_until = ctx.now + timedelta(minutes=minutes)
    alarm.shelve_reason = reason
    alarm.version += 1
    ctx.emit_entity("alarm.shelved", t, alarm)
    # The reply is kept in command_log (JSON): times go as wire strings.
    return {
        "alarm_id": alarm.id,
        "version": alarm.version,
        "shelved_until": wire_time(alarm.shelved_until),
    }
