"""The job queue model: join with issues, sort, filter, search, SLA countdown, new-job flash."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.dispatch.common import ModelChange, format_duration
from console.dispatch.job_queue import JobQueueModel, SlaPolicy
from tests.console.dispatch.wire import T0, FixedClock, issue, job, topics

H = timedelta(hours=1)


def _queue(clock: FixedClock) -> JobQueueModel:
    q = JobQueueModel(clock=clock, sla=SlaPolicy(amber_before_s=1800, amber_share=0.25))
    q.load(
        topics(
            ("issue", issue(1, "Pothole", "12 Main St", "deep hole by the school")),
            ("issue", issue(2, "Streetlight out", "3 Elm Rd")),
            ("issue", issue(3, "Water leak", "99 Harbour Way")),
            ("job", job(10, priority=3, issue_id=1, skills=("asphalt",), due=T0 + 8 * H)),
            ("job", job(11, priority=1, issue_id=2, skills=("electrical",), due=T0 + 2 * H)),
            ("job", job(12, priority=3, issue_id=3, skills=("pump",), created=T0 - H)),
            ("job", job(13, priority=2, status="done", issue_id=3)),
        )
    )
    return q


def test_rows_join_issue_category_and_address() -> None:
    q = _queue(FixedClock())
    r = q.row(10)
    assert (r.category, r.address, r.skills) == ("Pothole", "12 Main St", ("asphalt",))
    # A later issue change reaches its jobs.
    changes: list[ModelChange] = []
    q.changed.connect(changes.append)
    q.apply("issue/1", issue(1, "Pothole", "14 Main St"))
    assert q.row(10).address == "14 Main St"
    assert changes[-1].ids == {10}


def test_default_sort_is_priority_then_due_and_done_jobs_are_hidden() -> None:
    q = _queue(FixedClock())
    # P1 first; among P3, the one with a due time before the one without.
    assert q.visible_ids() == [11, 10, 12]
    q.set_status_filter("all")
    assert q.visible_ids() == [11, 13, 10, 12]


@pytest.mark.parametrize(
    ("key", "descending", "expected"),
    [
        ("due", False, [11, 10, 12]),
        ("age", False, [12, 11, 10]),  # oldest first, then priority
        ("address", False, [10, 11, 12]),  # "12 Main" < "3 Elm" < "99 Harbour" (as text)
        ("category", True, [12, 11, 10]),
        ("priority", True, [12, 10, 11]),
    ],
)
def test_sort_columns(key: str, descending: bool, expected: list[int]) -> None:
    q = _queue(FixedClock())
    q.set_sort(key, descending)
    assert q.visible_ids() == expected


def test_unknown_sort_or_filter_is_refused() -> None:
    q = _queue(FixedClock())
    with pytest.raises(ValueError, match="unknown sort column"):
        q.set_sort("colour")
    with pytest.raises(ValueError, match="unknown status filter"):
        q.set_status_filter("urgent")


def test_filters_and_text_search() -> None:
    q = _queue(FixedClock())
    q.set_max_priority(2)
    assert q.visible_ids() == [11]
    q.set_max_priority(5)
    q.set_search("main")
    assert q.visible_ids() == [10]
    q.set_search("SCHOOL hole")  # description words, any case, all must match
    assert q.visible_ids() == [10]
    q.set_search("pump harbour")
    assert q.visible_ids() == [12]
    q.set_search("#11")
    assert q.visible_ids() == [11]
    q.set_search("nothing like this")
    assert q.visible_ids() == []
    q.apply("job/10", job(10, status="assigned", crew_id=1, issue_id=1, version=2))
    q.set_search("")
    q.set_status_filter("unassigned")
    assert q.visible_ids() == [11, 12]


def test_sla_countdown_turns_amber_then_red_with_a_fixed_clock() -> None:
    clock = FixedClock()
    q = _queue(clock)
    # Job 11: created T0, due T0+2h; amber within max(30 min, 25% of 2 h = 30 min).
    assert q.countdown_s(11) == 7200
    assert q.sla_state(11) == "ok"
    clock.advance(89 * 60)
    assert q.sla_state(11) == "ok"
    clock.advance(60)
    assert q.sla_state(11) == "amber"
    assert q.countdown_s(11) == 1800
    clock.advance(1800)
    assert q.sla_state(11) == "red"
    clock.advance(300)
    assert q.countdown_s(11) == -300
    # Job 10: 8 h window, so amber in the last 2 h (the share beats 30 min).
    clock.now = T0 + 6 * H - timedelta(seconds=1)
    assert q.sla_state(10) == "ok"
    clock.advance(1)
    assert q.sla_state(10) == "amber"
    # No due time, or a closed job: no countdown colour.
    assert q.sla_state(12) == "none"
    assert q.sla_state(13) == "none"


def test_tick_announces_only_jobs_whose_colour_changed() -> None:
    clock = FixedClock()
    q = _queue(clock)
    assert q.tick().ids == frozenset()
    clock.now = T0 + timedelta(minutes=90)
    assert q.tick().ids == {11}
    assert q.tick().ids == frozenset()
    clock.now = T0 + 6 * H
    assert q.tick().ids == {10, 11}  # 10 turns amber, 11 red


def test_new_jobs_flash_briefly_but_snapshot_jobs_do_not() -> None:
    clock = FixedClock()
    q = _queue(clock)
    assert q.flashing_ids() == set()
    changes: list[ModelChange] = []
    q.changed.connect(changes.append)
    q.apply("job/20", job(20, priority=1, due=T0 + H))
    assert changes[-1].structure and changes[-1].ids == {20}
    assert q.is_flashing(20)
    q.apply("job/20", job(20, priority=1, due=T0 + H, version=2))  # an update is not "new"
    clock.advance(q.flash_s - 0.1)
    assert q.is_flashing(20)
    clock.advance(0.2)
    assert not q.is_flashing(20)
    assert 20 in q.tick().ids
    assert q.flashing_ids() == set()


def test_deleted_jobs_leave_and_other_topics_are_ignored() -> None:
    q = _queue(FixedClock())
    changes: list[ModelChange] = []
    q.changed.connect(changes.append)
    q.apply_many([("crew/1", {"id": 1}), ("asset/4", {"id": 4}), ("bogus", {})])
    assert changes == []
    q.apply("job/10", None)
    assert 10 not in q.visible_ids()
    assert changes[-1] == ModelChange(frozenset({10}), structure=True)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (5, 59, 61, 3599, 3600 + 300, 90000, -125)] == [
        "5s",
        "59s",
        "1m",
        "59m",
        "1h 05m",
        "1d 1h",
        "-2m",
    ]
