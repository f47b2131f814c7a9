"""The dispatch controller: turns a dispatcher's intents into bus commands.

Intents (drop a job on a crew, unassign, move a job along, undo, the keyboard
path "arm a job, pick a crew by number") become ``assign_job`` /
``unassign_job`` / ``set_job_status`` commands through an injected
``send_command(name, args)``. The controller never edits the models: a
command's effect comes back to every console, this one too, as a delta
(one path for state). It only reports how each intent ended, through
:attr:`DispatchController.outcome`.

``send_command`` contract: return the reply body (``{"result": ..., ...}``)
or raise :class:`backend.protocol.client.CommandFailed` (refusal: ``code``,
``message``, ``details``) or :class:`backend.protocol.client.BusTimeout`.
It may instead return a ``concurrent.futures.Future`` of the reply body or of
the reply :class:`~backend.protocol.envelope.Envelope` (as
``console.live.client.LiveClient.command`` does; an ``error`` envelope counts
as a refusal); then the outcome is handed to ``post``, which must run it on
the GUI thread (``widgets.crew_board.GuiThreadPoster``), and the intent
method returns None. :mod:`console.bus_commands` does the sending.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backend.protocol.client import BusTimeout, CommandFailed
from console.bus_commands import Post, SendCommand, send_then
from console.dispatch.common import Notifier, parse_time
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.job_queue import JobQueueModel
from console.dispatch.undo import AssignmentStep, AssignmentUndoStack

#: Refusals worth retrying (the step stays on the undo stack).
TRANSIENT = frozenset({"unavailable", "timeout"})


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """How one intent ended: ``ok``, a message for the dispatcher, the error code and details."""

    intent: str  # assign, reassign, unassign, status, undo
    job_id: int
    ok: bool
    message: str
    code: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    result: Mapping[str, Any] = field(default_factory=dict)


def _clock_text(value: Any) -> str:
    try:
        when = parse_time(value)
    except (TypeError, ValueError):
        return str(value)
    return "an unknown time" if when is None else when.strftime("%H:%M:%S UTC")


class DispatchController:
    """Dispatch intents → commands, with local checks, conflict messages and an undo stack."""

    def __init__(
        self,
        send_command: SendCommand,
        jobs: JobQueueModel,
        crews: CrewBoardModel,
        post: Post | None = None,
    ) -> None:
        self.send_command = send_command
        self.jobs = jobs
        self.crews = crews
        self.post: Post = post or (lambda fn: fn())
        self.undo_stack = AssignmentUndoStack()
        #: Every finished intent, success or refusal.
        self.outcome: Notifier[CommandOutcome] = Notifier()
        #: The job armed for the keyboard path (None: disarmed).
        self.armed: Notifier[int | None] = Notifier()
        self.armed_job_id: int | None = None
        #: The job being placed (dragged or armed), for the map's eligible-crew marks.
        self.placing: Notifier[int | None] = Notifier()
        self.placing_job_id: int | None = None
        #: Road ETAs (crew id → seconds) for a job entity; set by whoever owns the router.
        self.eta_source: Callable[[Mapping[str, Any]], Mapping[int, float]] | None = None
        self.pending: set[int] = set()

    # -- names for messages ---------------------------------------------------------------

    def crew_name(self, crew_id: int | None) -> str:
        """A crew's name for messages ("no crew" for None)."""
        if crew_id is None:
            return "no crew"
        crew = self.crews.crews.get(crew_id)
        return str(crew.get("name")) if crew and crew.get("name") else f"crew {crew_id}"

    def conflict_message(self, job_id: int, details: Mapping[str, Any]) -> str:
        """Who changed the job first, when, and where it is now."""
        who = details.get("changed_by") or "another dispatcher"
        when = _clock_text(details.get("changed_at"))
        entity = details.get("entity") or {}
        status = entity.get("status")
        where = ""
        if status in ("assigned", "en_route", "on_site"):
            crew = self.crew_name(entity.get("crew_id"))
            where = f"; it is now {status.replace('_', ' ')} with {crew}"
        elif status:
            where = f"; it is now {status}"
        return f"Refused: job {job_id} was changed by {who} at {when}{where}."

    # -- intents --------------------------------------------------------------------------

    def assign(self, job_id: int, version: int, crew_id: int) -> CommandOutcome | None:
        """Give the job to a crew (a reassignment when it already has one)."""
        job = self.jobs.jobs.get(job_id)
        crew = self.crews.crews.get(crew_id)
        if job is None or crew is None:
            what = f"job {job_id}" if job is None else f"crew {crew_id}"
            return self._local("assign", job_id, f"{what} is not known to this console")
        before = None if job.get("crew_id") is None else int(job["crew_id"])
        intent = "assign" if before is None else "reassign"
        verdict = self.crews.rule.check(job, crew, self.crews.clock())
        if not verdict.allowed:
            why = f"{self.crew_name(crew_id)} cannot take job {job_id}: {verdict.explain()}"
            return self._local(intent, job_id, why)
        args = {"job_id": job_id, "crew_id": crew_id, "version": version}
        done = f"Job {job_id} assigned to {self.crew_name(crew_id)}" + (
            f" (was {self.crew_name(before)})" if before is not None else ""
        )

        def succeeded(result: Mapping[str, Any]) -> None:
            self.undo_stack.push(AssignmentStep(job_id, before, crew_id, int(result["version"])))

        return self._send(intent, job_id, "assign_job", args, done, succeeded)

    def unassign(self, job_id: int, version: int) -> CommandOutcome | None:
        """Take the job back from its crew (it returns to the queue as new)."""
        job = self.jobs.jobs.get(job_id)
        if job is None:
            return self._local("unassign", job_id, f"job {job_id} is not known to this console")
        before = None if job.get("crew_id") is None else int(job["crew_id"])
        if before is None:
            return self._local("unassign", job_id, f"job {job_id} has no crew to take it from")

        def succeeded(result: Mapping[str, Any]) -> None:
            self.undo_stack.push(AssignmentStep(job_id, before, None, int(result["version"])))

        done = f"Job {job_id} taken back from {self.crew_name(before)}"
        args = {"job_id": job_id, "version": version}
        return self._send("unassign", job_id, "unassign_job", args, done, succeeded)

    def set_status(self, job_id: int, version: int, status: str) -> CommandOutcome | None:
        """Move a job along: ``en_route``, ``on_site``, ``done`` or ``cancelled``."""
        args = {"job_id": job_id, "status": status, "version": version}
        done = f"Job {job_id} is now {status.replace('_', ' ')}"
        return self._send("status", job_id, "set_job_status", args, done, None)

    def undo(self) -> CommandOutcome | None:
        """Ctrl+Z: put back the last assignment change made from this console."""
        step = self.undo_stack.pop()
        if step is None:
            return self._local("undo", 0, "Nothing to undo")
        name, args = step.inverse()
        back = self.crew_name(step.before_crew_id)
        done = f"Undone: job {step.job_id} " + (
            "back in the queue" if step.before_crew_id is None else f"back with {back}"
        )

        def failed(code: str) -> None:
            if code in TRANSIENT:
                self.undo_stack.push(step)  # nothing happened; Ctrl+Z may try again

        return self._send("undo", step.job_id, name, args, done, None, failed)

    # -- placing a job: drag or keyboard -----------------------------------------------------

    def _place(self, job_id: int | None) -> None:
        job = None if job_id is None else self.jobs.jobs.get(job_id)
        self.placing_job_id = None if job is None else job_id
        self.crews.set_candidate(job)
        if job is not None and self.eta_source is not None:
            self.crews.set_etas(int(job["id"]), self.eta_source(job))
        self.placing.emit(self.placing_job_id)

    def begin_drag(self, job_id: int) -> None:
        """A job is being dragged: the board and the map mark the crews that can take it."""
        self._place(job_id)

    def end_drag(self) -> None:
        """The drag ended (dropped or not): back to the armed job, if any."""
        self._place(self.armed_job_id)

    def arm(self, job_id: int) -> None:
        """Key A: the job waits for a crew number; the board ranks who can take it."""
        if job_id not in self.jobs.jobs:
            return
        self.armed_job_id = job_id
        self._place(job_id)
        self.armed.emit(job_id)

    def disarm(self) -> None:
        """Esc (or a pick): stop waiting for a crew number."""
        if self.armed_job_id is None:
            return
        self.armed_job_id = None
        self._place(None)
        self.armed.emit(None)

    def pick(self, number: int) -> CommandOutcome | None:
        """Keys 1–9 after A: assign the armed job to the crew with that number on the board."""
        job_id = self.armed_job_id
        if job_id is None:
            return None
        crew_id = self.crews.crew_by_number(number)
        job = self.jobs.jobs.get(job_id)
        if crew_id is None or job is None:
            return self._local("assign", job_id, f"No crew number {number} on the board")
        version = int(job.get("version") or 1)
        self.disarm()
        return self.assign(job_id, version, crew_id)

    # -- plumbing ---------------------------------------------------------------------------

    def _local(self, intent: str, job_id: int, message: str) -> CommandOutcome:
        outcome = CommandOutcome(intent, job_id, False, message, code="refused_locally")
        self.outcome.emit(outcome)
        return outcome

    def _send(
        self,
        intent: str,
        job_id: int,
        name: str,
        args: dict[str, Any],
        done: str,
        succeeded: Callable[[Mapping[str, Any]], None] | None,
        failed: Callable[[str], None] | None = None,
    ) -> CommandOutcome | None:
        def finish(reply: Any, error: BaseException | None) -> CommandOutcome:
            self.pending.discard(job_id)
            if error is None:
                result = dict((reply or {}).get("result") or {})
                if succeeded is not None:
                    succeeded(result)
                outcome = CommandOutcome(intent, job_id, True, done, result=result)
            else:
                outcome = self._refusal(intent, job_id, error)
                if failed is not None and outcome.code is not None:
                    failed(outcome.code)
            self.outcome.emit(outcome)
            return outcome

        self.pending.add(job_id)
        return send_then(self.send_command, self.post, name, args, finish)

    def _refusal(self, intent: str, job_id: int, error: BaseException) -> CommandOutcome:
        if isinstance(error, BusTimeout):
            return CommandOutcome(
                intent,
                job_id,
                False,
                f"No answer from the backend: job {job_id} was not changed. Try again.",
                code="timeout",
            )
        assert isinstance(error, CommandFailed)
        message = error.message
        if error.code == "conflict":
            message = self.conflict_message(job_id, error.details)
        elif error.code != "refused_locally":
            message = f"Refused ({error.code}): {error.message}"
        return CommandOutcome(
            intent, job_id, False, message, code=error.code, details=dict(error.details)
        )
