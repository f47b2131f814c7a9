"""The replay model: what the map shows at T, from events, states before the window and tracks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from backend.protocol.columns import encode_columns, to_micros
from console.timeline.model import TimelineEntry, describe
from console.timeline.replay import ReplayClock, ReplayModel, Tracks

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)
UNTIL = T0 + 120 * M


def entry(seq: int, minute: float, type_: str, topic: str, **entity: Any) -> TimelineEntry:
    e = describe(
        {
            "seq": seq,
            "ts": T0 + minute * M,
            "type": type_,
            "topic": topic,
            "body": {"entity": entity},
        }
    )
    assert e is not None
    return e


JOB = {"id": 3, "lon": 24.95, "lat": 60.17, "issue_id": 7}
ENTRIES = [
    entry(1, 0, "job.created", "job/3", status="new", **JOB),
    entry(2, 5, "alarm.raised", "alarm/9", state="raised", severity="critical", asset_id=40),
    entry(3, 10, "job.assigned", "job/3", status="assigned", crew_id=1, **JOB),
    entry(4, 30, "job.on_site", "job/3", status="on_site", crew_id=1, **JOB),
    entry(5, 30, "crew.status", "crew/1", id=1, name="Alpha", status="on_site"),
    entry(6, 50, "alarm.cleared", "alarm/9", state="cleared", severity="critical", asset_id=40),
    entry(7, 60, "job.done", "job/3", status="done", crew_id=1, **JOB),
    entry(8, 60, "issue.closed", "issue/7", status="closed", lon=24.95, lat=60.17),
    entry(9, 70, "issue.reported", "issue/8", status="open", lon=24.96, lat=60.18),
]
BEFORE = {"issue/7": {"id": 7, "status": "in_progress", "lon": 24.95, "lat": 60.17}}


def tracks() -> Tracks:
    rows = [(2, 40, 24.0, 60.0), (1, 0, 24.90, 60.10), (1, 20, 24.92, 60.12), (1, -5, 24.89, 60.1)]
    rows.sort(key=lambda r: r[1])  # the model sorts them itself
    spec = encode_columns(
        {
            "crew_id": ("i8", np.array([r[0] for r in rows])),
            "ts": ("ts", np.array([to_micros(T0 + r[1] * M) for r in rows])),
            "lon": ("f8", np.array([r[2] for r in rows])),
            "lat": ("f8", np.array([r[3] for r in rows])),
            "heading": ("f8", np.full(len(rows), np.nan)),
        }
    )
    return Tracks.from_reply(spec)


def model() -> ReplayModel:
    return ReplayModel(
        T0,
        UNTIL,
        ENTRIES,
        BEFORE,
        tracks(),
        crews={
            1: {"name": "Alpha", "status": "available"},
            2: {"name": "Bravo", "status": "off_shift"},
        },
        asset_positions={40: (24.97, 60.19)},
    )


def statuses(at_minute: float) -> dict[tuple[str, int], str]:
    frame = model().frame(T0 + at_minute * M)
    return {(m.kind, m.id): m.status for m in frame.markers}


def test_states_at_times_through_the_window() -> None:
    # Crew 1's first status change is at 30 and nothing is known before: unknown until then.
    assert statuses(0) == {("crew", 1): "unknown", ("job", 3): "new", ("issue", 7): "in_progress"}
    assert statuses(12) == {
        ("crew", 1): "unknown",
        ("job", 3): "assigned",
        ("issue", 7): "in_progress",
        ("alarm", 9): "critical",
    }
    assert statuses(45) == {
        ("crew", 1): "on_site",
        ("crew", 2): "off_shift",  # no status event: the replica's
        ("job", 3): "on_site",
        ("issue", 7): "in_progress",
        ("alarm", 9): "critical",
    }
    # Done job, closed issue, cleared alarm leave; the issue reported at 70 arrives.
    assert statuses(65) == {("crew", 1): "on_site", ("crew", 2): "off_shift"}
    assert statuses(75)[("issue", 8)] == "open"


def test_crews_move_along_their_tracks() -> None:
    m = model()
    assert m.crew_position(1, T0 - 10 * M) is None  # before its first point
    lon, lat, _ = m.crew_position(1, T0 - 5 * M) or (0, 0, 0)
    assert (lon, lat) == (24.89, 60.1)  # the look-back point
    lon, lat, _ = m.crew_position(1, T0 + 10 * M) or (0, 0, 0)
    assert lon == pytest.approx(24.91) and lat == pytest.approx(60.11)  # half way
    lon, _, _ = m.crew_position(1, T0 + 90 * M) or (0, 0, 0)
    assert lon == 24.92  # held after the last point
    assert m.crew_position(2, T0 + 30 * M) is None  # crew 2 appears at 40
    frame = m.frame(T0 + 10 * M)
    assert frame.of("crew")[1].label == "Alpha"
    assert frame.of("alarm")[9].lon == 24.97  # at its asset


def test_an_entity_without_history_before_its_first_event_is_not_shown() -> None:
    late = [entry(1, 30, "job.done", "job/4", status="done", lon=1.0, lat=2.0)]
    m = ReplayModel(T0, UNTIL, late)
    assert m.entity_at("job/4", T0 + 10 * M) is None
    assert m.entity_at("job/4", T0 + 30 * M) == {"status": "done", "lon": 1.0, "lat": 2.0}
    assert m.frame(T0 + 40 * M).markers == []


def test_frames_clamp_to_the_window() -> None:
    assert model().frame(T0 - 60 * M).at == T0
    assert model().frame(UNTIL + M).at == UNTIL
    with pytest.raises(ValueError):
        ReplayModel(UNTIL, T0, [])


def test_the_clock_plays_at_its_speed_and_stops_at_the_end() -> None:
    clock = ReplayClock(T0, UNTIL, speed=60.0)
    assert clock.advance(10) == T0  # paused
    clock.play()
    assert clock.advance(10) == T0 + 10 * M
    clock.seek_fraction(0.5)
    assert clock.at == T0 + 60 * M and clock.fraction == 0.5
    clock.speed = 1200.0
    assert clock.advance(10) == UNTIL and not clock.playing
    clock.play()  # at the end: starts over
    assert clock.at == T0 and clock.playing
    assert clock.seek(UNTIL + 10 * M) == UNTIL


def test_empty_tracks() -> None:
    assert len(Tracks.from_reply({"n": 0, "cols": {}}).t) == 0
