"""Batch events and telemetry alarms over real sockets and processes, including kill -9."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.protocol.client import CommandClient
from backend.service.entities import consistent_snapshot
from backend.service.readings import stored_counts
from console.live import LiveClient
from tests.backend.service.helpers import Backend, command_until_answered, running_backend
from tests.backend.service.seed import seed_city


def _wait(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_faulty_reading_reaches_a_console_as_an_alarm(engine: Engine, db_url: str) -> None:
    seed_city(engine, assets=20)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    with running_backend(db_url) as backend, backend.client("olga") as client:
        console = LiveClient(backend.pub).start()
        try:
            assert _wait(lambda: console.replica.loaded)
            healthy = [
                {"asset_id": a, "metric": "pressure", "value": 4.2, "ts": t0} for a in range(3, 21)
            ]
            client.command("ingest_readings", {"readings": healthy})
            faulty = [
                {"asset_id": 7, "metric": "pressure", "value": 0.9, "ts": t0 + timedelta(minutes=1)}
            ]
            reply = client.command("ingest_readings", {"readings": faulty})
            assert reply["result"]["alarm_changes"] >= 1

            def alarmed() -> bool:
                asset = console.replica.get("asset/7")
                return asset is not None and asset["status"] == "alarm"

            assert _wait(alarmed)
            _, entities = console.replica.copy()
            raised = [
                e for t, e in entities.items() if t.startswith("alarm/") and e["asset_id"] == 7
            ]
            assert raised and {e["state"] for e in raised} == {"raised"}
            assert entities["asset/7"]["latest"]["pressure"][1] == 0.9
            assert _wait(lambda: console.replica.seq == reply["seq"])
            seq, truth = consistent_snapshot(engine)
            assert console.replica.copy() == (seq, dict(truth))
        finally:
            console.stop()


def test_kill_9_mid_batched_burst_keeps_every_replica_equal_to_the_database(
    engine: Engine, db_url: str
) -> None:
    assets, crews, rounds, per = 400, 50, 60, 400
    seed_city(engine, assets=assets, crews=crews)
    backend = Backend(db_url).start()
    replicas = [LiveClient(backend.pub, stale_after=2, reconnect_after=3).start() for _ in range(2)]
    done = threading.Event()
    retried = [0]
    t0 = datetime.now(UTC) - timedelta(hours=2)

    def burst() -> None:
        with CommandClient(backend.router, user="olga", timeout_s=2, retries=0) as client:
            for i in range(rounds):
                ts = t0 + timedelta(minutes=i)
                if i % 3 == 2:
                    name = "update_crew_positions"
                    args = {
                        "positions": [
                            {"crew_id": c, "lon": 24.9 + i / 1e4, "lat": 60.2, "ts": ts}
                            for c in range(1, crews + 1)
                        ]
                    }
                else:
                    name = "ingest_readings"
                    args = {
                        "readings": [
                            {
                                "asset_id": 1 + (i * per + k) % assets,
                                "metric": "pressure",
                                "value": 4.2 + (k % 7) / 100,
                                "ts": ts,
                            }
                            for k in range(per)
                        ]
                    }
                # Retried with the same key until the restarted backend answers.
                retried[0] += command_until_answered(client, name, args, key=f"batch-{i}")
        done.set()

    sender = threading.Thread(target=burst)
    sender.start()
    try:

        def stored() -> int:
            with Session(engine) as s:
                return stored_counts(s.connection()).raw

        assert _wait(lambda: stored() >= per * rounds // 6, 120)
        backend.kill9()
        time.sleep(1.0)
        backend = Backend(db_url, port=backend.port).start()
        assert done.wait(300), "the burst did not finish after the restart"
        sender.join(30)
        seq, truth = consistent_snapshot(engine)
        for replica in replicas:
            assert _wait(lambda r=replica: r.replica.seq >= seq, 60)  # type: ignore[misc]
            rseq, entities = replica.replica.copy()
            assert rseq == seq
            assert entities == dict(truth)
    finally:
        for replica in replicas:
            replica.stop()
        backend.stop()
    assert retried[0] >= 1, "the kill did not land in the middle of the burst"
    readings_commands = sum(1 for i in range(rounds) if i % 3 != 2)
    assert stored() == readings_commands * per  # none lost, none applied twice
