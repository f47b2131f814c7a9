"""The real service process over real sockets: bad input, races, idempotency, crashes, shutdown."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

import msgpack
import pytest
import zmq
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.db.models import Event, Issue, Job
from backend.protocol import envelope as proto
from backend.protocol.client import CommandClient, CommandFailed
from backend.protocol.envelope import Envelope, decode, encode
from backend.service.entities import consistent_snapshot
from console.live import LiveClient
from tests.backend.service.helpers import Backend, command_until_answered, running_backend
from tests.backend.service.seed import seed_city


def _garbage_cases() -> list[tuple[str, list[bytes]]]:
    good = encode(Envelope(proto.PING))
    now = datetime.now(UTC)
    return [
        ("random bytes", [os.urandom(512)]),
        ("truncated msgpack", [good[: len(good) // 2]]),
        ("empty frame", [b""]),
        ("three frames", [good, good, good]),
        (
            "unknown version",
            [msgpack.packb({"v": 99, "type": "ping", "msg_id": "a", "ts": now}, datetime=True)],
        ),
        ("wrong types", [msgpack.packb({"v": 1, "type": ["ping"], "msg_id": 5, "ts": "now"})]),
        ("not a map", [msgpack.packb("hello")]),
        ("10 MB payload", [b"\x92" + os.urandom(10 * 1024 * 1024)]),
        ("unknown type", [encode(Envelope("teleport"))]),
        (
            "command body of the wrong shape",
            [encode(Envelope(proto.COMMAND, {"name": 1, "args": "x"}))],
        ),
        ("snapshot with a bad prefix", [encode(Envelope(proto.SNAPSHOT, {"prefix": "road/"}))]),
    ]


def test_bad_input_gets_structured_errors_and_the_service_keeps_answering(
    engine: Engine, db_url: str
) -> None:
    seed_city(engine)
    with running_backend(db_url) as backend, backend.client("dana") as client:
        for label, frames in _garbage_cases():
            client.send_raw(frames)
            reply = client.recv(timeout_s=20)
            assert reply is not None, label
            assert reply.type == proto.ERROR, label
            assert reply.body["code"] and reply.body["message"], label
        # REQ-style: an empty delimiter frame, then an empty payload; the reply keeps the delimiter.
        client.socket.send_multipart([b"", b""])
        assert client.socket.poll(10_000)
        delimiter, payload = client.socket.recv_multipart()
        assert delimiter == b"" and decode(payload).body["code"] == "bad_encoding"
        assert client.command("assign_job", {"job_id": 1, "crew_id": 1, "version": 1})["seq"] == 1
        stats = client.stats()["counters"]
        assert stats["bad_input"] >= 9
        assert stats["bad_input:too_large"] == 1
        assert stats["bad_input:unsupported_version"] == 1
        assert stats["bad_input:bad_encoding"] >= 2
        assert backend.stop() == 0


def test_two_dispatchers_race_for_the_same_job_exactly_one_wins(
    engine: Engine, db_url: str
) -> None:
    rounds = 100
    seed_city(engine, jobs=rounds)
    with running_backend(db_url) as backend:
        clients = {"dana": backend.client("dana"), "dave": backend.client("dave")}
        barrier = threading.Barrier(2)
        outcomes: dict[str, list[object]] = {"dana": [], "dave": []}

        def dispatcher(name: str, crew_id: int) -> None:
            for job_id in range(1, rounds + 1):
                barrier.wait()
                try:
                    outcomes[name].append(
                        clients[name].command(
                            "assign_job", {"job_id": job_id, "crew_id": crew_id, "version": 1}
                        )
                    )
                except CommandFailed as exc:
                    outcomes[name].append(exc)

        threads = [
            threading.Thread(target=dispatcher, args=("dana", 1)),
            threading.Thread(target=dispatcher, args=("dave", 2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        for c in clients.values():
            c.close()
    with Session(engine) as s:
        jobs = {j.id: j for j in s.scalars(select(Job))}
    for i in range(rounds):
        a, b = outcomes["dana"][i], outcomes["dave"][i]
        winners = [o for o in (a, b) if isinstance(o, dict)]
        losers = [o for o in (a, b) if isinstance(o, CommandFailed)]
        assert len(winners) == 1 and len(losers) == 1, (i, a, b)
        loser = losers[0]
        assert loser.code == "conflict"
        winner_name = "dana" if winners[0] is a else "dave"
        assert loser.details["changed_by"] == winner_name
        assert jobs[i + 1].assigned_by == winner_name and jobs[i + 1].version == 2


def test_kill_9_mid_burst_loses_nothing_and_applies_nothing_twice(
    engine: Engine, db_url: str
) -> None:
    seed_city(engine)
    total = 300
    backend = Backend(db_url).start()
    replicas = [LiveClient(backend.pub, stale_after=2, reconnect_after=3).start() for _ in range(2)]
    done = threading.Event()
    retried = [0]

    def burst() -> None:
        # Each report has its own idempotency key; on a timeout it is retried with the
        # same key until the (restarted) backend answers.
        with CommandClient(backend.router, user="olga", timeout_s=2, retries=0) as client:
            for i in range(total):
                retried[0] += command_until_answered(
                    client,
                    "report_issue",
                    {"category": "Burst", "description": f"r{i}"},
                    key=f"burst-{i}",
                )
        done.set()

    sender = threading.Thread(target=burst)
    sender.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Session(engine) as s:
                if (
                    s.scalar(
                        select(func.count()).select_from(Issue).where(Issue.category == "Burst")
                    )
                    >= total // 3
                ):
                    break
            time.sleep(0.05)
        backend.kill9()
        time.sleep(1.0)
        backend = Backend(db_url, port=backend.port).start()
        assert done.wait(300), "the burst did not finish after the restart"
        seq, truth = consistent_snapshot(engine)
        for replica in replicas:
            deadline = time.monotonic() + 60
            while replica.replica.seq < seq and time.monotonic() < deadline:
                time.sleep(0.1)
            rseq, entities = replica.replica.copy()
            assert rseq == seq
            assert entities == dict(truth)
    finally:
        for replica in replicas:
            replica.stop()
        backend.stop()
    assert retried[0] >= 1, "the kill did not land in the middle of the burst"
    with Session(engine) as s:
        descriptions = list(s.scalars(select(Issue.description).where(Issue.category == "Burst")))
        reported = s.scalar(
            select(func.count()).select_from(Event).where(Event.type == "issue.reported")
        )
    assert sorted(descriptions) == sorted(f"r{i}" for i in range(total))  # none lost, none twice
    assert reported == total


def test_sigterm_exits_cleanly_and_publishes_on_restart(engine: Engine, db_url: str) -> None:
    seed_city(engine)
    backend = Backend(db_url).start()
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, proto.CHANNEL_HEARTBEAT)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(backend.pub)
    try:
        beat = sub.recv_multipart() if sub.poll(10_000) else None
        assert beat is not None and decode(beat[1]).type == proto.HEARTBEAT
        with backend.client("dana") as client:
            with pytest.raises(CommandFailed, match="forbidden"):
                client.command("assign_job", {"job_id": 1, "crew_id": 1, "version": 1}, user="olga")
            reply = client.command(
                "assign_job", {"job_id": 1, "crew_id": 1, "version": 1}, key="same"
            )
            retry = client.command(
                "assign_job", {"job_id": 1, "crew_id": 1, "version": 1}, key="same"
            )
            assert retry["replayed"] and retry["result"] == reply["result"]
    finally:
        sub.close()
    assert backend.stop() == 0
