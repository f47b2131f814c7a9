"""A short soak: the map survives hundreds of delta-and-repaint rounds and exits cleanly."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_short_soak_survives_and_memory_stays_bounded() -> None:
    out = subprocess.run(
        [sys.executable, "tests/bench/soak_map.py", "--repaints", "300", "--assets", "2000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["repaints"] == 300
    assert result["rss_growth_mb"] < 100  # loose: a leak per repaint would show here
