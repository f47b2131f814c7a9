"""What the timeline replay reads (SQLite and PostgreSQL): crews' tracks and states before a window.

``get_crew_tracks`` decimates stored position blocks to one position per crew
per step (the newest), keeps each crew's newest position from just before the
window, and answers in columns; ``get_timeline`` filters by kind, leaves out
batch feeds, and says what each listed entity was just before the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from backend.db.engine import make_sessionmaker
from backend.db.models import Event
from backend.protocol.columns import decode_columns, positions_columns, to_micros
from backend.service.processor import CommandProcessor
from backend.service.tracks import crew_tracks
from tests.backend.analytics import shift_history as h

S = timedelta(seconds=1)


@pytest.fixture
def processor(engine: Engine) -> CommandProcessor:
    h.write_history(engine)
    return CommandProcessor(engine)


def query(p: CommandProcessor, name: str, **args: Any) -> Any:
    out = p.execute({"name": name, "user": "sam", "args": args}, msg_id="m")
    return out.body["result"] if out.ok else out


def send_positions(p: CommandProcessor, key: str, rows: list[tuple[int, datetime]]) -> None:
    ids = np.array([c for c, _ in rows], dtype=np.int64)
    ts = np.array([to_micros(t) for _, t in rows], dtype=np.int64)
    lon = 24.9 + (ts - ts.min()) / 1e9  # where a crew is encodes when it was there
    cols = positions_columns(ids, ts, lon, np.full(len(rows), 60.1))
    out = p.execute(
        {"name": "update_crew_positions", "user": "sam", "key": key, "args": {"columns": cols}},
        msg_id="m",
    )
    assert out.ok, out.body


def seed_tracks(p: CommandProcessor) -> None:
    t0 = h.at("08:00")
    early = [(1, h.at("07:40")), (1, h.at("07:50")), (1, h.at("07:55"))]
    first = [(1, t0 + k * S) for k in range(15)]
    second = [(1, t0 + k * S) for k in range(15, 60)] + [(2, t0 + 30 * S), (1, h.at("08:02"))]
    send_positions(p, "a", early + first)  # two blocks: a step spans both
    send_positions(p, "b", second)


def test_tracks_keep_the_newest_position_per_crew_per_step(processor: CommandProcessor) -> None:
    seed_tracks(processor)
    reply = query(processor, "get_crew_tracks", since=h.at("08:00"), until=h.at("08:01"), step_s=10)
    _, cols = decode_columns(
        reply["tracks"], {"crew_id": "i8", "ts": "ts", "lon": "f8", "lat": "f8", "heading": "f8"}
    )
    t0 = to_micros(h.at("08:00"))
    got = list(
        zip(cols["crew_id"].tolist(), ((cols["ts"] - t0) // 1_000_000).tolist(), strict=True)
    )
    assert got == [(1, -300), (1, 9), (1, 19), (1, 29), (1, 39), (1, 49), (1, 59), (2, 30)]
    assert reply["step_s"] == 10 and np.isnan(cols["heading"]).all()
    # Without the look-back, only the window.
    short = query(
        processor,
        "get_crew_tracks",
        since=h.at("08:00"),
        until=h.at("08:01"),
        step_s=30,
        lookback_s=0,
        crew_ids=[1],
    )
    _, c = decode_columns(
        short["tracks"], {"crew_id": "i8", "ts": "ts", "lon": "f8", "lat": "f8", "heading": "f8"}
    )
    assert ((c["ts"] - t0) // 1_000_000).tolist() == [29, 59]


def test_the_step_grows_until_the_answer_fits(engine: Engine, processor: CommandProcessor) -> None:
    seed_tracks(processor)
    with engine.connect() as conn:
        tracks, step = crew_tracks(
            conn, h.at("08:00"), h.at("08:01"), 10 * S, crew_ids=[1], max_rows=4
        )
    t0 = to_micros(h.at("08:00"))
    assert step == 20 * S
    assert ((tracks.ts - t0) // 1_000_000).tolist() == [-300, 19, 39, 59]


def test_an_empty_window_and_bad_arguments(processor: CommandProcessor) -> None:
    reply = query(processor, "get_crew_tracks", since=h.at("08:00"), until=h.at("09:00"))
    assert reply["tracks"]["n"] == 0
    for args, words in [
        ({"since": h.at("09:00"), "until": h.at("08:00")}, "after since"),
        ({"since": h.at("08:00"), "until": h.at("08:00") + timedelta(days=3)}, "2 days"),
        ({"since": h.at("08:00"), "until": h.at("09:00"), "step_s": 0}, "step_s"),
        ({"since": h.at("08:00"), "until": h.at("09:00"), "lookback_s": -1}, "lookback_s"),
        ({"since": h.at("08:00"), "until": h.at("09:00"), "crew_ids": ["1"]}, "crew_ids"),
    ]:
        bad = query(processor, "get_crew_tracks", **args)
        assert bad.code == "bad_args" and words in bad.body["message"], bad.body


def test_timeline_by_kind_without_feeds_and_with_the_state_before(
    engine: Engine, processor: CommandProcessor
) -> None:
    with make_sessionmaker(engine).begin() as s:
        s.add(Event(seq=1000, ts=h.at("09:00"), type="crew.moved", topic="crew/*", body={}))
    window = {"since": h.at("08:00"), "until": h.at("16:00"), "limit": 5000}
    everything = query(processor, "get_timeline", **window)["events"]
    assert "crew/*" in {e["topic"] for e in everything}
    no_feeds = query(processor, "get_timeline", batches=False, **window)["events"]
    assert len(no_feeds) == len(everything) - 1
    jobs = query(processor, "get_timeline", kinds=["job"], **window)["events"]
    assert jobs and all(e["topic"].startswith("job/") for e in jobs)
    alarms_and_jobs = query(processor, "get_timeline", kinds=["job", "alarm"], **window)["events"]
    assert {e["topic"].partition("/")[0] for e in alarms_and_jobs} == {"job", "alarm"}
    assert query(processor, "get_timeline", kinds=["nope"], **window).code == "bad_args"

    later = {"since": h.at("09:30"), "until": h.at("16:00"), "kinds": ["job"]}
    reply = query(processor, "get_timeline", state_before=True, **later)
    before = reply["before"]
    assert before["job/1"]["status"] == "on_site"  # on site since 09:00, done 10:30
    assert before["job/2"]["status"] == "on_site" and before["job/2"]["crew_id"] == 3
    assert "job/8" not in before  # created at 15:00, nothing before the window
    assert query(processor, "get_timeline", state_before=True, kinds=["job"]).code == "bad_args"
