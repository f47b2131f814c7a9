"""The bus identity: made once per database, kept, and announced by the running backend."""

from __future__ import annotations

import threading
from pathlib import Path

import zmq
from sqlalchemy import Engine, func, select

from backend.db.engine import make_engine
from backend.db.migrate import upgrade
from backend.db.models import BusCursor
from backend.protocol import envelope as proto
from backend.protocol.envelope import Envelope, decode, encode
from backend.service.bus_identity import IDENTITY_ROW, bus_identity
from tests.backend.service.helpers import running_backend
from tests.backend.service.seed import seed_city


def test_one_identity_per_database_kept_and_distinct(engine: Engine, tmp_path: Path) -> None:
    found: list[str] = []
    # Backends starting together on a new database agree on one identity.
    threads = [threading.Thread(target=lambda: found.append(bus_identity(engine))) for _ in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(found) == 2 and found[0] == found[1]
    assert len(found[0]) == 16 and int(found[0], 16) > 0
    assert bus_identity(engine) == found[0]
    with engine.connect() as conn:
        rows = conn.execute(
            select(func.count()).select_from(BusCursor).where(BusCursor.name == IDENTITY_ROW)
        ).scalar_one()
    assert rows == 1
    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite'}")
    try:
        upgrade(other)
        assert bus_identity(other) != found[0]
    finally:
        other.dispose()


def test_heartbeats_and_snapshot_ends_announce_the_identity(engine: Engine, db_url: str) -> None:
    seed_city(engine)
    with running_backend(db_url) as backend:
        identity = bus_identity(engine)  # made by the backend at start
        sub: zmq.Socket = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, proto.CHANNEL_HEARTBEAT)
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(backend.pub)
        try:
            assert sub.poll(10_000)
            beat = decode(sub.recv_multipart()[1])
        finally:
            sub.close()
        assert beat.type == proto.HEARTBEAT and beat.body["bus"] == identity
        with backend.client() as client:
            client.send_raw([encode(Envelope(proto.SNAPSHOT, {"prefix": ""}))])
            reply = client.recv()
            while reply is not None and reply.type == proto.SNAPSHOT_PART:
                reply = client.recv()
        assert reply is not None and reply.type == proto.SNAPSHOT_END
        assert reply.body["bus"] == identity
