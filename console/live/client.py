"""The live client: ZeroMQ I/O on its own thread, keeping a :class:`Replica` current.

Start-up follows the Clone pattern: subscribe to the PUB socket first (and
hold the deltas), then ask the ROUTER for a snapshot over a DEALER, load it,
and apply the held deltas after the snapshot's seq. Afterwards:

* a gap in the deltas (or a heartbeat announcing a seq the replica has not
  seen) triggers a fresh snapshot;
* so does a backend that came back on another database: a heartbeat with a
  bus identity other than the snapshot's (a fresh database), or with a seq
  below the highest this bus has already announced (a restore from an older
  backup keeps the identity but rewinds the seqs);
* silence longer than ``stale_after`` marks the link *stale* (the last
  picture stays, marked stale); longer than ``reconnect_after`` makes the
  client drop and reopen both sockets and re-snapshot (*reconnecting*) until
  the backend answers again.

Callbacks run on the I/O thread; the Qt adapter moves them to the GUI thread.
Commands can be submitted from any thread and resolve a ``Future``.
"""

from __future__ import annotations

import enum
import gc
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import zmq

from backend.protocol import envelope as proto
from backend.protocol.envelope import Envelope, ProtocolError, batch_events, decode, encode
from console.live.replica import Replica

log = logging.getLogger(__name__)


class LinkState(enum.Enum):
    """The link to the backend as the operator sees it."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """Link state, seconds since the backend was last heard, and the replica's seq."""

    state: LinkState
    silent_s: float
    seq: int

    def label(self) -> str:
        """A status-bar text: ``live``, ``stale for 4 s``, ``reconnecting (no data for 9 s)``."""
        if self.state is LinkState.STALE:
            return f"stale for {self.silent_s:.0f} s"
        if self.state is LinkState.RECONNECTING:
            return f"reconnecting (no data for {self.silent_s:.0f} s)"
        return self.state.value


ChangeCallback = Callable[[frozenset[str], int], None]
HealthCallback = Callable[[LinkHealth], None]


def settle_gc() -> None:
    """Freeze the long-lived replica out of the cyclic collector's way.

    A city-sized replica is tens of thousands of dicts; every delta makes
    thousands of young objects, and with default thresholds full collections
    re-walk the whole replica (40-86 ms pauses measured: the p99 of fault to
    console). Plain entity maps hold no cycles, so reference counting still
    frees what a later snapshot replaces. The backend does the same at start.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def router_endpoint(pub_endpoint: str) -> str:
    """The ROUTER endpoint next to a PUB endpoint (port + 1, the service's convention)."""
    head, _, port = pub_endpoint.rpartition(":")
    return f"{head}:{int(port) + 1}"


class LiveClient:
    """Owns the SUB and DEALER sockets on a background thread and keeps :attr:`replica` current."""

    def __init__(
        self,
        pub_endpoint: str,
        user: str | None = None,
        prefix: str = "",
        on_changes: ChangeCallback | None = None,
        on_health: HealthCallback | None = None,
        stale_after: float = 3.0,
        reconnect_after: float = 6.0,
        request_timeout: float = 5.0,
        rcvhwm: int = 10_000,
        tune_gc: bool = True,
        feed_endpoint: str | None = None,
    ) -> None:
        self.pub_endpoint = pub_endpoint
        self.router_endpoint = router_endpoint(pub_endpoint)
        #: Where deltas and heartbeats come from: the backend's PUB, or a feed relay's
        #: (``main.py relay``); snapshots and commands always go to the backend.
        self.feed_endpoint = feed_endpoint or pub_endpoint
        self.user = user
        self.replica = Replica(prefix)
        self.on_changes = on_changes
        self.on_health = on_health
        self.stale_after = stale_after
        self.reconnect_after = reconnect_after
        self.request_timeout = request_timeout
        self.rcvhwm = rcvhwm
        self.tune_gc = tune_gc
        self.snapshots = 0
        self.reconnects = 0
        self.bad_messages = 0
        #: Re-snapshots because the backend came back on another or a rewound database.
        self.bus_resets = 0
        self._ctx = zmq.Context()
        self._outbox: queue.Queue[tuple[Envelope, Future[Envelope]]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-client", daemon=True)
        self._health = LinkHealth(LinkState.CONNECTING, 0.0, 0)
        # I/O-thread state
        self._sub: zmq.Socket | None = None
        self._dealer: zmq.Socket | None = None
        self._last_heard = time.monotonic()
        self._snap_id: str | None = None
        self._snap_deadline = 0.0
        self._snap_parts: list[list[Any]] = []
        self._held: list[list[dict[str, Any]]] = []
        self._pending: dict[str, tuple[Future[Envelope], float]] = {}
        self._reconnecting = False
        #: The bus identity of the loaded snapshot (None from a backend that sends none).
        self._bus: str | None = None
        #: The highest seq heard on the PUB stream (heartbeats and deltas). Not the
        #: replica's seq: a snapshot travels on another connection than the heartbeats,
        #: so a heartbeat sent before a snapshot can arrive after it, with a lower seq.
        #: On one PUB stream seqs only grow, across backend restarts on one database too
        #: (a restarted backend publishes its backlog before its first heartbeat).
        self._bus_seq = 0

    # -- public API (any thread) ---------------------------------------------------

    @property
    def health(self) -> LinkHealth:
        """The newest link health."""
        return self._health

    def start(self) -> LiveClient:
        """Start the I/O thread."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the I/O thread and close the sockets."""
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._ctx.term()

    def request(self, type_: str, body: dict[str, Any]) -> Future[Envelope]:
        """Send a request on the I/O thread; the future resolves to the reply envelope."""
        future: Future[Envelope] = Future()
        self._outbox.put((Envelope(type_, body), future))
        os.write(self._wake_w, b"x")
        return future

    def command(
        self, name: str, args: dict[str, Any], key: str | None = None, user: str | None = None
    ) -> Future[Envelope]:
        """Send a command (an idempotency key is made when none is given)."""
        body = {
            "name": name,
            "user": user or self.user,
            "key": key or uuid.uuid4().hex,
            "args": args,
        }
        return self.request(proto.COMMAND, body)

    def resnapshot(self) -> None:
        """Ask for a fresh snapshot (e.g. after the user asks to resync)."""
        self._force_snapshot = True
        os.write(self._wake_w, b"x")

    # -- I/O thread ----------------------------------------------------------------

    _force_snapshot = False

    def _open(self) -> None:
        self._close()
        sub = self._ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, self.rcvhwm)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(self.feed_endpoint)
        self._sub = sub
        self._open_dealer()

    def _open_dealer(self) -> None:
        if self._dealer is not None:
            self._dealer.close(linger=0)
        dealer = self._ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(self.router_endpoint)
        self._dealer = dealer

    def _close(self) -> None:
        for s in (self._sub, self._dealer):
            if s is not None:
                s.close(linger=0)
        self._sub = self._dealer = None

    def _request_snapshot(self) -> None:
        assert self._dealer is not None
        request = Envelope(proto.SNAPSHOT, {"prefix": self.replica.prefix})
        self._snap_id = request.msg_id
        self._snap_parts = []
        self._held = []
        self._snap_deadline = time.monotonic() + self.request_timeout
        self._dealer.send(encode(request))

    def _run(self) -> None:
        try:
            self._open()
            self._request_snapshot()
            self._last_heard = time.monotonic()
            while not self._stop.is_set():
                self._turn()
        except Exception:
            log.exception("live client I/O thread failed")
        finally:
            self._close()
            for future, _ in self._pending.values():
                future.cancel()

    def _turn(self) -> None:
        assert self._sub is not None and self._dealer is not None
        poller = zmq.Poller()
        poller.register(self._sub, zmq.POLLIN)
        poller.register(self._dealer, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        ready = dict(poller.poll(100))
        if self._wake_r in ready:
            os.read(self._wake_r, 4096)
        if self._force_snapshot:
            self._force_snapshot = False
            self._request_snapshot()
        self._send_outbox()
        if self._sub in ready:
            for _ in range(1000):
                try:
                    frames = self._sub.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._on_pub(frames)
        if self._dealer in ready:
            for _ in range(1000):
                try:
                    payload = self._dealer.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._on_reply(payload)
        self._timers()

    def _send_outbox(self) -> None:
        assert self._dealer is not None
        while True:
            try:
                request, future = self._outbox.get_nowait()
            except queue.Empty:
                break
            if not future.set_running_or_notify_cancel():
                continue  # cancelled before it was sent
            self._pending[request.msg_id] = (future, time.monotonic() + self.request_timeout)
            self._dealer.send(encode(request))

    def _on_pub(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            self.bad_messages += 1
            return
        try:
            message = decode(frames[1], max_size=1 << 30)
            events = batch_events(message) if message.type == proto.DELTAS else None
        except ProtocolError as exc:
            self.bad_messages += 1
            log.warning("dropping a bad PUB message: %s", exc.message)
            return
        self._last_heard = time.monotonic()
        if events:
            # Deltas may repeat older seqs (a restarted backend re-sends a few): only
            # heartbeats are checked against this, never deltas.
            self._bus_seq = max(self._bus_seq, int(events[-1]["seq"]))
        if self._snap_id is not None:
            if events:
                self._held.append(events)
            return
        if events is not None:
            self._apply(events)
        elif message.type == proto.HEARTBEAT:
            self._on_heartbeat(message)
        self._update_health()

    def _on_heartbeat(self, beat: Envelope) -> None:
        """Re-snapshot when the heartbeat shows a lost delta or another (or rewound) database."""
        seq = beat.seq
        bus = beat.body.get("bus")
        if isinstance(bus, str) and self._bus is not None and bus != self._bus:
            log.info("bus %s replaced bus %s (another database): re-snapshot", bus, self._bus)
            self.bus_resets += 1
            self._request_snapshot()
        elif seq is not None and seq < self._bus_seq:
            log.info("bus rewound from seq %s to %s: re-snapshot", self._bus_seq, seq)
            self.bus_resets += 1
            self._request_snapshot()
        elif seq is not None and seq > self.replica.seq:
            # Everything up to the heartbeat's seq was sent before it: we lost some.
            log.info("heartbeat at seq %s, replica at %s: re-snapshot", seq, self.replica.seq)
            self.replica.gaps += 1
            self._request_snapshot()
        if seq is not None:
            self._bus_seq = seq  # after a reset, the new bus's seqs are the measure

    def _apply(self, events: list[dict[str, Any]]) -> None:
        result = self.replica.apply(events)
        if self.on_changes is not None:  # ``changed`` builds topic strings: only for a listener
            changed = result.changed
            if changed:
                self.on_changes(changed, self.replica.seq)
        if result.gap is not None:
            log.info("gap: expected seq %s, got %s: re-snapshot", *result.gap)
            self._request_snapshot()

    def _on_reply(self, payload: bytes) -> None:
        try:
            reply = decode(payload, max_size=1 << 30)
        except ProtocolError:
            self.bad_messages += 1
            return
        self._last_heard = time.monotonic()
        if self._snap_id is not None and reply.parent_id == self._snap_id:
            if reply.type == proto.SNAPSHOT_PART:
                self._snap_parts.extend(reply.body.get("entities", []))
            elif reply.type == proto.SNAPSHOT_END:
                bus = reply.body.get("bus")
                self._bus = bus if isinstance(bus, str) else None
                self._finish_snapshot(int(reply.seq or 0))
            else:  # an error (e.g. database down): try again after the timeout
                log.warning("snapshot refused: %s", reply.body.get("message"))
            return
        pending = self._pending.pop(reply.parent_id or "", None)
        if pending is not None and not pending[0].done():
            pending[0].set_result(reply)

    def _finish_snapshot(self, seq: int) -> None:
        changed = set(self.replica.load_snapshot(seq, ((t, s) for t, s in self._snap_parts)))
        if self.tune_gc:
            settle_gc()
        held, self._held = self._held, []
        self._snap_id = None
        self._snap_parts = []
        self._reconnecting = False
        self.snapshots += 1
        for events in held:
            result = self.replica.apply(events)
            if self.on_changes is not None:
                changed |= result.changed
            if result.gap is not None:
                self._request_snapshot()
                break
        if changed and self.on_changes:
            self.on_changes(frozenset(changed), self.replica.seq)
        self._update_health()

    def _timers(self) -> None:
        now = time.monotonic()
        for msg_id, (future, deadline) in list(self._pending.items()):
            if now > deadline:
                del self._pending[msg_id]
                if not future.done():
                    future.set_exception(TimeoutError(f"no reply from {self.router_endpoint}"))
        silent = now - self._last_heard
        if silent > self.reconnect_after and (not self._reconnecting or now > self._snap_deadline):
            # Tear down and reopen: a fresh TCP connection and a fresh snapshot.
            self.reconnects += 1
            self._reconnecting = True
            self._open()
            self._request_snapshot()
        elif self._snap_id is not None and now > self._snap_deadline:
            # The snapshot reply is lost (Lazy Pirate): new DEALER, ask again.
            self._open_dealer()
            self._request_snapshot()
        self._update_health()

    def _update_health(self) -> None:
        silent = time.monotonic() - self._last_heard
        if self._reconnecting:
            state = LinkState.RECONNECTING
        elif not self.replica.loaded:
            state = LinkState.CONNECTING
        elif silent > self.stale_after:
            state = LinkState.STALE
        else:
            state = LinkState.LIVE
        health = LinkHealth(state, silent, self.replica.seq)
        previous = self._health
        self._health = health
        if self.on_health and (
            previous.state is not state
            or int(previous.silent_s) != int(silent)
            or previous.seq != health.seq
        ):
            self.on_health(health)
