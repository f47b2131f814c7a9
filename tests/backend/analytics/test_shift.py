"""The shift report's arithmetic on a hand-written shift (no database)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.analytics.shift import (
    CrewRecord,
    JobEvent,
    JobRecord,
    duration_text,
    job_story,
    late_reasons,
    on_shift_during,
    percentile,
    shift_report,
)
from tests.backend.analytics import shift_history as h


def report() -> dict:
    return shift_report(
        h.SINCE, h.UNTIL, h.job_records(), h.alarm_records(), h.issue_records(), h.crew_records()
    )


def check_report(r: dict) -> None:
    """The answers the shift in :mod:`shift_history` must give (shared with the database tests)."""
    jobs = r["jobs"]
    assert (jobs["opened"], jobs["assigned"], jobs["completed"]) == (7, 3, 4)
    assert (jobs["cancelled"], jobs["still_open"], jobs["late_count"]) == (1, 3, 4)
    late = {j["job_id"]: j for j in jobs["late"]}
    assert [j["job_id"] for j in jobs["late"]] == [4, 3, 2, 1]
    assert [j["minutes_late"] for j in jobs["late"]] == [300, 240, 45, 30]
    assert late[4]["state"] == late[3]["state"] == "open past due"
    assert late[1]["state"] == late[2]["state"] == "done late"

    one = late[1]
    assert one["phases"] == {"new": 30, "assigned": 10, "en_route": 20, "on_site": 90}
    assert [x["code"] for x in one["reasons"]] == ["on_site", "waited_for_assignment", "travel"]
    travel = one["reasons"][2]
    assert (travel["minutes"], travel["before_setting_out"], travel["driving"]) == (30, 10, 20)
    assert one["why"] == (
        "on site 1 h 30 min; waited 30 min for a crew; "
        "travel 30 min (assigned → en route 10 min, en route → on site 20 min)"
    )

    two = late[2]
    assert (two["assignments"], two["reassignments"], two["taken_back"]) == (3, 2, 1)
    assert two["phases"] == {"new": 40, "assigned": 25, "en_route": 10, "on_site": 30}
    assert two["crew_id"] == 3
    assert [x["code"] for x in two["reasons"]][:2] == ["reassigned", "taken_back"]
    assert two["why"].startswith("reassigned 2 times; taken back from its crew 1 time; waited 40")

    assert late[3]["reasons"][0]["code"] == "no_skilled_crew"
    assert (
        "electrical" in late[3]["why"] and "still waiting for a crew (7 h 00 min)" in late[3]["why"]
    )
    assert late[4]["reasons"][0]["code"] == "no_skilled_crew_on_shift"
    assert late[4]["allowed_minutes"] == 60

    alarms = r["alarms"]
    assert (alarms["raised"], alarms["acknowledged"], alarms["cleared"]) == (6, 4, 2)
    assert alarms["unacknowledged_at_end"] == 2
    assert alarms["raised_by_severity"] == {"critical": 1, "major": 3, "minor": 2}
    assert alarms["time_to_ack_min"] == {"count": 3, "p50": 10, "p90": 30}

    assert r["issues"] == {"reported": 2, "closed": 2, "open_at_end": 1}
    assert r["crews"] == [
        {"crew_id": 1, "name": "Crew 1", "jobs_done": 2, "on_site_min": 105},
        {"crew_id": 2, "name": "Crew 2", "jobs_done": 1, "on_site_min": 30},
        {"crew_id": 3, "name": "Crew 3", "jobs_done": 1, "on_site_min": 30},
    ]


def test_the_hand_written_shift_gives_its_known_report() -> None:
    check_report(report())


def test_consecutive_windows_add_up() -> None:
    mid = h.SINCE + timedelta(hours=3)
    args = (h.job_records(), h.alarm_records(), h.issue_records(), h.crew_records())
    a, b, whole = (
        shift_report(h.SINCE, mid, *args),
        shift_report(mid, h.UNTIL, *args),
        shift_report(h.SINCE, h.UNTIL, *args),
    )
    for key in ("opened", "completed", "cancelled"):
        assert a["jobs"][key] + b["jobs"][key] == whole["jobs"][key]
    for key in ("raised", "acknowledged", "cleared"):
        assert a["alarms"][key] + b["alarms"][key] == whole["alarms"][key]
    on_site = {c["crew_id"]: c["on_site_min"] for c in whole["crews"]}
    for cid, minutes in on_site.items():
        parts = [c["on_site_min"] for r in (a, b) for c in r["crews"] if c["crew_id"] == cid]
        assert sum(parts) == pytest.approx(minutes)


def test_a_story_stops_at_the_window_end() -> None:
    job = next(j for j in h.job_records() if j.id == 1)
    story = job_story(job, h.at("09:30"))
    assert story.status == "on_site" and story.closed_at is None
    assert story.phase_minutes["on_site"] == 30
    early = report_at(h.at("09:30"))
    assert 1 not in {j["job_id"] for j in early["jobs"]["late"]}  # not due until 10:00


def report_at(until):  # type: ignore[no-untyped-def]
    return shift_report(
        h.SINCE, until, h.job_records(), h.alarm_records(), h.issue_records(), h.crew_records()
    )


def test_same_crew_again_without_taking_back_is_not_a_reassignment() -> None:
    t = h.at("08:00")
    job = JobRecord(
        1,
        "x",
        t,
        t + timedelta(hours=1),
        events=(
            JobEvent(t + timedelta(minutes=5), "job.assigned", "assigned", 1),
            JobEvent(t + timedelta(minutes=6), "job.assigned", "assigned", 1),
            JobEvent(t + timedelta(minutes=7), "job.assigned", "assigned", 2),
        ),
    )
    story = job_story(job, h.UNTIL)
    assert (story.assignments, story.reassignments, story.taken_back) == (3, 1, 0)


def test_overnight_shifts_wrap_midnight() -> None:
    night = CrewRecord(1, "Night", frozenset(), "22:00", "06:00", h.HELSINKI)
    # 22:00-06:00 Helsinki = 20:00-04:00 UTC
    assert on_shift_during(night, h.at("03:00"), h.at("03:30"))
    assert not on_shift_during(night, h.at("04:00"), h.at("19:59"))
    assert on_shift_during(night, h.at("19:00"), h.at("20:01"))
    always = CrewRecord(2, "Always", frozenset(), "00:00", "00:00", h.HELSINKI)
    assert on_shift_during(always, h.at("12:00"), h.at("12:01"))


def test_durations_read_as_minutes_hours_days() -> None:
    assert [duration_text(m) for m in (0.2, 42, 60, 185, 1440, 17_000)] == [
        "0 min",
        "42 min",
        "1 h 00 min",
        "3 h 05 min",
        "1 d 0 h",
        "11 d 19 h",
    ]


def test_phases_under_half_a_minute_are_not_reasons() -> None:
    t = h.at("08:00")
    quick = JobRecord(
        1,
        "x",
        t,
        t + timedelta(minutes=1),
        events=(
            JobEvent(t + timedelta(seconds=10), "job.assigned", "assigned", 1),
            JobEvent(t + timedelta(seconds=20), "job.on_site", "on_site", 1),
            JobEvent(t + timedelta(minutes=5), "job.done", "done", 1),
        ),
    )
    reasons = late_reasons(job_story(quick, h.UNTIL), [])
    assert [r["code"] for r in reasons] == ["on_site"]


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 91)) == (5, 9, 10)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="after its start"):
        shift_report(h.SINCE, h.SINCE, [], [], [], [])
