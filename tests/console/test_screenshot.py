"""``main.py screenshot``: the demo offscreen, saved as a PNG that shows something."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from tests.conftest import ROOT


def test_screenshot_command_writes_a_real_picture(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    db = tmp_path / "demo.sqlite"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "screenshot",
            "--out",
            str(out),
            "--size",
            "1280x720",
            "--settle",
            "3",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
    # Not blank: the map, panels and text give many distinct colours.
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 11) for y in range(0, image.height(), 11)
    }
    assert len(colours) > 50


def test_screenshot_refuses_a_bad_size() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "screenshot", "--out", "x.png", "--size", "big"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "1920x1080" in result.stderr
