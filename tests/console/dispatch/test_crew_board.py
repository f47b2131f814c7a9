"""The crew board model: current job and queue, ETA, position age, ranking and numbers."""

from __future__ import annotations

from datetime import timedelta

from console.dispatch.common import ModelChange
from console.dispatch.crew_board import CrewBoardModel
from tests.console.dispatch.wire import T0, FixedClock, crew, job, topics


def _board(clock: FixedClock) -> CrewBoardModel:
    b = CrewBoardModel(clock=clock)
    b.load(
        topics(
            ("crew", crew(1, name="Alpha", status="on_site")),
            ("crew", crew(2, name="Bravo", skills=("electrical",))),
            ("crew", crew(3, name="Charlie", seen=T0 - timedelta(minutes=10))),
            ("crew", crew(4, name="Delta", status="off_shift")),
            ("job", job(10, status="on_site", crew_id=1, assigned_at=T0)),
            ("job", job(11, status="assigned", crew_id=1, assigned_at=T0 + timedelta(minutes=5))),
            ("job", job(12, status="assigned", crew_id=1, assigned_at=T0 + timedelta(minutes=1))),
            ("job", job(13, status="done", crew_id=1)),
            ("job", job(14, status="new", skills=("pump",))),
        )
    )
    return b


def test_current_job_and_queue_in_assignment_order() -> None:
    b = _board(FixedClock())
    alpha = b.row(1)
    assert alpha.current_job == 10
    assert alpha.queue == (12, 11)  # assigned 08:01 before 08:05; the done job is gone
    assert alpha.workload == 3
    assert b.row(2).current_job is None and b.row(2).queue == ()


def test_board_order_without_a_job_being_placed() -> None:
    b = _board(FixedClock())
    # available first (by name), then on site, then off shift.
    assert [r.name for r in b.rows()] == ["Bravo", "Charlie", "Alpha", "Delta"]
    assert b.number_of(2) == 1 and b.crew_by_number(4) == 4
    assert b.crew_by_number(5) is None and b.crew_by_number(0) is None


def test_a_job_being_placed_ranks_who_can_take_it_first() -> None:
    b = _board(FixedClock())
    b.set_candidate(b_job := job(14, skills=("pump",)))
    assert b.candidate == b_job
    # Alpha (pump, fresh) can; Charlie has pump but is stale; Bravo lacks pump; Delta off.
    assert b.eligible_ids() == [1]
    assert b.visible_ids()[:2] == [1, 3]
    assert b.eligibility(2) is not None and not b.eligibility(2).allowed  # type: ignore[union-attr]
    assert b.crew_by_number(1) == 1
    b.set_etas(14, {3: 120.0, 1: 900.0, 2: float("inf")})
    assert b.eta_s(3) == 120.0 and b.eta_s(2) is None
    b.set_candidate(None)
    assert b.eligibility(1) is None and b.eta_s(1) is None


def test_position_age_and_staleness_move_with_the_clock() -> None:
    clock = FixedClock()
    b = _board(clock)
    assert b.position_age_s(3) == 600 and b.is_stale(3)
    assert b.position_age_s(2) == 0 and not b.is_stale(2)
    clock.advance(121)
    assert b.tick().ids == {1, 2, 4}  # the fresh ones went stale; Charlie already was
    assert b.tick().ids == frozenset()


def test_deltas_move_jobs_between_crews() -> None:
    b = _board(FixedClock())
    changes: list[ModelChange] = []
    b.changed.connect(changes.append)
    b.apply("job/11", job(11, status="assigned", crew_id=2, version=2, assigned_at=T0))
    assert b.row(1).queue == (12,)
    assert b.row(2).queue == (11,)
    assert changes[-1].ids == {1, 2}
    b.apply("job/10", job(10, status="done", crew_id=1, version=5))
    assert b.row(1).current_job is None
    b.apply("crew/2", None)
    assert 2 not in b.visible_ids()


def test_the_placed_job_changing_rejudges_the_board() -> None:
    b = _board(FixedClock())
    b.set_candidate(job(14, skills=("pump",)))
    assert b.eligibility(1).allowed  # type: ignore[union-attr]
    b.apply("job/14", job(14, skills=("pump",), status="assigned", crew_id=1, version=2))
    assert b.eligibility(1).blocking == ("already has this job",)  # type: ignore[union-attr]
