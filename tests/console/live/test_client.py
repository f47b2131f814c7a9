"""The live client against the real backend process: convergence, slow consumers, dead links."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from backend.service.entities import consistent_snapshot
from console.live import LinkState, LiveClient
from tests.backend.service.helpers import running_backend
from tests.backend.service.seed import seed_city


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def assert_equals_database(client: LiveClient, engine: Engine) -> None:
    seq, truth = consistent_snapshot(engine)
    assert wait_for(lambda: client.replica.seq >= seq), (client.replica.seq, seq)
    rseq, entities = client.replica.copy()
    assert rseq == seq and entities == dict(truth)


def test_replica_follows_commands_sent_through_it(engine: Engine, db_url: str) -> None:
    seed_city(engine)
    with running_backend(db_url) as backend:
        changes: list[frozenset[str]] = []
        client = LiveClient(
            backend.pub, user="dana", on_changes=lambda t, s: changes.append(t)
        ).start()
        try:
            assert wait_for(lambda: client.health.state is LinkState.LIVE)
            reply = client.command("assign_job", {"job_id": 3, "crew_id": 2, "version": 1}).result(
                20
            )
            assert reply.type == "reply" and reply.body["result"]["version"] == 2
            # One path for state: the sender's replica changes only when the delta arrives.
            assert wait_for(lambda: (client.replica.get("job/3") or {}).get("crew_id") == 2)
            denied = client.command(
                "assign_job", {"job_id": 4, "crew_id": 2, "version": 1}, user="olga"
            )
            assert denied.result(20).body["code"] == "forbidden"
            assert any("job/3" in c for c in changes)
            assert_equals_database(client, engine)
        finally:
            client.stop()


def test_a_console_that_stops_reading_recovers_by_snapshot_others_unaffected(
    engine: Engine, db_url: str
) -> None:
    seed_city(engine)
    # Tiny queues and big events (50 kB descriptions) so the stalled console overflows quickly.
    with running_backend(db_url, extra=["--pub-hwm", "5"]) as backend:
        stalled = threading.Event()
        release = threading.Event()

        def stall(_topics: frozenset[str], _seq: int) -> None:
            if not release.is_set():
                stalled.set()
                release.wait(120)

        slow = LiveClient(backend.pub, rcvhwm=1, on_changes=stall, reconnect_after=600).start()
        healthy = LiveClient(backend.pub).start()
        try:
            assert wait_for(lambda: slow.replica.loaded and healthy.replica.loaded)
            with backend.client("olga", timeout_s=20) as sender:
                text = "x" * 50_000
                for i in range(400):
                    sender.command(
                        "report_issue", {"category": "Flood", "description": f"{i}{text}"}
                    )
            assert stalled.is_set()
            release.set()
            assert_equals_database(slow, engine)
            assert_equals_database(healthy, engine)
            assert slow.replica.gaps >= 1 and slow.snapshots >= 2
            assert healthy.replica.gaps == 0 and healthy.snapshots == 1
        finally:
            release.set()
            slow.stop()
            healthy.stop()


def test_silence_marks_the_link_stale_then_reconnecting_then_live_again(
    engine: Engine, db_url: str
) -> None:
    seed_city(engine)
    with running_backend(db_url) as backend:
        seen: list[LinkState] = []
        client = LiveClient(
            backend.pub,
            stale_after=1.5,
            reconnect_after=3.0,
            request_timeout=2.0,
            on_health=lambda h: seen.append(h.state),
        ).start()
        try:
            assert wait_for(lambda: client.health.state is LinkState.LIVE)
            assert backend.proc is not None
            backend.proc.send_signal(signal.SIGSTOP)  # the backend hangs: no heartbeats
            try:
                assert wait_for(lambda: client.health.state is LinkState.STALE, 10)
                assert client.replica.loaded  # the last picture stays
                assert wait_for(lambda: client.health.state is LinkState.RECONNECTING, 10)
            finally:
                backend.proc.send_signal(signal.SIGCONT)
            assert wait_for(lambda: client.health.state is LinkState.LIVE, 30)
            assert client.reconnects >= 1
            with backend.client("dana") as cmd:
                cmd.command("ack_alarm", {"alarm_id": 1, "version": 1})
            assert_equals_database(client, engine)
            assert seen.index(LinkState.STALE) < seen.index(LinkState.RECONNECTING)
        finally:
            client.stop()
