"""The incident timeline model: events described, filtered, paged, and pointed at the map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.timeline.model import MAX_PAGES, TimelineModel, describe, map_target, request_args

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def ev(seq: int, type_: str, topic: str, entity: dict[str, Any] | None = None, **kw: Any) -> dict:
    return {
        "seq": seq,
        "ts": T0 + timedelta(minutes=seq),
        "type": type_,
        "topic": topic,
        "actor": kw.get("actor", "dana"),
        "body": {"entity": entity or {}},
    }


EVENTS = [
    ev(1, "issue.reported", "issue/7", {"id": 7, "category": "Pothole"}),
    ev(2, "job.created", "job/3", {"id": 3, "title": "Fill pothole", "issue_id": 7}),
    ev(3, "job.assigned", "job/3", {"id": 3, "title": "Fill pothole", "issue_id": 7, "crew_id": 2}),
    ev(4, "crew.status", "crew/2", {"id": 2, "name": "Bravo", "status": "en_route"}),
    ev(
        5,
        "alarm.raised",
        "alarm/9",
        {"id": 9, "asset_id": 40, "severity": "critical", "message": "pressure low"},
    ),
    ev(6, "job.created", "job/4", {"id": 4, "title": "Inspect", "asset_id": 41}),
    ev(7, "job.created", "job/5", {"id": 5, "title": "Somewhere"}),
]


def test_events_read_as_sentences() -> None:
    entries = [describe(e, {2: "Bravo"}) for e in EVENTS]
    assert [e.title for e in entries if e] == [
        "Issue 7 reported",
        "Job 3 created",
        "Job 3 assigned to Bravo",
        "Bravo status → en route",
        "Alarm 9 raised",
        "Job 4 created",
        "Job 5 created",
    ]
    alarm = entries[4]
    assert alarm is not None and alarm.detail == "critical · pressure low"
    assert entries[0] is not None and entries[0].detail == "Pothole"
    assert entries[2] is not None and entries[2].actor == "dana" and entries[2].kind == "job"


def test_batches_and_other_kinds_are_not_entries() -> None:
    assert describe(ev(1, "crew.moved", "crew/*")) is None
    assert describe(ev(1, "asset.status", "asset/3")) is None
    assert describe({"topic": "job/1", "type": "job.done"}) is None  # no time


def test_map_targets() -> None:
    entries = [describe(e) for e in EVENTS]
    targets = [map_target(e) for e in entries if e]
    assert targets == [
        ("issues", 7),
        ("issues", 7),  # a job is shown by its issue
        ("issues", 7),
        ("crews", 2),
        ("assets", 40),  # an alarm by its asset
        ("assets", 41),  # a job without an issue by its asset
        None,  # nothing on the map
    ]
    # The live replica fills what the event's body lacks.
    bare = describe(ev(8, "job.done", "job/5", {"id": 5}))
    assert bare is not None
    assert map_target(bare, {"job/5": {"issue_id": 12}}) == ("issues", 12)


def test_filters_hide_kinds_and_say_so() -> None:
    model = TimelineModel()
    seen: list[str] = []
    model.changed.connect(seen.append)
    model.start(T0, T0 + timedelta(hours=1))
    assert model.add_page({"events": EVENTS, "more": False}) is None
    assert model.counts() == {"job": 4, "alarm": 1, "issue": 1, "crew": 1}
    model.set_kind_shown("job", False)
    model.set_kind_shown("crew", False)
    assert [e.kind for e in model.visible()] == ["issue", "alarm"]
    model.set_kind_shown("crew", False)  # no change: no signal
    assert seen == ["window", "entries", "filter", "filter"]
    with pytest.raises(ValueError):
        model.set_kind_shown("asset", True)
    assert model.nearest(T0 + timedelta(minutes=5, seconds=30)) is model.visible()[1]
    assert model.nearest(T0) is None


def test_pages_follow_by_seq_up_to_a_cap() -> None:
    model = TimelineModel()
    since, until = T0, T0 + timedelta(hours=4)
    first = model.start(since, until)
    assert first == request_args(since, until)
    assert first["batches"] is False and first["kinds"] == ["alarm", "crew", "issue", "job"]
    following = model.add_page({"events": EVENTS[:3], "more": True})
    assert following is not None and following["after_seq"] == 3
    for _ in range(MAX_PAGES - 2):
        assert model.add_page({"events": EVENTS[3:4], "more": True}) is not None
    assert model.add_page({"events": EVENTS[4:5], "more": True}) is None
    assert model.truncated
    with pytest.raises(ValueError):
        model.start(until, since)
