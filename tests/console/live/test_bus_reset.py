"""A backend that comes back on another database: the console must notice and reload.

Real processes on real ports: a backend on database A, a live client
replicating it, then a backend on the same ports but on database B (a fresh
one, or a restore of an older backup of A). Seqs alone cannot tell: B's are
lower than or equal to the replica's. The client runs with reconnect and
stale timers far away, so only the heartbeat's bus identity and seq can
bring it to B.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from backend.db.engine import make_engine
from backend.db.migrate import upgrade
from backend.service.bus_identity import bus_identity
from backend.service.entities import consistent_snapshot
from backend.service.processor import CommandProcessor
from console.live import LinkState, LiveClient
from tests.backend.service.helpers import Backend
from tests.backend.service.seed import seed_city
from tests.console.live.test_client import wait_for


@pytest.fixture
def other_engine(
    engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """A second fresh, migrated database of the same kind as ``engine``."""
    if engine.dialect.name == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite'}")
    upgrade(other)
    yield other
    other.dispose()


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def report_issues(engine: Engine, count: int, tag: str) -> None:
    """``count`` reports committed without a backend running (the real command path)."""
    processor = CommandProcessor(engine)
    for i in range(count):
        body: dict[str, Any] = {
            "name": "report_issue",
            "user": "olga",
            "key": uuid.uuid4().hex,
            "args": {"category": "Flood", "description": f"{tag} {i}"},
        }
        assert processor.execute(body, uuid.uuid4().hex).ok


def report_through(backend: Backend, count: int, tag: str) -> None:
    with backend.client("olga", timeout_s=20) as client:
        for i in range(count):
            client.command("report_issue", {"category": "Flood", "description": f"{tag} {i}"})


def equals(client: LiveClient, engine: Engine) -> bool:
    seq, truth = consistent_snapshot(engine)
    return client.replica.copy() == (seq, dict(truth))


def patient_client(backend: Backend) -> LiveClient:
    """A client that never reconnects or re-snapshots on its own timers."""
    return LiveClient(backend.pub, stale_after=600, reconnect_after=600).start()


@pytest.mark.parametrize("b_reports", [2, 5], ids=["fewer-events", "as-many-events"])
def test_backend_back_on_a_fresh_database_is_replicated_anew(
    engine: Engine, db_url: str, other_engine: Engine, b_reports: int
) -> None:
    seed_city(engine)
    seed_city(other_engine, jobs=2, crews=2, assets=3)
    report_issues(other_engine, b_reports, "b")
    a = Backend(db_url).start()
    b: Backend | None = None
    client = patient_client(a)
    try:
        assert wait_for(lambda: client.health.state is LinkState.LIVE)
        report_through(a, 5, "a")
        assert wait_for(lambda: equals(client, engine))
        a_seq = client.replica.seq
        a.stop()
        b_seq = consistent_snapshot(other_engine)[0]
        assert 0 < b_seq <= a_seq  # the case seqs cannot reveal
        b = Backend(url_of(other_engine), port=a.port).start()
        assert bus_identity(other_engine) != bus_identity(engine)
        assert wait_for(lambda: equals(client, other_engine)), (client.replica.seq, b_seq)
        assert client.bus_resets >= 1 and client.reconnects == 0
        # And it goes on following B.
        report_through(b, 2, "b-live")
        assert wait_for(lambda: equals(client, other_engine))
    finally:
        client.stop()
        if b is not None:
            b.stop()
        a.stop()


def test_backend_back_on_an_older_backup_is_replicated_anew(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    engine = sqlite_engine
    seed_city(engine)
    a = Backend(url_of(engine)).start()
    b: Backend | None = None
    client = patient_client(a)
    backup_path = tmp_path / "backup.sqlite"
    try:
        assert wait_for(lambda: client.health.state is LinkState.LIVE)
        report_through(a, 2, "before backup")
        with sqlite3.connect(engine.url.database or "") as src, sqlite3.connect(backup_path) as dst:
            src.backup(dst)  # online backup of the running database
        report_through(a, 4, "after backup")
        assert wait_for(lambda: equals(client, engine))
        a.stop()
        restored = make_engine(f"sqlite:///{backup_path}")
        try:
            # Same database, same identity: only the rewound seq tells.
            assert bus_identity(restored) == bus_identity(engine)
            assert consistent_snapshot(restored)[0] < client.replica.seq
            b = Backend(url_of(restored), port=a.port).start()
            assert wait_for(lambda: equals(client, restored)), client.replica.seq
            assert client.bus_resets >= 1 and client.reconnects == 0
            # The restored bus reuses seqs the replica had seen, for other changes.
            report_through(b, 5, "after restore")
            assert wait_for(lambda: equals(client, restored))
        finally:
            restored.dispose()
    finally:
        client.stop()
        if b is not None:
            b.stop()
        a.stop()


def test_restart_on_the_same_database_is_no_reset(engine: Engine, db_url: str) -> None:
    seed_city(engine)
    a = Backend(db_url).start()
    b: Backend | None = None
    client = patient_client(a)
    try:
        assert wait_for(lambda: client.health.state is LinkState.LIVE)
        report_through(a, 20, "a")
        a.kill9()  # the harder case: the restarted backend re-sends what it had not saved
        b = Backend(db_url, port=a.port).start()
        report_through(b, 3, "b")
        assert wait_for(lambda: equals(client, engine))
        assert client.bus_resets == 0 and client.reconnects == 0
    finally:
        client.stop()
        if b is not None:
            b.stop()
        a.stop()  # a no-op after the kill; reaps it when the test failed before
