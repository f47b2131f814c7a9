"""Who is acting, and what their role lets them do.

Authentication is a seam: :class:`Authenticator` turns the name (and, later,
credentials) a command carries into a :class:`Principal`. For now
:class:`TrustNameAuthenticator` trusts the name and checks it against the
``users`` table; a token- or Kerberos-based one can replace it without
touching the command handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from backend.db.models import User


class CommandError(Exception):
    """A command refused with a stable ``code``, a human message and optional details."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user: name and role."""

    name: str
    role: str


class Authenticator(Protocol):
    """Turns a command's claimed identity into a :class:`Principal` or refuses it."""

    def authenticate(
        self, session: Session, user: str, credentials: dict[str, Any] | None
    ) -> Principal:
        """Return the principal, or raise :class:`CommandError` (``unauthenticated``)."""
        ...


class TrustNameAuthenticator:
    """Trusts the user name (no password yet) but requires an active ``users`` row."""

    def authenticate(
        self, session: Session, user: str, credentials: dict[str, Any] | None
    ) -> Principal:
        """Look the name up in ``users``; unknown or inactive users are refused."""
        users = cast(Table, User.__table__)
        row = (
            session.connection()  # Core, not the ORM: this runs for every command
            .execute(select(users.c.name, users.c.role, users.c.active).where(users.c.name == user))
            .one_or_none()
        )
        if row is None or not row.active:
            raise CommandError(
                "unauthenticated", f"unknown or inactive user {user!r}", {"user": user}
            )
        return Principal(name=row.name, role=row.role)


ALL_ROLES = frozenset({"operator", "dispatcher", "shift_lead", "admin"})
DISPATCH = frozenset({"dispatcher", "admin"})
FIELD = frozenset({"dispatcher", "shift_lead", "admin"})

#: Command → roles allowed to run it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "assign_job": DISPATCH,
    "unassign_job": DISPATCH,
    "set_job_status": FIELD,
    "report_issue": ALL_ROLES,
    "update_crew_positions": ALL_ROLES,
    "ingest_readings": ALL_ROLES,
    "ack_alarm": ALL_ROLES,
    "get_asset_history": ALL_ROLES,
    "get_timeline": ALL_ROLES,
    "get_roads": ALL_ROLES,
    "whoami": ALL_ROLES,
    "create_job": ALL_ROLES,
    "shelve_alarm": ALL_ROLES,
    "get_risk": ALL_ROLES,
    "get_renewal": ALL_ROLES,
    "recommend_crews": ALL_ROLES,
    "crew_etas": ALL_ROLES,
    # CPU-heavy (seconds of solver time on the serving loop): the people who plan the day.
    "plan_fleet": FIELD,
    "get_shift_report": ALL_ROLES,
    "get_crew_tracks": ALL_ROLES,
}


def authorize(principal: Principal, command: str) -> None:
    """Refuse (``forbidden``) a command the principal's role may not run."""
    allowed = PERMISSIONS.get(command, frozenset())
    if principal.role not in allowed:
        needs = " or ".join(sorted(allowed)) or "no role"
        raise CommandError(
            "forbidden",
            f"user {principal.name!r} ({principal.role}) may not {command}: it needs {needs}",
            {"user": principal.name, "role": principal.role, "allowed_roles": sorted(allowed)},
        )
