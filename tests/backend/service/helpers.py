"""Run the real backend as a subprocess on free ports, for tests that need real processes.

Ports: the backend needs two neighbours (PUB on P, ROUTER on P+1) and must bind them
itself, so a test can only pick ports that look free and hope they stay so. Two things
make that safe enough: ports are picked *below* the kernel's ephemeral range, where no
outgoing connection can take them (another test's client, or a console reconnecting to
a dead backend, which on Linux can even connect to itself: TCP self-connect), and a
backend that still finds a port taken is started again (on new ports when the test let
the helper choose, on the same ones after a pause when it asked for a port).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from backend.protocol.client import BusTimeout, CommandClient

ROOT = Path(__file__).resolve().parents[3]
#: The machine may be busy (other test runs): start-up gets a generous allowance.
START_TIMEOUT = 60.0
#: Starts of a backend whose port turned out to be taken, before giving up.
BIND_ATTEMPTS = 5
#: What the backend prints when a port is taken (libzmq's EADDRINUSE text).
PORT_TAKEN = "Address already in use"
#: Not seeded by the tests: parallel runs must not walk the same ports in step.
_random = random.SystemRandom()


def _port_range() -> range:
    """Ports to pick from: below the ephemeral range (see the module docstring)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default; macOS and Windows start higher still
    return range(20000, low - 1) if low > 24000 else range(10000, 65534)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A port P with P and P+1 both free on 127.0.0.1 (PUB and ROUTER)."""
    ports = _port_range()
    for _ in range(200):
        port = _random.choice(ports)
        if _bindable(port) and _bindable(port + 1):
            return port
    raise RuntimeError(f"no free port pair in {ports}")


class PortTaken(RuntimeError):
    """The backend could not bind its ports: someone else holds one."""


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
        #: Asked-for ports are kept across retries (a restart must come back where it was).
        self.fixed_port = port is not None
        self._use(port or free_port_pair())
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def _use(self, port: int) -> None:
        self.port = port
        self.pub = f"tcp://127.0.0.1:{port}"
        self.router = f"tcp://127.0.0.1:{port + 1}"

    def start(self) -> Backend:
        """Start the process and wait until it answers a ping (retried if a port is taken)."""
        for attempt in range(1, BIND_ATTEMPTS + 1):
            try:
                return self._start_once()
            except PortTaken:
                if attempt == BIND_ATTEMPTS:
                    raise
                if self.fixed_port:
                    time.sleep(0.5 * attempt)  # e.g. a dying process still holds it
                else:
                    self._use(free_port_pair())
        raise AssertionError("unreachable")

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of what the process wrote to stderr."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-limit:]

    def _start_once(self) -> Backend:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # A file, not a pipe: nobody reads a running backend's log, and a full pipe
        # would block its logging (and so the backend) in a long test.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
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
            stderr=self._stderr,
        )
        deadline = time.monotonic() + START_TIMEOUT
        with CommandClient(self.router, timeout_s=1.0, retries=0) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    tail = self.stderr_tail()
                    if PORT_TAKEN in tail:
                        raise PortTaken(f"backend on port {self.port}: {tail}")
                    raise RuntimeError(f"backend exited: {tail}")
                try:
                    probe.request("ping")
                    return self
                except BusTimeout:
                    probe.socket.close(linger=0)
                    probe.socket = probe._open()
        self.proc.kill()
        self.proc.wait(10)
        raise RuntimeError(f"backend did not answer within {START_TIMEOUT} s: {self.stderr_tail()}")

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
