"""Replaying a real 311 export: the importer's rules decide what is replayed, in time order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.importers.base import ImportRefused
from backend.simulator.replay import load_311, skills_for
from tests.conftest import ROOT, shared_file


def test_real_export_replays_in_time_order() -> None:
    reports = load_311(shared_file("boston-311", "Catchbasin.csv"))
    assert len(reports) == 385  # what the importer keeps of 405 rows (placeholders skipped)
    times = [r.requested_at for r in reports]
    assert times == sorted(times)
    assert all(r.requested_at.tzinfo is not None for r in reports)
    assert all(-71.3 < r.lon < -70.9 and 42.2 < r.lat < 42.5 for r in reports)


def test_a_file_that_is_not_311_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.csv"
    bogus.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ImportRefused):
        load_311(bogus)
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "simulate", "--replay-311", str(bogus)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "not a format" in result.stderr


def test_skills_from_category() -> None:
    assert skills_for("Street Light Outages") == ["electrical"]
    assert skills_for("Traffic Signal Repair") == ["signals"]
    assert skills_for("Catchbasin") == ["water"]
    assert skills_for("Graffiti Removal") == ["general"]
