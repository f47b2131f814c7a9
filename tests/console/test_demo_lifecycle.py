"""`python main.py`: the demo starts the backend, simulator and console; closing exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is ``parent`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def test_demo_runs_and_closes_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CITYOPS_DB": str(tmp_path / "demo.sqlite"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # keep the user's saved layout out of it
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 180
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "console ready" in line:
                break
        assert any("console ready" in x for x in lines), "".join(lines[-30:])
        children = child_pids(proc.pid)
        assert children, "the backend runs in a child process"
        time.sleep(2)  # let live data flow
        proc.send_signal(signal.SIGTERM)  # what closing the window does, from outside
        assert proc.wait(60) == 0
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
