"""Alarm and asset intents → bus commands: acknowledge, shelve, create a job, fetch history.

The same ``send_command``/``post`` contract as :mod:`console.dispatch.controller`,
served by :mod:`console.bus_commands` (a reply body, a raised
``CommandFailed``/``BusTimeout``, or a future whose outcome is handed to
``post`` on the GUI thread). Nothing here edits a model:
the effect comes back as a delta, like every other console's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.protocol.client import BusTimeout, CommandFailed
from backend.protocol.limits import MAX_SHELVE_MINUTES
from console.alarms.model import ACKABLE_STATES, SHELVABLE_STATES, AlarmListModel
from console.bus_commands import Post, SendCommand, send_then
from console.dispatch.common import Notifier


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one intent ended: ``ok``, a message for the operator, the error code and details."""

    intent: str  # ack, shelve, create_job, history
    target: int  # alarm id or asset id
    ok: bool
    message: str
    code: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    result: Mapping[str, Any] = field(default_factory=dict)


class CommandRunner:
    """Sends one command and reports its :class:`Outcome` (now, or later through ``post``)."""

    def __init__(self, send_command: SendCommand, post: Post | None = None) -> None:
        self.send_command = send_command
        self.post: Post = post or (lambda fn: fn())
        #: Every finished intent, success or refusal.
        self.outcome: Notifier[Outcome] = Notifier()

    def refuse(self, intent: str, target: int, message: str) -> Outcome:
        """An intent refused before sending (nothing goes out)."""
        out = Outcome(intent, target, False, message, code="refused_locally")
        self.outcome.emit(out)
        return out

    def run(
        self,
        intent: str,
        target: int,
        name: str,
        args: dict[str, Any],
        done: str,
        on_result: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> Outcome | None:
        """Send ``name(args)``; the outcome is returned (synchronous send) or posted (a future)."""

        def finish(reply: Any, error: BaseException | None) -> Outcome:
            if error is None:
                result = dict((reply or {}).get("result") or {})
                out = Outcome(intent, target, True, done, result=result)
                if on_result is not None:
                    on_result(result)
            else:
                out = self._refusal(intent, target, error)
            self.outcome.emit(out)
            return out

        return send_then(self.send_command, self.post, name, args, finish)

    @staticmethod
    def _refusal(intent: str, target: int, error: BaseException) -> Outcome:
        if isinstance(error, BusTimeout):
            return Outcome(
                intent,
                target,
                False,
                "No answer from the backend: nothing changed. Try again.",
                code="timeout",
            )
        assert isinstance(error, CommandFailed)
        message = f"Refused ({error.code}): {error.message}"
        if error.code == "conflict":
            who = error.details.get("changed_by") or "someone else"
            message = f"Refused: it was changed by {who} meanwhile; look again and retry."
        return Outcome(intent, target, False, message, code=error.code, details=dict(error.details))


class AlarmController:
    """Acknowledge and shelve intents on alarms, with the version the operator saw."""

    def __init__(self, runner: CommandRunner, alarms: AlarmListModel) -> None:
        self.runner = runner
        self.alarms = alarms

    def acknowledge(self, alarm_ids: list[int]) -> list[Outcome | None]:
        """Acknowledge each alarm still waiting for it (a group: each member); one command each."""
        outcomes: list[Outcome | None] = []
        for alarm_id in alarm_ids:
            row = self.alarms.find(alarm_id)
            if row is None:
                outcomes.append(
                    self.runner.refuse("ack", alarm_id, f"alarm {alarm_id} is not known")
                )
                continue
            if row.state not in ACKABLE_STATES:
                by = f" by {row.acked_by}" if row.acked_by else ""
                msg = f"Alarm {alarm_id} is already {row.state}{by}"
                outcomes.append(self.runner.refuse("ack", alarm_id, msg))
                continue
            args = {"alarm_id": alarm_id, "version": row.version}
            done = f"Alarm {alarm_id} acknowledged ({row.asset_name or row.group_key})"
            outcomes.append(self.runner.run("ack", alarm_id, "ack_alarm", args, done))
        return outcomes

    def shelve(self, alarm_ids: list[int], minutes: int, reason: str) -> list[Outcome | None]:
        """Shelve each alarm for ``minutes`` with a reason (both required, checked here first)."""
        reason = reason.strip()
        outcomes: list[Outcome | None] = []
        for alarm_id in alarm_ids:
            row = self.alarms.find(alarm_id)
            problem = None
            if row is None:
                problem = f"alarm {alarm_id} is not known"
            elif row.state not in SHELVABLE_STATES:
                problem = f"Alarm {alarm_id} is {row.state}: nothing to shelve"
            elif not 1 <= minutes <= MAX_SHELVE_MINUTES:
                problem = f"A shelve lasts 1 to {MAX_SHELVE_MINUTES} minutes, not {minutes}"
            elif not reason:
                problem = "A shelve needs a reason (the next shift reads it)"
            if problem is not None or row is None:
                outcomes.append(self.runner.refuse("shelve", alarm_id, problem or ""))
                continue
            args = {
                "alarm_id": alarm_id,
                "version": row.version,
                "minutes": int(minutes),
                "reason": reason,
            }
            done = f"Alarm {alarm_id} shelved for {minutes} min"
            outcomes.append(self.runner.run("shelve", alarm_id, "shelve_alarm", args, done))
        return outcomes


def create_job_args(
    asset_id: int,
    title: str,
    priority: int,
    skills: list[str],
    due_at: datetime | None = None,
) -> dict[str, Any]:
    """Checked ``create_job`` arguments (ValueError names the bad field)."""
    title = title.strip()
    if not title:
        raise ValueError("a job needs a title")
    if not 1 <= int(priority) <= 5:
        raise ValueError(f"priority must be 1 (most urgent) to 5, not {priority}")
    clean = [s.strip() for s in skills if s.strip()]
    args: dict[str, Any] = {
        "asset_id": int(asset_id),
        "title": title,
        "priority": int(priority),
        "skills": clean,
    }
    if due_at is not None:
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        args["due_at"] = due_at.astimezone(UTC)  # the bus carries aware datetimes natively
    return args
