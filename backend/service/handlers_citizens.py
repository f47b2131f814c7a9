"""The citizens' side: service requests as citizens see them, their record, and notices to them.

Reading commands (``list_services``, ``list_requests``, ``get_citizen``,
``pending_notices``) change nothing. Notices are decided inside the
transaction that closes an issue (:func:`notify_reporters`, called by
``set_job_status``), so an issue closed is a notice recorded, once, with its
event; delivering it (mail, SMS) is a later, separate step that reports back
with ``record_notice_delivery``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from backend.db.models import Citizen, CitizenInteraction, Issue
from backend.protocol.topics import topic
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg, get_row
from backend.service.entities import wire_time

#: GeoReport v2 answers at most this many requests per query.
MAX_REQUESTS = 1000
#: Delivery attempts before a notice is given up as ``failed``.
DEFAULT_MAX_ATTEMPTS = 5
#: Issue statuses GeoReport calls ``open`` (it knows only open and closed).
OPEN_STATUSES = ("open", "acknowledged", "in_progress")


# -- notices ----------------------------------------------------------------------------------


def notice_channel(citizen: Citizen) -> str:
    """How a citizen hears from us: by the contact they gave, else on the web (GeoReport GET)."""
    if not citizen.notify:
        return "web"
    if citizen.email:
        return "email"
    if citizen.phone:
        return "sms"
    return "web"


def notice_text(issue: Issue) -> str:
    """The words of a closing notice (what the citizen reads in a mail or a text)."""
    what = f"Your report #{issue.id} ({issue.category})"
    where = f" at {issue.address}" if issue.address else ""
    notes = f": {issue.status_notes}" if issue.status_notes else ""
    return f"{what}{where} has been closed{notes}."


def reporters(ctx: CommandContext, issue: Issue) -> list[int]:
    """Every citizen who reported ``issue``: its own citizen and any report interaction on it."""
    ids = set(
        ctx.session.scalars(
            select(CitizenInteraction.citizen_id).where(
                CitizenInteraction.issue_id == issue.id, CitizenInteraction.kind == "report"
            )
        )
    )
    if issue.citizen_id is not None:
        ids.add(issue.citizen_id)
    return sorted(ids)


def notify_reporters(ctx: CommandContext, issue: Issue) -> list[int]:
    """Record a closing notice to each reporter of ``issue`` that has none yet; their ids.

    Runs in the closing command's transaction (rows and ``citizen.notice``
    events commit with the issue's new status). A citizen already noticed about
    this issue gets no second one, whatever path closed it again.
    """
    noticed = set(
        ctx.session.scalars(
            select(CitizenInteraction.citizen_id).where(
                CitizenInteraction.issue_id == issue.id, CitizenInteraction.kind == "notice"
            )
        )
    )
    made: list[int] = []
    for citizen_id in reporters(ctx, issue):
        citizen = ctx.session.get(Citizen, citizen_id)
        if citizen is None or citizen_id in noticed:
            continue
        channel = notice_channel(citizen)
        notice = CitizenInteraction(
            citizen_id=citizen_id,
            issue_id=issue.id,
            ts=ctx.now,
            channel=channel,
            kind="notice",
            body=notice_text(issue),
            delivery=None if channel == "web" else "pending",
            attempts=0,
        )
        ctx.session.add(notice)
        ctx.session.flush()
        ctx.emit("citizen.notice", topic("issue", issue.id), {"notice": _notice_map(notice)})
        made.append(notice.id)
    return made


def record_status_note(ctx: CommandContext, issue: Issue, text: str) -> None:
    """Note on each reporter's record that their issue moved on (seen on the web, not sent)."""
    for citizen_id in reporters(ctx, issue):
        ctx.session.add(
            CitizenInteraction(
                citizen_id=citizen_id,
                issue_id=issue.id,
                ts=ctx.now,
                channel="web",
                kind="status",
                body=text,
                attempts=0,
            )
        )


def _notice_map(n: CitizenInteraction) -> dict[str, Any]:
    """A notice as it travels on the bus: no contact details (every console sees it)."""
    return {
        "id": n.id,
        "citizen_id": n.citizen_id,
        "issue_id": n.issue_id,
        "channel": n.channel,
        "delivery": n.delivery,
        "attempts": n.attempts,
        "ts": wire_time(n.ts),
    }


def pending_notices(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Notices waiting for delivery, oldest first, with the contact to deliver them to.

    Args: optional ``limit`` (default 100, at most 1000).
    """
    limit = arg(args, "limit", int, required=False, default=100)
    if not 1 <= limit <= MAX_REQUESTS:
        raise CommandError("bad_args", f"limit must be 1..{MAX_REQUESTS}")
    rows = ctx.session.execute(
        select(CitizenInteraction, Citizen)
        .join(Citizen, Citizen.id == CitizenInteraction.citizen_id)
        .where(CitizenInteraction.delivery == "pending")
        .order_by(CitizenInteraction.id)
        .limit(limit)
    )
    return {
        "notices": [
            {
                **_notice_map(n),
                "body": n.body,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
            }
            for n, c in rows
        ]
    }


def record_notice_delivery(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """A sender's word on one delivery attempt of a notice.

    Args: ``notice_id``, ``ok`` (bool); optional ``error`` (text),
    ``max_attempts`` (default 5: a failure on the last one marks it ``failed``).
    """
    notice = get_row(ctx, CitizenInteraction, arg(args, "notice_id", int), "notice")
    if notice.kind != "notice":
        raise CommandError("bad_args", f"interaction {notice.id} is a {notice.kind}, not a notice")
    ok = arg(args, "ok", bool)
    error = arg(args, "error", str, required=False)
    max_attempts = arg(args, "max_attempts", int, required=False, default=DEFAULT_MAX_ATTEMPTS)
    if notice.delivery != "pending":
        raise CommandError(
            "invalid_state",
            f"notice {notice.id} is {notice.delivery or 'not for delivery'}, not pending",
            {"delivery": notice.delivery},
        )
    notice.attempts += 1
    if ok:
        notice.delivery = "sent"
        notice.delivered_at = ctx.now
        notice.delivery_error = None
    else:
        notice.delivery_error = (error or "delivery failed")[:2000]
        if notice.attempts >= max_attempts:
            notice.delivery = "failed"
    if notice.issue_id is not None:
        ctx.emit(
            "citizen.notice_delivery",
            topic("issue", notice.issue_id),
            {"notice": _notice_map(notice)},
        )
    return {"notice_id": notice.id, "delivery": notice.delivery, "attempts": notice.attempts}


# -- service requests as GeoReport sees them --------------------------------------------------


def list_services(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """The services the city's issues use: ``[{service_code, category, agency, count}]``.

    Distinct (code, category) pairs with how many issues each has, most used
    first; a code may be empty (imports and the simulator report by category).
    """
    rows = ctx.session.execute(
        select(Issue.service_code, Issue.category, func.max(Issue.agency), func.count())
        .group_by(Issue.service_code, Issue.category)
        .order_by(func.count().desc(), Issue.category)
    )
    return {
        "services": [
            {"service_code": code, "category": category, "agency": agency, "count": count}
            for code, category, agency, count in rows
        ]
    }


def _request_map(issue: Issue) -> dict[str, Any]:
    attributes = issue.attributes or {}
    return {
        "id": issue.id,
        "category": issue.category,
        "service_code": issue.service_code,
        "description": issue.description,
        "lon": issue.lon,
        "lat": issue.lat,
        "address": issue.address,
        "status": issue.status,
        "status_notes": issue.status_notes,
        "requested_at": issue.requested_at,
        "updated_at": issue.updated_at,
        "expected_at": issue.expected_at,
        "closed_at": issue.closed_at,
        "agency": issue.agency,
        "media_url": attributes.get("media_url"),
    }


def list_requests(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Service requests (issues), newest first.

    Args (all optional): ``ids`` (a list of issue ids; then the other filters
    are ignored, as GeoReport says), ``service_code`` with ``category`` (a
    service is its code, or its category for issues without a code),
    ``start``/``end`` (requested between), ``status`` (``open`` or
    ``closed``), ``limit`` (1..1000, default 1000).
    """
    limit = arg(args, "limit", int, required=False, default=MAX_REQUESTS)
    if not 1 <= limit <= MAX_REQUESTS:
        raise CommandError("bad_args", f"limit must be 1..{MAX_REQUESTS}")
    query = select(Issue)
    ids = arg(args, "ids", list, required=False)
    if ids is not None:
        if not ids or len(ids) > MAX_REQUESTS or not all(type(i) is int for i in ids):
            raise CommandError("bad_args", f"ids must be 1..{MAX_REQUESTS} integers")
        query = query.where(Issue.id.in_(ids))
    else:
        code = arg(args, "service_code", str, required=False)
        category = arg(args, "category", str, required=False)
        if code is not None and category is not None:
            query = query.where(
                or_(
                    Issue.service_code == code,
                    Issue.service_code.is_(None) & (Issue.category == category),
                )
            )
        elif code is not None:
            query = query.where(Issue.service_code == code)
        elif category is not None:
            query = query.where(Issue.category == category)
        start = arg(args, "start", datetime, required=False)
        end = arg(args, "end", datetime, required=False)
        if start is not None and end is not None and end < start:
            raise CommandError("bad_args", "end is before start")
        if start is not None:
            query = query.where(Issue.requested_at >= start)
        if end is not None:
            query = query.where(Issue.requested_at <= end)
        status = arg(args, "status", str, required=False)
        if status == "open":
            query = query.where(Issue.status.in_(OPEN_STATUSES))
        elif status == "closed":
            query = query.where(Issue.status == "closed")
        elif status is not None:
            raise CommandError("bad_args", f"status must be open or closed, not {status!r}")
    issues = ctx.session.scalars(
        query.order_by(Issue.requested_at.desc(), Issue.id.desc()).limit(limit)
    )
    return {"requests": [_request_map(i) for i in issues]}


# -- the citizen record -----------------------------------------------------------------------


def get_citizen(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """A citizen and every interaction with them in time order: reports, notes, notices.

    Args: ``citizen_id`` or ``email``. Each interaction carries its issue's
    category and status, and a notice its delivery state.
    """
    citizen_id = arg(args, "citizen_id", int, required=False)
    email = arg(args, "email", str, required=False)
    if citizen_id is not None:
        citizen = get_row(ctx, Citizen, citizen_id, "citizen", lock=False)
    elif email is not None:
        citizen = ctx.session.scalar(select(Citizen).where(Citizen.email == email))
        if citizen is None:
            raise CommandError("not_found", f"no citizen with email {email!r}", {"email": email})
    else:
        raise CommandError("bad_args", "citizen_id or email is required")
    rows = ctx.session.execute(
        select(CitizenInteraction, Issue.category, Issue.status)
        .outerjoin(Issue, Issue.id == CitizenInteraction.issue_id)
        .where(CitizenInteraction.citizen_id == citizen.id)
        .order_by(CitizenInteraction.ts, CitizenInteraction.id)
    )
    return {
        "citizen": {
            "id": citizen.id,
            "name": citizen.name,
            "email": citizen.email,
            "phone": citizen.phone,
            "notify": citizen.notify,
            "created_at": citizen.created_at,
        },
        "interactions": [
            {
                "id": i.id,
                "ts": i.ts,
                "kind": i.kind,
                "channel": i.channel,
                "body": i.body,
                "issue_id": i.issue_id,
                "issue_category": category,
                "issue_status": status,
                "delivery": i.delivery,
                "delivered_at": i.delivered_at,
                "attempts": i.attempts,
            }
            for i, category, status in rows
        ],
    }
