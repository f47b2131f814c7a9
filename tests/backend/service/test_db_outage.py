"""PostgreSQL stops and starts under a running backend: clear errors, recovery, no loss.

A real server, not a simulated outage: a private cluster of this module's own
(:mod:`tests.backend.service.private_pg`), since the shared one serves every
other test run. It is stopped two ways: ``fast`` (sessions are told to end and
the server shuts down cleanly) and ``immediate`` (a crash: no shutdown
checkpoint, so committed rows come back only through WAL replay on start).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from backend.db.engine import make_engine
from backend.db.migrate import upgrade
from backend.db.models import Event, Issue
from backend.protocol.client import CommandClient, CommandFailed
from backend.service.entities import consistent_snapshot
from console.live import LiveClient
from tests.backend.service.helpers import running_backend
from tests.backend.service.private_pg import PrivatePostgres, private_postgres
from tests.backend.service.seed import seed_city

#: How long the backend may take to serve commands again once the server is back.
RECOVERY_S = 30.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    """This module's private PostgreSQL server (made once, removed even on failure)."""
    with private_postgres() as pg:
        yield pg


@pytest.fixture
def outage_engine(cluster: PrivatePostgres) -> Iterator[Engine]:
    """A fresh, migrated database on the private server (restarted if a test left it down)."""
    if not cluster.running():
        cluster.start()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(make_url(cluster.url).set(database=name).render_as_string(False))
    upgrade(engine)
    yield engine
    engine.dispose()


def _wait(predicate: Any, timeout: float = RECOVERY_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _report(client: CommandClient, category: str) -> dict[str, Any]:
    return client.command("report_issue", {"category": category}, key=category.lower())


def _report_when_back(client: CommandClient, category: str) -> dict[str, Any]:
    """Retry a report with the same key, as a client does, until the database answers."""
    deadline = time.monotonic() + RECOVERY_S
    while True:
        try:
            return _report(client, category)
        except CommandFailed as exc:
            assert exc.code == "unavailable", exc.message
            assert time.monotonic() < deadline, "no recovery after the database came back"
            time.sleep(0.2)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_real_postgres_outage_gives_clear_errors_and_the_service_recovers(
    cluster: PrivatePostgres, outage_engine: Engine, mode: str
) -> None:
    seed_city(outage_engine)
    url = outage_engine.url.render_as_string(hide_password=False)
    with running_backend(url) as backend, backend.client("olga", timeout_s=20) as client:
        console = LiveClient(backend.pub).start()
        try:
            assert _wait(lambda: console.replica.loaded)
            before = _report(client, "Before")
            assert _wait(lambda: console.replica.seq == before["seq"])

            cluster.stop(mode)
            for _ in range(3):  # every try answers, and answers quickly: nothing hangs
                started = time.monotonic()
                with pytest.raises(CommandFailed) as down:
                    _report(client, "During")
                assert down.value.code == "unavailable"
                assert "database is unavailable" in down.value.message
                assert "retry with the same key" in down.value.message
                assert time.monotonic() - started < 5
            with pytest.raises(CommandFailed) as snap:
                client.snapshot()
            assert snap.value.code == "unavailable"
            assert client.request("ping").type == "pong"  # the service itself still answers
            assert backend.proc is not None and backend.proc.poll() is None

            cluster.start()  # the backend is not restarted: it must reconnect by itself
            during = _report_when_back(client, "During")
            assert not during["replayed"]  # the failed tries did not half-apply it
            assert _report(client, "During")["replayed"]
            after = _report(client, "After")
            assert not after["replayed"] and after["seq"] == 3

            # Nothing committed before the outage is lost, and the console that stayed
            # connected through it holds exactly what the database holds.
            assert _wait(lambda: console.replica.seq == after["seq"])
            seq, truth = consistent_snapshot(outage_engine)
            assert console.replica.copy() == (seq, dict(truth))
            assert client.snapshot() == (seq, dict(truth))
        finally:
            console.stop()
        assert backend.stop() == 0
    with Session(outage_engine) as s:
        categories = sorted(s.scalars(select(Issue.category).where(Issue.source == "cityops")))
        assert categories == ["After", "Before", "During"]
        assert s.scalar(select(func.count()).select_from(Event)) == seq == 3


def test_a_hung_server_costs_a_command_not_the_service(
    cluster: PrivatePostgres, outage_engine: Engine
) -> None:
    """Frozen server, connections open: TCP cannot tell, the backend's watchdog cuts them."""
    seed_city(outage_engine)
    url = outage_engine.url.render_as_string(hide_password=False)
    deadline = 1.5
    extra = ["--db-deadline", str(deadline)]
    with (
        running_backend(url, extra=extra) as backend,
        backend.client("olga", timeout_s=30) as client,
    ):
        before = _report(client, "Before")
        frozen = cluster.freeze()
        try:
            started = time.monotonic()
            with pytest.raises(CommandFailed) as hung:
                _report(client, "During")
            waited = time.monotonic() - started
            assert hung.value.code == "unavailable"
            # Cut at the deadline; a new connection then waits out its connect timeout.
            assert deadline <= waited < deadline + 12
            assert client.request("ping").type == "pong"  # the loop is serving again
        finally:
            cluster.thaw(frozen)
        during = _report_when_back(client, "During")
        assert not during["replayed"] and during["seq"] == before["seq"] + 1
        stats = client.stats()
        assert backend.stop() == 0
    assert stats["counters"].get("requests", 1) >= 1
