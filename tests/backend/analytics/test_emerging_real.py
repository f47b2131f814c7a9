"""Emerging problems through the command and the CLI: synthetic reports on both databases,
and the real Boston 311 export (2015) end to end.

On the real data nothing is known in advance about where problems emerged, so
the test checks what must hold for any answer: clusters lie in the city,
their counts agree with a recount from the database, observed exceeds
expected, p-values are below 0.01 and sorted. What it found is printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.db.models import Issue, User
from backend.importers.base import ImportOptions
from backend.importers.registry import import_files
from backend.service.processor import CommandProcessor, Outcome
from tests.conftest import ROOT, shared_file

BOSTON = ("Street Light Outages.csv", "Traffic Signal Repair.csv", "Catchbasin.csv")
AS_OF = datetime(2025, 6, 2, tzinfo=UTC)


def run(p: CommandProcessor, **args: Any) -> Outcome:
    body = {"name": "get_emerging_problems", "user": "olga", "args": args}
    return p.execute(body, msg_id="m")


def _processor(engine: Engine) -> CommandProcessor:
    with Session(engine) as s, s.begin():
        s.add(User(name="olga", role="operator"))
    return CommandProcessor(engine)


def test_command_finds_a_planted_cluster(engine: Engine) -> None:
    rng = np.random.default_rng(11)
    # Background: 1,500 street-light reports all over a 6 x 6 km city for 63 days;
    # then 12 within about 60 m of one point in the last three days.
    rows = [
        (-71.08 + rng.uniform(0, 0.073), 42.33 + rng.uniform(0, 0.054), rng.uniform(0, 63))
        for _ in range(1500)
    ]
    spike = [
        (-71.05 + rng.normal(0, 0.0006), 42.35 + rng.normal(0, 0.0005), rng.uniform(0, 3))
        for _ in range(12)
    ]
    with Session(engine) as s, s.begin():
        for n, (lon, lat, days) in enumerate(rows + spike):
            s.add(
                Issue(
                    source="test",
                    source_id=str(n),
                    category="Street Light Outage",
                    service_code="streetlight_out",
                    lon=lon,
                    lat=lat,
                    requested_at=AS_OF - timedelta(days=days),
                )
            )
        # Another service with no history must not break the scan.
        s.add(
            Issue(
                source="test",
                source_id="new",
                category="New Thing",
                lon=-71.05,
                lat=42.35,
                requested_at=AS_OF - timedelta(hours=1),
            )
        )
    p = _processor(engine)
    outcome = run(p, as_of=AS_OF)
    assert outcome.ok, outcome.body
    result = outcome.body["result"]
    assert len(result["clusters"]) == 1 and result["more"] is False
    top = result["clusters"][0]
    assert top["service"] == "streetlight_out"
    assert h3.latlng_to_cell(42.35, -71.05, 9) in top["cells"]
    spike_ids = set(range(len(rows) + 1, len(rows) + len(spike) + 1))
    assert set(top["issue_ids"]) <= spike_ids | set(range(1, len(rows) + 1))
    assert len(set(top["issue_ids"]) & spike_ids) >= 8
    assert top["observed"] > top["expected"] and top["p_value"] < 0.01
    assert result["services"]["New Thing"]["skipped"]
    # Without as_of the scan stands at the newest report: the same answer here.
    assert run(p).body["result"]["clusters"][0]["cells"] == top["cells"]
    # Filtered to another service: nothing.
    assert run(p, as_of=AS_OF, service_codes=["pothole"]).body["result"]["clusters"] == []


def test_command_refuses_bad_arguments(engine: Engine) -> None:
    p = _processor(engine)
    for args in (
        {"window_days": 0},
        {"window_days": "7"},
        {"baseline_days": 2},
        {"as_of": datetime(2025, 1, 1)},
        {"as_of": "2025-01-01"},
        {"service_codes": "pothole"},
        {"service_codes": [""]},
        {"limit": 0},
        {"min_count": 0},
    ):
        assert run(p, **args).code == "bad_args", args
    # An empty city is not an error: nothing to report.
    assert run(p).body["result"]["clusters"] == []


@pytest.fixture
def boston(engine: Engine) -> Engine:
    paths = [shared_file("boston-311", name) for name in BOSTON]
    import_files(engine, paths, ImportOptions())
    return engine


def test_real_boston_reports_end_to_end(boston: Engine) -> None:
    engine = boston
    p = _processor(engine)
    with Session(engine) as s:
        lon0, lon1, lat0, lat1 = s.execute(
            select(
                func.min(Issue.lon), func.max(Issue.lon), func.min(Issue.lat), func.max(Issue.lat)
            )
        ).one()
    slack = 0.005  # a zone's central cell may sit just past the outermost report
    found: list[str] = []
    for month in range(3, 13):
        as_of = datetime(2015, month, 1, tzinfo=UTC)
        result = run(p, as_of=as_of).body["result"]
        assert result["reports_in_window"] > 0
        clusters = result["clusters"]
        p_values = [c["p_value"] for c in clusters]
        assert p_values == sorted(p_values)
        window_start = as_of - timedelta(days=7)
        for c in clusters:
            lon, lat = c["center"]
            assert lon0 - slack <= lon <= lon1 + slack and lat0 - slack <= lat <= lat1 + slack
            assert c["observed"] > c["expected"] > 0 and c["p_value"] < 0.01
            assert c["observed"] >= 4 and 1 <= len(c["issue_ids"]) <= 10
            assert _recount(engine, c, window_start, as_of) == c["observed"]
            found.append(
                f"{as_of:%Y-%m-%d} {c['category']}: {c['observed']} vs {c['expected']:.2f} "
                f"at {lat:.4f},{lon:.4f} p={c['p_value']:.2g}"
            )
    print(f"\n{len(found)} clusters over ten weekly scans of Boston 2015:")
    print("\n".join(found))


def _recount(engine: Engine, cluster: dict[str, Any], start: datetime, end: datetime) -> int:
    """The cluster's reports counted again from the database, by its own cells."""
    with Session(engine) as s:
        rows = s.execute(
            select(Issue.id, Issue.lon, Issue.lat).where(
                Issue.category == cluster["service"],
                Issue.requested_at >= start,
                Issue.requested_at < end,
            )
        ).all()
    cells = set(cluster["cells"])
    inside = {r.id for r in rows if h3.latlng_to_cell(r.lat, r.lon, 9) in cells}
    assert set(cluster["issue_ids"]) <= inside
    return len(inside)


def test_cli_prints_the_scan_as_its_last_line(sqlite_engine: Engine) -> None:
    # One database is enough here: the command above runs the same scan on both.
    paths = [shared_file("boston-311", name) for name in BOSTON[1:]]
    import_files(sqlite_engine, paths, ImportOptions())
    db_url = sqlite_engine.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [
            sys.executable,
            "main.py",
            "analytics",
            "emerging",
            "--db",
            db_url,
            "--as-of",
            "2015-04-01",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["as_of"] == "2015-04-01T00:00:00+00:00"
    assert set(result["services"]) == {"Traffic Signal Repair", "Catchbasin"}
    assert len(done.stderr.strip().splitlines()) >= len(result["clusters"])
    bad = subprocess.run(
        [sys.executable, "main.py", "analytics", "emerging", "--db", db_url, "--window-days", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 2 and "window_days" in bad.stderr
