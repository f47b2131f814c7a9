"""Run the real backend as a subprocess on free ports, for tests that need real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from backend.protocol.client import BusTimeout, CommandClient

ROOT = Path(__file__).resolve().parents[3]
#: The machine may be busy (other test runs): start-up gets a generous allowance.
START_TIMEOUT = 60.0


def free_port_pair() -> int:
    """A port P with P and P+1 both free on 127.0.0.1 (PUB and ROUTER)."""
    for _ in range(100):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port pair")


def command_until_answered(client: CommandClient, name: str, args: dict[str, Any], key: str) -> int:
    """Send ``name`` with idempotency ``key`` until a (restarted) backend answers; the retries."""
    retries = 0
    while True:
        try:
            client.command(name, args, key=key)
            return retries
        except BusTimeout:
            retries += 1
            client.socket.close(linger=0)
            client.socket = client._open()


class Backend:
    """A ``main.py backend`` subprocess: start, wait until it answers, kill or stop it."""

    def __init__(
        self, db_url: str, port: int | None = None, extra: list[str] | None = None
    ) -> None:
        self.db_url = db_url
        self.extra = extra or []
        self.port = port or free_port_pair()
        self.pub = f"tcp://127.0.0.1:{self.port}"
        self.router = f"tcp://127.0.0.1:{self.port + 1}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Backend:
        """Start the process and wait until it answers a ping."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "main.py"),
                "backend",
                "--db",
                self.db_url,
                "--bind",
                self.pub,
                *self.extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT
        with CommandClient(self.router, timeout_s=1.0, retries=0) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"backend exited: {self.proc.stderr.read().decode()[-2000:]}"
                    )  # type: ignore[union-attr]
                try:
                    probe.request("ping")
                    return self
                except BusTimeout:
                    probe.socket.close(linger=0)
                    probe.socket = probe._open()
        raise RuntimeError("backend did not answer within the start-up allowance")

    def kill9(self) -> None:
        """SIGKILL: no clean-up, no last publish."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise
        return int(self.proc.returncode)

    def client(
        self, user: str | None = None, timeout_s: float = 10.0, retries: int = 0
    ) -> CommandClient:
        """A command client on this backend's ROUTER."""
        return CommandClient(self.router, user=user, timeout_s=timeout_s, retries=retries)


@contextmanager
def running_backend(db_url: str, extra: list[str] | None = None) -> Iterator[Backend]:
    """A started backend, stopped (or reaped) afterwards."""
    backend = Backend(db_url, extra=extra).start()
    try:
        yield backend
    finally:
        if backend.proc is not None and backend.proc.poll() is None:
            backend.stop()
