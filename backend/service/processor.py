"""Run one command: authenticate, authorize, apply once (idempotency), write rows + events together.

Each command is one transaction: its domain rows, its ``events`` rows
(:func:`backend.db.outbox.append_events`, gap-free seq) and its
``command_log`` row (idempotency key → reply) commit together or not at all.
A retry with the same key is answered from ``command_log`` and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from backend.db.engine import make_sessionmaker
from backend.db.models import CommandLog
from backend.db.outbox import NewEvent, append_events
from backend.protocol.envelope import event_map
from backend.service import (
    handlers_assets,
    handlers_city,
    handlers_dispatch,
    handlers_feed,
    handlers_fleet,
    handlers_jobs,
    handlers_query,
    handlers_report,
    handlers_risk,
)
from backend.service.alarms import MONITOR_KEY, TelemetryMonitor
from backend.service.auth import (
    Authenticator,
    CommandError,
    Principal,
    TrustNameAuthenticator,
    authorize,
)
from backend.service.context import CommandContext

log = logging.getLogger(__name__)

Handler = Callable[[CommandContext, dict[str, Any]], dict[str, Any]]
MAX_KEY = 120


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command's handler and whether it changes state (then it needs an idempotency key)."""

    handler: Handler
    mutating: bool


COMMANDS: dict[str, CommandSpec] = {
    "assign_job": CommandSpec(handlers_jobs.assign_job, True),
    "unassign_job": CommandSpec(handlers_jobs.unassign_job, True),
    "set_job_status": CommandSpec(handlers_jobs.set_job_status, True),
    "report_issue": CommandSpec(handlers_jobs.report_issue, True),
    "ack_alarm": CommandSpec(handlers_jobs.ack_alarm, True),
    "update_crew_positions": CommandSpec(handlers_feed.update_crew_positions, True),
    "ingest_readings": CommandSpec(handlers_feed.ingest_readings, True),
    "get_asset_history": CommandSpec(handlers_query.get_asset_history, False),
    "get_timeline": CommandSpec(handlers_query.get_timeline, False),
    "get_roads": CommandSpec(handlers_city.get_roads, False),
    "whoami": CommandSpec(handlers_city.whoami, False),
    "create_job": CommandSpec(handlers_assets.create_job, True),
    "shelve_alarm": CommandSpec(handlers_assets.shelve_alarm, True),
    "get_risk": CommandSpec(handlers_risk.get_risk, False),
    "get_renewal": CommandSpec(handlers_risk.get_renewal, False),
    "recommend_crews": CommandSpec(handlers_dispatch.recommend_crews, False),
    "crew_etas": CommandSpec(handlers_dispatch.crew_etas_command, False),
    "plan_fleet": CommandSpec(handlers_fleet.plan_fleet_command, False),
    "get_shift_report": CommandSpec(handlers_report.get_shift_report, False),
    "get_crew_tracks": CommandSpec(handlers_report.get_crew_tracks, False),
}


@dataclass(slots=True)
class Outcome:
    """A command's answer: ``ok`` with a reply body, or an error code/message/details."""

    ok: bool
    body: dict[str, Any]
    last_seq: int | None = None  # the newest event seq it wrote (None: wrote nothing)
    #: The committed events as the publisher sends them (seq order), so it need not read them back.
    events: list[dict[str, Any]] | None = None

    @property
    def code(self) -> str | None:
        """The error code, or None for success."""
        return None if self.ok else str(self.body.get("code"))


def error(code: str, message: str, details: dict[str, Any] | None = None) -> Outcome:
    """An error outcome."""
    return Outcome(False, {"code": code, "message": message, "details": details or {}})


def committed(events: list[NewEvent], seqs: list[int]) -> list[dict[str, Any]]:
    """Committed events in the form the publisher sends (``event_map``)."""
    return [
        event_map(
            seq, e.type, e.topic, e.ts or datetime.now(UTC), e.body, e.actor, e.msg_id, e.parent_id
        )
        for seq, e in zip(seqs, events, strict=True)
    ]


_COMMAND_LOG = cast(Table, CommandLog.__table__)


def _logged_command(session: Session, key: str) -> Any:
    """The logged command for an idempotency key (``command``, ``actor``, ``reply``) or None.

    Core on the session's connection: every mutating command asks.
    """
    c = _COMMAND_LOG.c
    return (
        session.connection()
        .execute(select(c.command, c.actor, c.reply).where(c.key == key))
        .one_or_none()
    )


class CommandProcessor:
    """Executes commands against the database; knows nothing about sockets."""

    def __init__(
        self,
        engine: Engine,
        authenticator: Authenticator | None = None,
        monitor: TelemetryMonitor | None = None,
    ) -> None:
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self.authenticator = authenticator or TrustNameAuthenticator()
        #: The one telemetry detector; handlers reach it through ``Session.info``.
        self.monitor = monitor or TelemetryMonitor()
        self.sessions.configure(info={MONITOR_KEY: self.monitor})

    def execute(self, body: dict[str, Any], msg_id: str) -> Outcome:
        """Run the command described by a ``command`` envelope's body.

        Body: ``name``, ``user``, ``key`` (idempotency key; required for commands
        that change state), ``args`` (a map), optional ``credentials``.
        """
        name, user, key, args = (
            body.get("name"),
            body.get("user"),
            body.get("key"),
            body.get("args", {}),
        )
        if not isinstance(name, str) or name not in COMMANDS:
            return error(
                "unknown_command", f"unknown command {name!r}", {"known": sorted(COMMANDS)}
            )
        if not isinstance(user, str) or not user:
            return error("bad_args", "the acting 'user' (a name) is required")
        if not isinstance(args, dict):
            return error("bad_args", "'args' must be a map")
        spec = COMMANDS[name]
        if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_KEY):
            return error("bad_args", f"'key' must be a string of 1..{MAX_KEY} characters")
        if spec.mutating and key is None:
            return error("bad_args", f"{name} changes state and needs an idempotency 'key'")
        credentials = body.get("credentials")
        try:
            return self._run(name, spec, user, key, args, msg_id, credentials)
        except IntegrityError as exc:
            if key is not None:
                # Another writer committed the same key first: answer with its reply.
                replay = self._replay(name, user, key)
                if replay is not None:
                    return replay
            return error("integrity", f"the change breaks a database rule: {exc.orig}")
        except (OperationalError, DBAPIError) as exc:
            log.warning("database unavailable running %s: %s", name, exc)
            return error(
                "unavailable",
                f"the database is unavailable, {name} was not applied; retry with the same key",
                {"reason": str(getattr(exc, "orig", exc)).strip()[:300]},
            )

    def warm_up(self) -> None:
        """Load the telemetry monitor now (every asset, active alarms), not in the first batch.

        A failure (the database not up yet) is only logged: the first batch loads it then.
        """
        try:
            with self.sessions() as session:
                self.monitor.ensure_loaded(session)
        except (OperationalError, DBAPIError) as exc:
            log.warning("telemetry monitor not loaded at start: %s", exc)

    def prune_command_log(self, keep: timedelta) -> int:
        """Forget idempotency keys older than ``keep`` (a retry must come within it)."""
        cutoff = datetime.now(UTC) - keep
        with self.sessions.begin() as s:
            result = s.execute(delete(CommandLog).where(CommandLog.created_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    def run_internal(
        self,
        name: str,
        handler: Handler,
        args: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Outcome:
        """Run a service-initiated handler (timers) in one transaction as the ``system`` actor.

        The same path as a command (rows and events commit together) minus
        authentication and idempotency keys: nobody sent it and nobody retries it.
        ``now`` is the handler's clock (tests step it; the server leaves it None).
        """
        now = now or datetime.now(UTC)
        try:
            with self.sessions() as session, session.begin():
                ctx = CommandContext(session, Principal("system", "admin"), f"internal-{name}", now)
                result = handler(ctx, args or {})
                seqs = append_events(session, ctx.events)
        except CommandError as exc:
            return error(exc.code, exc.message, exc.details)
        except (OperationalError, DBAPIError) as exc:
            log.warning("database unavailable running %s: %s", name, exc)
            return error("unavailable", f"the database is unavailable, {name} was not applied")
        last = seqs[-1] if seqs else None
        return Outcome(True, {"result": result, "seq": last}, last, committed(ctx.events, seqs))

    def _replay(self, name: str, user: str, key: str) -> Outcome | None:
        with self.sessions() as s:
            logged = _logged_command(s, key)
            if logged is None:
                return None
            return self._logged(logged, name, user)

    @staticmethod
    def _logged(logged: Any, name: str, user: str) -> Outcome:
        if logged.command != name or logged.actor != user:
            return error(
                "key_reused",
                f"idempotency key was already used by {logged.actor} for {logged.command}",
                {"command": logged.command, "actor": logged.actor},
            )
        return Outcome(True, {**logged.reply, "replayed": True})

    def _run(
        self,
        name: str,
        spec: CommandSpec,
        user: str,
        key: str | None,
        args: dict[str, Any],
        msg_id: str,
        credentials: Any,
    ) -> Outcome:
        now = datetime.now(UTC)
        with self.sessions() as session:
            try:
                with session.begin():
                    principal = self.authenticator.authenticate(
                        session, user, credentials if isinstance(credentials, dict) else None
                    )
                    authorize(principal, name)
                    if key is not None:
                        logged = _logged_command(session, key)
                        if logged is not None:
                            return self._logged(logged, name, user)
                    ctx = CommandContext(session, principal, msg_id, now)
                    result = spec.handler(ctx, args)
                    seqs = append_events(session, ctx.events)
                    reply: dict[str, Any] = {
                        "result": result,
                        "seq": seqs[-1] if seqs else None,
                        "replayed": False,
                    }
                    if key is not None and spec.mutating:
                        session.connection().execute(
                            insert(_COMMAND_LOG).values(
                                key=key, command=name, actor=user, reply=reply, created_at=now
                            )
                        )
            except CommandError as exc:
                return error(exc.code, exc.message, exc.details)
        return Outcome(True, reply, seqs[-1] if seqs else None, committed(ctx.events, seqs))
