"""A private, throw-away PostgreSQL cluster that a test may stop and start.

The shared server at 127.0.0.1:5432 serves every other test run, so a test
that needs PostgreSQL to really go away (an outage) gets a cluster of its own:
``initdb`` in a temporary directory, a port of its own on 127.0.0.1, its
Unix socket in that directory, trust authentication, removed afterwards.

``initdb`` and ``postgres`` refuse to run as root, and tests run as root in CI,
so as root every server command runs as the ``postgres`` OS user (``runuser``)
in a directory handed to that user; as anyone else they run as that user.
Where the binaries (``/usr/lib/postgresql/<version>/bin``, the Debian layout,
or ``$CITYOPS_PG_BIN``) or that user are missing, :func:`require_private_pg`
skips, except under ``CI=true``, where it fails, as the shared-server tests do.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.service.helpers import free_port_pair
from tests.conftest import IN_CI

#: Where Debian's postgresql-<version> packages put the server binaries.
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
NEEDED = ("initdb", "pg_ctl", "postgres")
#: The cluster's superuser (trust authentication, so no password).
SUPERUSER = "cityops"
#: A stopped server's port may be taken meanwhile (another test's pick): starts retried.
START_ATTEMPTS = 4
#: TCP on loopback only. fsync stays on: the test says committed rows survive a crash.
SERVER_OPTIONS = ("-c", "listen_addresses=127.0.0.1", "-c", "max_connections=40")


def _version(bindir: Path) -> tuple[int, ...]:
    name = bindir.parent.name
    return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)


def find_pg_bin() -> Path | None:
    """The server binaries: ``$CITYOPS_PG_BIN``, else the newest Debian version dir."""
    override = os.environ.get("CITYOPS_PG_BIN")
    candidates = [Path(override)] if override else []
    candidates += sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")), key=_version, reverse=True)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in NEEDED):
            return bindir
    return None


def missing_requirement() -> str | None:
    """Why a private cluster cannot be made here, or None when it can."""
    if find_pg_bin() is None:
        tools = ", ".join(NEEDED)
        return f"no PostgreSQL server binaries ({tools}) in {PG_BIN_GLOB} or $CITYOPS_PG_BIN"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' OS user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and 'runuser' (to run the server as 'postgres') is missing"
    return None


def require_private_pg() -> Path:
    """The server binaries, or skip (under ``CI=true``: fail) with the reason."""
    reason = missing_requirement()
    if reason is not None:
        if IN_CI:
            pytest.fail(reason + " (CI=true: the real-outage test may not be skipped)")
        pytest.skip(reason)
    bindir = find_pg_bin()
    assert bindir is not None
    return bindir


class PrivatePostgres:
    """One cluster in ``root``: :meth:`init`, :meth:`start`, :meth:`stop`, :meth:`destroy`."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = free_port_pair()  # below the ephemeral range: no self-connect when down
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the ``postgres`` database over TCP."""
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} exited {done.returncode}: "
                f"{done.stderr.strip()[-1500:]}\n{self.log_tail()}"
            )

    def log_tail(self, limit: int = 1500) -> str:
        """The end of the server log (for failure messages)."""
        try:
            return "server log: " + self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def init(self) -> PrivatePostgres:
        """``initdb`` the cluster (trust auth, no fsync of the fresh files: it is thrown away)."""
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb",
            *("-D", str(self.data), "-A", "trust", "-U", SUPERUSER),
            *("-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"),
        )
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections (same port every time)."""
        options = " ".join(["-p", str(self.port), "-k", str(self.root), *SERVER_OPTIONS])
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._run(
                    "pg_ctl",
                    *("-D", str(self.data), "-l", str(self.log), "-o", options),
                    *("-w", "-t", "30", "start"),
                )
                return
            except RuntimeError:
                if attempt == START_ATTEMPTS or "already in use" not in self.log_tail(4000):
                    raise
                time.sleep(0.5 * attempt)  # someone holds the port for a moment

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m <mode>``: fast closes sessions; immediate is a crash (WAL replay)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def processes(self) -> list[int]:
        """The postmaster's pid and its children's (every session and worker)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [pid, *(int(c) for c in children)]

    def freeze(self) -> list[int]:
        """SIGSTOP every server process: connections stay open but nothing answers."""
        pids = self.processes()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    def thaw(self, pids: list[int]) -> None:
        """SIGCONT what :meth:`freeze` stopped."""
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def running(self) -> bool:
        """True while a postmaster owns the data directory."""
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop the server if it runs and remove every file."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster, stopped and removed afterwards whatever happens."""
    bindir = require_private_pg()
    # Not under pytest's tmp_path: its parents are private to root, and the server
    # runs as 'postgres'. A short path also keeps the Unix socket under its 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="cityops-pg-"))
    cluster = PrivatePostgres(bindir, root)
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.destroy()
