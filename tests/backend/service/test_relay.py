"""The feed relay: consoles behind it see exactly what a console on the backend sees."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import zmq
from sqlalchemy import Engine

from backend.protocol import envelope as proto
from backend.service.relay import FeedRelay
from console.live import LinkState, LiveClient
from tests.backend.service.helpers import free_port_pair, running_backend
from tests.backend.service.seed import seed_city

ROOT = Path(__file__).resolve().parents[3]


def _wait(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _state(client: LiveClient) -> tuple[int, dict[str, object]]:
    return client.replica.copy()


def test_consoles_behind_a_relay_match_a_direct_console_through_a_relay_restart(
    engine: Engine, db_url: str
) -> None:
    seed_city(engine, jobs=6, crews=3)
    port = free_port_pair()
    relay_at = f"tcp://127.0.0.1:{port}"
    with running_backend(db_url) as backend, backend.client("dana") as ana:
        relay = FeedRelay(backend.pub, relay_at).start()
        direct = LiveClient(backend.pub, stale_after=1.0, reconnect_after=2.0).start()
        behind = [
            LiveClient(backend.pub, feed_endpoint=relay_at, stale_after=1.0, reconnect_after=2.0)
            for _ in range(3)
        ]
        for c in behind:
            c.start()
        clients = [direct, *behind]
        try:
            assert _wait(lambda: all(c.health.state is LinkState.LIVE for c in clients))
            for job in (1, 2):
                ana.command("assign_job", {"job_id": job, "crew_id": job, "version": 1})

            def converged(job: str, crew: int) -> bool:
                states = [_state(c) for c in clients]
                ent = states[0][1].get(job) or {}
                return all(s == states[0] for s in states) and ent.get("crew_id") == crew

            assert _wait(lambda: converged("job/2", 2))

            # The relay dies: its consoles see a dead link, the direct one does not.
            relay.stop()
            assert _wait(lambda: all(c.health.state is not LinkState.LIVE for c in behind))
            assert direct.health.state is LinkState.LIVE
            ana.command("assign_job", {"job_id": 3, "crew_id": 3, "version": 1})
            # A new relay on the same port: they re-snapshot (a gap) and catch up.
            relay = FeedRelay(backend.pub, relay_at).start()
            assert _wait(lambda: all(c.health.state is LinkState.LIVE for c in clients))
            ana.command("assign_job", {"job_id": 4, "crew_id": 1, "version": 1})
            assert _wait(lambda: converged("job/4", 1))
            assert _state(behind[2])[1]["job/3"]["crew_id"] == 3  # type: ignore[index]
            assert all(c.snapshots >= 2 for c in behind)
        finally:
            for c in clients:
                c.stop()
            relay.stop()


def test_relay_command_serves_heartbeats_and_exits_0_on_sigterm(
    sqlite_engine: Engine,
) -> None:
    seed_city(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    relay_at = f"tcp://127.0.0.1:{free_port_pair()}"
    with running_backend(url) as backend:
        proc = subprocess.Popen(
            [sys.executable, "main.py", "relay", "--connect", backend.pub, "--bind", relay_at],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, proto.CHANNEL_HEARTBEAT)
        sub.setsockopt(zmq.RCVTIMEO, 30_000)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == f"relaying {backend.pub} on {relay_at}"
            sub.connect(relay_at)
            assert sub.recv_multipart()[0] == proto.CHANNEL_HEARTBEAT  # the backend's, relayed
        finally:
            sub.close(linger=0)
            ctx.term()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err


def test_relay_refuses_a_taken_port(sqlite_engine: Engine) -> None:
    port = free_port_pair()
    with FeedRelay("tcp://127.0.0.1:1", f"tcp://127.0.0.1:{port}"):
        proc = subprocess.run(
            [sys.executable, "main.py", "relay", "--bind", f"tcp://127.0.0.1:{port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2
    assert "cannot relay" in proc.stderr
