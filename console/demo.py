"""The demo: backend + simulator in a child process, the console window in this one.

``python main.py`` with no arguments runs it on the embedded SQLite database
(the demo city is generated when the database is empty). Closing the window
stops the backend and exits 0. ``python main.py screenshot`` runs the same
thing offscreen and saves the window as a PNG after the live data settled.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtWidgets import QWidget
from sqlalchemy import func, select

log = logging.getLogger(__name__)

MAIN = Path(__file__).resolve().parent.parent / "main.py"
DEMO_USER = "ana"  # a dispatcher of the demo city


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port P such that P and P+1 are both free now (PUB and ROUTER)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind((host, port))
                b.bind((host, port + 1))
            except OSError:
                continue
        return int(port)
    raise RuntimeError("no free pair of ports")


def ensure_city(url: str, seed: int = 7) -> None:
    """Bring the schema up to date and generate the demo city when the database is empty."""
    from backend.cli import open_database
    from backend.db.models import Asset, Road
    from backend.demo_city.generate import build_demo_city

    engine = open_database(url)
    try:
        with engine.connect() as conn:
            assets = conn.scalar(select(func.count()).select_from(Asset))
            roads = conn.scalar(select(func.count()).select_from(Road))
        if not assets and not roads:
            print("empty database: generating the demo city...", flush=True)
            build_demo_city(engine, seed=seed)
    finally:
        engine.dispose()


@contextmanager
def backend_process(
    url: str, simulate: bool = True, speed: float = 10.0, ready_timeout: float = 60.0
) -> Iterator[str]:
    """Run ``main.py backend`` in a child process; yields its PUB endpoint; stops it after."""
    port = free_port_pair()
    endpoint = f"tcp://127.0.0.1:{port}"
    cmd = [sys.executable, str(MAIN), "backend", "--db", url, "--bind", endpoint]
    if simulate:
        cmd += ["--simulate", "--speed", str(speed)]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_ready(proc, ready_timeout)
        yield endpoint
    finally:
        stop_process(proc)


def _wait_ready(proc: subprocess.Popen[str], timeout: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the backend exited early (code {proc.wait()})")
        log.info("backend: %s", line.rstrip())
        if line.startswith("backend serving"):
            return
    raise RuntimeError("the backend did not start in time")


def stop_process(proc: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """SIGTERM, wait, then SIGKILL if it would not stop."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def run_demo(
    db: str | None, user: str = DEMO_USER, speed: float = 10.0, fullscreen: bool = False
) -> int:
    """The demo with a window; returns when the window is closed."""
    from backend.config import resolve_db_url
    from console.app import make_app, open_session

    url = resolve_db_url(db)
    ensure_city(url)
    app = make_app()
    with backend_process(url, speed=speed) as endpoint:
        session = open_session(endpoint, user)
        session.window.closing.connect(app.quit)
        if fullscreen:
            session.window.toggle_fullscreen_map()
        else:
            show_maximized(session.window)
        print("console ready", flush=True)
        with close_on_signals(session.window):
            app.exec()
        session.close()
    return 0


@contextmanager
def close_on_signals(window: QWidget) -> Iterator[None]:
    """SIGINT (Ctrl+C) and SIGTERM close the window, the same way the user would.

    Python only runs signal handlers between bytecodes, so a light timer keeps
    the interpreter breathing while Qt's event loop waits.
    """
    from PySide6.QtCore import QTimer

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, lambda *_: window.close())
    breather = QTimer()
    breather.timeout.connect(lambda: None)
    breather.start(200)
    try:
        yield
    finally:
        breather.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def show_maximized(window: QWidget) -> None:
    """Fill the screen; without a window manager ``showMaximized`` alone does nothing."""
    screen = window.screen()
    if screen is not None:
        window.setGeometry(screen.availableGeometry())
    window.showMaximized()


def run_console(connect: str, user: str, feed: str | None = None) -> int:
    """A console joining a running backend; returns when the window is closed."""
    from console.app import make_app, open_session

    app = make_app()
    session = open_session(connect, user, feed=feed)
    session.window.closing.connect(app.quit)
    show_maximized(session.window)
    with close_on_signals(session.window):
        app.exec()
    session.close()
    return 0


def take_screenshot(
    out: Path, size: tuple[int, int], settle_s: float, db: str | None, user: str = DEMO_USER
) -> int:
    """Run the demo offscreen, let live data flow for ``settle_s``, save the window as PNG."""
    from PySide6.QtCore import QEventLoop, QTimer

    from backend.config import resolve_db_url
    from console.app import make_app, open_session

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    url = resolve_db_url(db)
    ensure_city(url)
    app = make_app()
    with backend_process(url, speed=20.0) as endpoint:
        # No saved layout: a screenshot shows the built-in one.
        session = open_session(endpoint, user, settings_key=None)
        session.window.resize(*size)
        session.window.show()
        loop = QEventLoop()
        QTimer.singleShot(int(settle_s * 1000), loop.quit)
        loop.exec()
        session.canvas.settle()
        image = session.window.grab()
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = image.save(str(out), "PNG")
        session.close()
    del app
    if not ok:
        print(f"error: could not write {out}", file=sys.stderr)
        return 1
    print(f"saved {out} ({size[0]}x{size[1]})")
    return 0
