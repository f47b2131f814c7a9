"""The dispatch controller with a recording send_command: commands, refusals, undo, keys."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from backend.protocol.client import BusTimeout, CommandFailed
from console.dispatch.controller import CommandOutcome, DispatchController
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.job_queue import JobQueueModel
from tests.console.dispatch.recorder import RecordingSend
from tests.console.dispatch.wire import FixedClock, crew, job, topics


def make(send: Any) -> tuple[DispatchController, list[CommandOutcome]]:
    clock = FixedClock()
    city = topics(
        ("crew", crew(1, name="Alpha")),
        ("crew", crew(2, name="Bravo")),
        ("crew", crew(3, name="Charlie", skills=("electrical",))),
        ("job", job(10, skills=("pump",), version=4)),
        ("job", job(11, skills=("pump",), status="assigned", crew_id=1, version=2)),
    )
    jobs, crews = JobQueueModel(clock), CrewBoardModel(clock)
    jobs.load(city)
    crews.load(city)
    controller = DispatchController(send, jobs, crews)
    outcomes: list[CommandOutcome] = []
    controller.outcome.connect(outcomes.append)
    return controller, outcomes


def echo(c: DispatchController, entity: dict[str, Any]) -> None:
    """What the bus would bring back: the job's new state, into both models."""
    for model in (c.jobs, c.crews):
        model.apply(f"job/{entity['id']}", entity)


def test_assign_sends_the_job_id_crew_and_seen_version() -> None:
    send = RecordingSend()
    c, outcomes = make(send)
    out = c.assign(10, 4, 2)
    assert send.calls == [("assign_job", {"job_id": 10, "crew_id": 2, "version": 4})]
    assert out is not None and out.ok and out.intent == "assign"
    assert out.message == "Job 10 assigned to Bravo"
    assert outcomes == [out]
    # The controller never edits the models: the delta does that.
    assert c.jobs.jobs[10]["crew_id"] is None


def test_reassign_and_unassign() -> None:
    send = RecordingSend()
    c, _ = make(send)
    out = c.assign(11, 2, 2)
    assert out is not None and out.intent == "reassign"
    assert out.message == "Job 11 assigned to Bravo (was Alpha)"
    out = c.unassign(11, 2)
    assert send.calls[-1] == ("unassign_job", {"job_id": 11, "version": 2})
    assert out is not None and out.message == "Job 11 taken back from Alpha"


def test_local_refusals_send_nothing() -> None:
    send = RecordingSend()
    c, outcomes = make(send)
    assert c.assign(10, 4, 3).message == "Charlie cannot take job 10: lacks pump"  # type: ignore[union-attr]
    assert c.assign(11, 2, 1).message.endswith("already has this job")  # type: ignore[union-attr]
    assert c.unassign(10, 4).message == "job 10 has no crew to take it from"  # type: ignore[union-attr]
    assert c.assign(99, 1, 1).message == "job 99 is not known to this console"  # type: ignore[union-attr]
    assert send.calls == []
    assert all(o.code == "refused_locally" for o in outcomes)


def test_a_conflict_names_who_and_when_and_where_the_job_is() -> None:
    details = {
        "topic": "job/10",
        "seen_version": 4,
        "current_version": 5,
        "changed_by": "dave",
        "changed_at": datetime(2026, 3, 1, 8, 3, 11, tzinfo=UTC),
        "change": "job.assigned",
        "entity": job(10, status="assigned", crew_id=1, version=5),
    }
    send = RecordingSend(errors=[CommandFailed("conflict", "job 10 was changed", details)])
    c, _ = make(send)
    out = c.assign(10, 4, 2)
    assert out is not None and not out.ok and out.code == "conflict"
    assert out.message == (
        "Refused: job 10 was changed by dave at 08:03:11 UTC; it is now assigned with Alpha."
    )
    assert len(c.undo_stack) == 0


def test_other_refusals_and_timeouts() -> None:
    send = RecordingSend(
        errors=[
            CommandFailed("forbidden", "user 'olga' (operator) may not assign_job"),
            BusTimeout("no reply"),
        ]
    )
    c, _ = make(send)
    assert c.assign(10, 4, 2).message == (  # type: ignore[union-attr]
        "Refused (forbidden): user 'olga' (operator) may not assign_job"
    )
    out = c.assign(10, 4, 2)
    assert out is not None and out.code == "timeout" and "was not changed" in out.message


def test_undo_puts_back_each_change_with_the_version_it_produced() -> None:
    send = RecordingSend()
    c, _ = make(send)
    c.assign(10, 4, 2)  # → version 5
    c.assign(11, 2, 2)  # Alpha → Bravo, version 3
    echo(c, job(11, skills=("pump",), status="assigned", crew_id=2, version=3))
    c.unassign(11, 3)  # Bravo → none, version 4
    assert len(c.undo_stack) == 3
    c.undo()
    assert send.calls[-1] == ("assign_job", {"job_id": 11, "crew_id": 2, "version": 4})
    c.undo()
    assert send.calls[-1] == ("assign_job", {"job_id": 11, "crew_id": 1, "version": 3})
    out = c.undo()
    assert send.calls[-1] == ("unassign_job", {"job_id": 10, "version": 5})
    assert out is not None and out.message == "Undone: job 10 back in the queue"
    assert len(c.undo_stack) == 0  # an undo is not itself undoable
    assert c.undo().message == "Nothing to undo"  # type: ignore[union-attr]


def test_undo_after_someone_else_moved_the_job_is_dropped_but_a_timeout_keeps_it() -> None:
    send = RecordingSend()
    c, _ = make(send)
    c.assign(10, 4, 2)
    send.errors.append(BusTimeout("no reply"))
    assert c.undo().code == "timeout"  # type: ignore[union-attr]
    assert len(c.undo_stack) == 1
    send.errors.append(CommandFailed("conflict", "moved on", {"changed_by": "dave"}))
    assert c.undo().code == "conflict"  # type: ignore[union-attr]
    assert len(c.undo_stack) == 0


def test_keyboard_path_arm_then_pick_by_number() -> None:
    send = RecordingSend()
    c, _ = make(send)
    armed: list[int | None] = []
    placing: list[int | None] = []
    c.armed.connect(armed.append)
    c.placing.connect(placing.append)
    c.eta_source = lambda j: {2: 300.0, 1: 60.0}
    c.arm(10)
    assert armed == [10] and placing == [10]
    # Eligible, fresh crews first, nearest first: Alpha (60 s) is 1, Bravo 2.
    assert c.crews.crew_by_number(1) == 1 and c.crews.crew_by_number(2) == 2
    out = c.pick(2)
    assert send.calls == [("assign_job", {"job_id": 10, "crew_id": 2, "version": 4})]
    assert out is not None and out.ok
    assert c.armed_job_id is None and armed[-1] is None and placing[-1] is None
    assert c.pick(1) is None  # nothing armed: digits do nothing


def test_drag_marks_candidates_and_returns_to_the_armed_job() -> None:
    c, _ = make(RecordingSend())
    c.arm(11)
    c.begin_drag(10)
    assert c.placing_job_id == 10 and c.crews.candidate is not None
    assert c.crews.candidate["id"] == 10
    c.end_drag()
    assert c.placing_job_id == 11
    c.disarm()
    c.end_drag()
    assert c.placing_job_id is None and c.crews.candidate is None


def test_async_send_posts_the_outcome_and_records_undo() -> None:
    pool = ThreadPoolExecutor(max_workers=1)
    send = RecordingSend()
    posted: list[Any] = []

    def submit(name: str, args: dict[str, Any]) -> Future[Any]:
        return pool.submit(send, name, args)

    c, outcomes = make(submit)
    c.post = posted.append  # the GUI thread would run these; the test does
    assert c.assign(10, 4, 2) is None
    assert 10 in c.pending
    pool.shutdown(wait=True)
    assert len(posted) == 1 and outcomes == []
    posted[0]()
    assert outcomes[-1].ok and len(c.undo_stack) == 1 and 10 not in c.pending
