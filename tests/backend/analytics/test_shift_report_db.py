"""The shift report read from a real database (SQLite and PostgreSQL): loader, command and CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.analytics.shift_data import build_shift_report, load_alarms, load_jobs
from backend.service.processor import CommandProcessor
from main import main
from tests.backend.analytics import shift_history as h
from tests.backend.analytics.test_shift import check_report


@pytest.fixture
def history(engine: Engine) -> Engine:
    h.write_history(engine)
    return engine


def test_the_loader_reads_the_records_the_pure_report_expects(history: Engine) -> None:
    with Session(history) as s:
        jobs = {j.id: j for j in load_jobs(s, h.SINCE, h.UNTIL)}
        alarms = {a.id: a for a in load_alarms(s, h.SINCE, h.UNTIL)}
    # Job 9 is after the window and job 10 closed before it.
    assert sorted(jobs) == [1, 2, 3, 4, 5, 6, 7, 8]
    expected = {j.id: j for j in h.job_records()}
    for jid, job in jobs.items():
        assert [e for e in job.events if e.type != "job.created"] == list(expected[jid].events)
    assert alarms[2].acked_at == h.at("09:10")  # the first acknowledgement, not the row's last


def test_the_report_from_the_database(history: Engine) -> None:
    with Session(history) as s:
        check_report(build_shift_report(s, h.SINCE, h.UNTIL))


def test_a_job_without_events_gets_its_story_from_its_row(history: Engine) -> None:
    with Session(history) as s:
        jobs = {j.id: j for j in load_jobs(s, h.at("06:00"), h.UNTIL)}
    assert [(e.type, e.ts, e.crew_id) for e in jobs[10].events] == [
        ("job.assigned", h.at("06:10"), 1),
        ("job.done", h.at("07:00"), 1),
    ]


def test_get_shift_report_command(history: Engine) -> None:
    processor = CommandProcessor(history)
    out = processor.execute(
        {"name": "get_shift_report", "user": "sam", "args": {"since": h.SINCE, "until": h.UNTIL}},
        msg_id="m",
    )
    assert out.ok, out.body
    assert out.last_seq is None  # read-only: no events
    check_report(out.body["result"])
    for args, words in [
        ({"since": h.UNTIL, "until": h.SINCE}, "after since"),
        ({"since": h.SINCE}, "until"),
        ({"since": h.SINCE, "until": h.SINCE + timedelta(days=40)}, "31 days"),
        ({"since": "yesterday", "until": h.UNTIL}, "since"),
    ]:
        bad = processor.execute(
            {"name": "get_shift_report", "user": "sam", "args": args}, msg_id="m"
        )
        assert bad.code == "bad_args" and words in bad.body["message"], bad.body


def test_report_shift_cli_prints_json_last_and_writes_markdown(
    history: Engine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "shift.md"
    code = main(
        [
            "report",
            "shift",
            "--db",
            db_url,
            "--from",
            "2026-03-02T10:00+02:00",
            "--to",
            "2026-03-02T16:00",
            "--markdown",
            str(page),
        ]
    )
    assert code == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert report["since"] == "2026-03-02T08:00:00Z" and report["until"] == "2026-03-02T16:00:00Z"
    assert [j["job_id"] for j in report["jobs"]["late"]] == [4, 3, 2, 1]
    assert report["alarms"]["time_to_ack_min"] == {"count": 3, "p50": 10, "p90": 30}
    text = page.read_text(encoding="utf-8")
    assert "# Shift report 2026-03-02 08:00 UTC – 2026-03-02 16:00 UTC" in text
    assert "| jobs late | 4 |" in text
    assert "| 2 Pump B | 2026-03-02 09:00 UTC | done late | 45 | reassigned 2 times;" in text
    assert "| Crew 1 | 2 | 105 |" in text


def test_report_shift_cli_refuses_a_backwards_window(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "report",
            "shift",
            "--db",
            db_url,
            "--from",
            "2026-03-02T16:00",
            "--to",
            "2026-03-02T08:00",
        ]
    )
    assert code == 2 and "--to must be after --from" in capsys.readouterr().err
