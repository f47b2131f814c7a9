"""The client's re-snapshot rules against a scripted bus: exact heartbeats, no timing luck.

A real backend cannot be made to send a heartbeat that looks stale, or one
without a bus identity (as a backend from before it did); this stand-in, real
PUB and ROUTER sockets driven by the test, can. The rules under test:
another identity or a seq below the highest the bus announced means another
database (re-snapshot); a heartbeat below the *snapshot's* seq alone does not
(it may have been sent before the snapshot and overtaken by it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import zmq

from backend.protocol import envelope as proto
from backend.protocol.envelope import Envelope, decode, deltas, encode, event_map
from console.live import LiveClient
from tests.backend.service.helpers import free_port_pair

Entities = dict[str, dict[str, Any]]


class ScriptedBus:
    """PUB and ROUTER on the service's ports; answers snapshots and beats from set state."""

    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.router = self.ctx.socket(zmq.ROUTER)
        port = free_port_pair()
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.pub.bind(self.endpoint)
        self.router.bind(f"tcp://127.0.0.1:{port + 1}")
        #: What a snapshot request gets: seq, entities, bus identity (None: no field).
        self.snapshot: tuple[int, Entities, str | None] = (0, {}, None)
        #: What each heartbeat says: seq, bus identity (None: no field).
        self.beat: tuple[int, str | None] = (0, None)
        self.snapshot_requests = 0

    def close(self) -> None:
        self.pub.close(linger=0)
        self.router.close(linger=0)
        self.ctx.term()

    def _body(self, bus: str | None, **fields: Any) -> dict[str, Any]:
        return fields if bus is None else {**fields, "bus": bus}

    def pump(self, seconds: float = 10.0, until: Callable[[], bool] | None = None) -> bool:
        """Answer requests and beat every 20 ms for ``seconds`` or until ``until()``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until is not None and until():
                return True
            while self.router.poll(0):
                identity, payload = self.router.recv_multipart()
                request = decode(payload)
                if request.type == proto.SNAPSHOT:
                    self.snapshot_requests += 1
                    seq, entities, bus = self.snapshot
                    part = {"entities": [[t, s] for t, s in entities.items()], "prefix": ""}
                    end = self._body(bus, count=len(entities), prefix="")
                    for type_, body in ((proto.SNAPSHOT_PART, part), (proto.SNAPSHOT_END, end)):
                        reply = Envelope(type_, body, seq=seq, parent_id=request.msg_id)
                        self.router.send_multipart([identity, encode(reply)])
            seq, bus = self.beat
            beat = Envelope(proto.HEARTBEAT, self._body(bus, uptime_s=1.0), seq=seq)
            self.pub.send_multipart([proto.CHANNEL_HEARTBEAT, encode(beat)])
            time.sleep(0.02)
        return until is not None and until()

    def publish(self, seq: int, topic: str, state: dict[str, Any]) -> None:
        event = event_map(seq, "test.changed", topic, datetime.now(UTC), {"entity": state})
        self.pub.send_multipart([proto.CHANNEL_DELTAS, encode(deltas([event]))])


@pytest.fixture
def bus() -> Iterator[ScriptedBus]:
    scripted = ScriptedBus()
    yield scripted
    scripted.close()


@pytest.fixture
def client(bus: ScriptedBus) -> Iterator[LiveClient]:
    live = LiveClient(bus.endpoint, stale_after=600, reconnect_after=600, tune_gc=False).start()
    yield live
    live.stop()


def holds(client: LiveClient, seq: int, entities: Entities) -> Callable[[], bool]:
    return lambda: client.replica.copy() == (seq, entities)


def test_heartbeats_behind_the_snapshot_are_not_a_new_database(
    bus: ScriptedBus, client: LiveClient
) -> None:
    a = {"job/1": {"id": 1, "state": "open"}}
    bus.snapshot, bus.beat = (10, a, "aaaa"), (7, "aaaa")
    assert bus.pump(until=holds(client, 10, a))
    bus.pump(0.5)  # beats at 7 after a snapshot at 10: sent before it, overtaken by it
    assert client.bus_resets == 0 and bus.snapshot_requests == 1
    bus.publish(11, "job/1", {"id": 1, "state": "done"})
    bus.beat = (11, "aaaa")
    assert bus.pump(until=holds(client, 11, {"job/1": {"id": 1, "state": "done"}}))
    bus.pump(0.3)
    assert client.bus_resets == 0 and bus.snapshot_requests == 1


def test_another_identity_then_a_rewound_seq_each_reload(
    bus: ScriptedBus, client: LiveClient
) -> None:
    a = {"job/1": {"id": 1, "state": "open"}}
    bus.snapshot, bus.beat = (10, a, "aaaa"), (10, "aaaa")
    assert bus.pump(until=holds(client, 10, a))
    # A fresh database: a higher seq would be caught anyway, an equal one only by identity.
    b = {"job/2": {"id": 2, "state": "open"}}
    bus.snapshot, bus.beat = (10, b, "bbbb"), (10, "bbbb")
    assert bus.pump(until=holds(client, 10, b))
    assert client.bus_resets == 1 and bus.snapshot_requests == 2
    # The same database restored from an older backup: same identity, lower seq.
    older = {"job/2": {"id": 2, "state": "new"}}
    bus.snapshot, bus.beat = (4, older, "bbbb"), (4, "bbbb")
    assert bus.pump(until=holds(client, 4, older))
    assert client.bus_resets == 2 and bus.snapshot_requests == 3
    bus.pump(0.3)  # and it settles there
    assert client.bus_resets == 2 and bus.snapshot_requests == 3


def test_a_backend_without_identity_is_followed_and_its_rewind_still_caught(
    bus: ScriptedBus, client: LiveClient
) -> None:
    a = {"job/1": {"id": 1, "state": "open"}}
    bus.snapshot, bus.beat = (10, a, None), (10, None)
    assert bus.pump(until=holds(client, 10, a))
    bus.pump(0.3)
    assert client.bus_resets == 0 and bus.snapshot_requests == 1
    older = {"job/1": {"id": 1, "state": "new"}}
    bus.snapshot, bus.beat = (3, older, None), (3, None)
    assert bus.pump(until=holds(client, 3, older))
    assert client.bus_resets == 1
