"""The backend service's socket loop: PUB for deltas and heartbeats, ROUTER for requests.

Endpoints and port convention: ``--bind tcp://HOST:PORT`` binds
  * PUB    on ``tcp://HOST:PORT``    deltas (channel frame ``d``) and heartbeats (``h``)
  * ROUTER on ``tcp://HOST:PORT+1``  snapshot, command, stats and ping requests
so the default ``tcp://127.0.0.1:7700`` gives PUB 7700 and ROUTER 7701.

PUB messages are two frames ``[channel, envelope]``; a console subscribes to
``b""`` (or ``b"d"``/``b"h"``). Requests are one envelope frame from a DEALER
(a REQ-style empty delimiter frame is accepted too); every reply carries the
request's ``msg_id`` as ``parent_id``. A snapshot is answered with
``snapshot_part`` messages and a final ``snapshot_end`` whose ``seq`` is the
snapshot's. Heartbeats and ``snapshot_end`` carry the database's bus identity
(body ``bus``, see :mod:`backend.service.bus_identity`), so a console notices a
backend that came back on another database.

One thread does everything, so commands are applied one at a time in arrival
order; a burst of requests is drained first and its events go out together
as batched ``deltas``. No input can stop the loop: every defect becomes a
structured ``error`` reply (or a counted drop when there is nobody to answer).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import zmq
from sqlalchemy import Engine

from backend.db.engine import WalCheckpointer
from backend.db.watchdog import DEFAULT_DEADLINE_S, HungConnectionWatchdog
from backend.protocol import envelope as proto
from backend.protocol.envelope import Envelope, ProtocolError, decode, encode
from backend.service.alarms import telemetry_tick
from backend.service.auth import Authenticator
from backend.service.bus_identity import bus_identity
from backend.service.entities import consistent_snapshot
from backend.service.processor import CommandProcessor, error
from backend.service.publisher import OutboxPublisher
from backend.service.readings import RAW_KEEP, compact_readings
from backend.service.retention import trim_feed_events

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
#: Entities per ``snapshot_part`` message.
SNAPSHOT_CHUNK = 2000
#: Requests handled before the loop publishes and checks the clock again.
DRAIN = 1000
#: Hard cap enforced by libzmq itself: a peer sending more is disconnected
#: (it never reaches Python). Anything up to it gets a proper ``too_large`` reply.
HARD_MAX = 64 * 1024 * 1024
#: How often (s) the telemetry timer runs: missing-data checks and expired shelves. Readings
#: come once a minute; a shelf's end is honoured within this.
MONITOR_TICK_S = 5.0
#: How often (s) old raw readings are compacted into hours and old feed events trimmed
#: (:mod:`backend.service.retention`), in a background thread.
COMPACT_EVERY_S = 60.0
#: How often (s) to look for events committed by other writers (importers, a second backend).
POLL_OUTBOX_S = 0.25
#: Idempotency keys are kept this long (a client retrying later is a new command)...
KEEP_KEYS = timedelta(hours=24)
#: ...and pruned this often (s).
PRUNE_EVERY_S = 600.0


def endpoints(bind: str) -> tuple[str, str]:
    """``(pub, router)`` endpoints for ``--bind`` (see the module docstring)."""
    parts = urlsplit(bind)
    if parts.scheme != "tcp" or parts.port is None:
        raise ValueError(f"--bind must be tcp://HOST:PORT, got {bind!r}")
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"tcp://{host}:{parts.port}", f"tcp://{host}:{parts.port + 1}"


class BackendService:
    """The running service: owns the sockets, the publisher and the command processor."""

    def __init__(
        self,
        engine: Engine,
        bind: str = "tcp://127.0.0.1:7700",
        authenticator: Authenticator | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        pub_hwm: int = 10_000,
        raw_keep: timedelta = RAW_KEEP,
        db_deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        self.engine = engine
        self.raw_keep = raw_keep
        self._compactor: threading.Thread | None = None
        self.pub_endpoint, self.router_endpoint = endpoints(bind)
        self.heartbeat_s = heartbeat_s
        self.processor = CommandProcessor(engine, authenticator)
        self.counters: Counter[str] = Counter()
        self.started = time.monotonic()
        self.stop_event = threading.Event()
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.router = self.ctx.socket(zmq.ROUTER)
        # Consoles that stop reading must not make the backend buffer without
        # bound: past this many messages PUB drops for that console (it sees the gap).
        self.pub.setsockopt(zmq.SNDHWM, pub_hwm)
        self.router.setsockopt(zmq.MAXMSGSIZE, HARD_MAX)
        self.router.setsockopt(zmq.SNDHWM, 10_000)
        for s in (self.pub, self.router):
            s.setsockopt(zmq.LINGER, 500)
        self.publisher = OutboxPublisher(engine, self.pub)
        self.checkpointer = WalCheckpointer(engine)
        self.watchdog = HungConnectionWatchdog(engine, db_deadline_s)
        #: The database's bus identity, read by :meth:`bind`.
        self.bus_id: str | None = None

    # -- lifecycle -----------------------------------------------------------------

    def bind(self) -> None:
        """Bind both sockets and load the publisher's cursor (raises if a port is taken)."""
        self.pub.bind(self.pub_endpoint)
        self.router.bind(self.router_endpoint)
        self.publisher.load_cursor()
        self.bus_id = bus_identity(self.engine)
        log.info(
            "backend live: PUB %s, ROUTER %s, bus %s, resuming after seq %s",
            self.pub_endpoint,
            self.router_endpoint,
            self.bus_id,
            self.publisher.cursor,
        )

    def stop(self) -> None:
        """Ask the loop to finish (safe from a signal handler or another thread)."""
        self.stop_event.set()

    def close(self) -> None:
        """Close the sockets and the ZeroMQ context."""
        self.pub.close()
        self.router.close()
        self.ctx.term()

    def run(self) -> None:
        """Serve until :meth:`stop`; publishes what is committed before returning."""
        # Batches of thousands of readings are many short-lived containers: with the
        # default thresholds the cyclic collector runs every few hundred of them and
        # re-walks the long-lived start-up objects each time (half the ingest cost).
        # Freeze what exists now and collect young objects less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        self.checkpointer.start()
        self.watchdog.start()  # watches this thread: the one that serves
        try:
            self._serve()
        finally:
            self.watchdog.stop()
            self.checkpointer.stop()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        next_beat = time.monotonic()
        next_outbox = 0.0
        next_prune = time.monotonic()
        next_tick = time.monotonic() + MONITOR_TICK_S
        next_compact = time.monotonic() + COMPACT_EVERY_S
        while not self.stop_event.is_set():
            now = time.monotonic()
            timeout = max(0.0, min(next_beat, next_outbox + POLL_OUTBOX_S) - now)
            events = dict(poller.poll(int(min(timeout, 0.1) * 1000)))
            wrote = False
            if self.router in events:
                for _ in range(DRAIN):
                    try:
                        frames = self.router.recv_multipart(zmq.NOBLOCK, copy=True)
                    except zmq.Again:
                        break
                    wrote |= self.handle(frames)
            now = time.monotonic()
            if now >= next_tick:
                wrote |= self._tick()
                next_tick = now + MONITOR_TICK_S
            if now >= next_compact:
                self._compact()
                next_compact = now + COMPACT_EVERY_S
            if wrote or now >= next_outbox + POLL_OUTBOX_S:
                self._publish()
                next_outbox = now
            if now >= next_beat:
                self._heartbeat()
                next_beat = now + self.heartbeat_s
            if now >= next_prune:
                self._prune()
                next_prune = now + PRUNE_EVERY_S
        self._publish()
        try:
            self.publisher.save_cursor()
        except Exception as exc:
            log.warning("could not save the publisher cursor at shutdown: %s", exc)

    # -- requests ------------------------------------------------------------------

    def handle(self, frames: list[bytes]) -> bool:
        """Answer one ROUTER message; True when it committed a change."""
        self.counters["requests"] += 1
        if len(frames) < 2:
            self._bad("no_payload")  # nobody to answer without an identity and a payload
            return False
        identity, rest = frames[0], frames[1:]
        route = [identity]
        if len(rest) >= 2 and rest[0] == b"":
            route, rest = [identity, b""], rest[1:]
        if len(rest) != 1:
            self._bad("bad_frames")
            self._reply(
                route,
                Envelope(
                    proto.ERROR, _err("bad_frames", f"expected 1 payload frame, got {len(rest)}")
                ),
            )
            return False
        try:
            request = decode(rest[0])
        except ProtocolError as exc:
            self._bad(exc.code)
            self._reply(route, Envelope(proto.ERROR, _err(exc.code, exc.message)))
            return False
        try:
            return self._dispatch(route, request)
        except Exception as exc:  # a bug must cost one request, never the service
            log.exception("request %s failed", request.type)
            self.counters["internal_errors"] += 1
            self._reply(
                route,
                Envelope(
                    proto.ERROR,
                    _err("internal", f"internal error: {exc}"),
                    parent_id=request.msg_id,
                ),
            )
            return False

    def _dispatch(self, route: list[bytes], request: Envelope) -> bool:
        parent = request.msg_id
        if request.type == proto.COMMAND:
            outcome = self.processor.execute(request.body, request.msg_id)
            if outcome.ok:
                self.counters["commands_ok"] += 1
                if outcome.events:
                    # Publish before replying: a client that hears "done" may already
                    # look for the change on the bus.
                    self._publish(outcome.events)
                self._reply(
                    route,
                    Envelope(proto.REPLY, outcome.body, seq=outcome.last_seq, parent_id=parent),
                )
            else:
                self.counters[f"command_error:{outcome.code}"] += 1
                self._reply(route, Envelope(proto.ERROR, outcome.body, parent_id=parent))
            # Published above from memory; only events without that path need a read.
            return outcome.last_seq is not None and not outcome.events
        if request.type == proto.SNAPSHOT:
            self._snapshot(route, request)
            return False
        if request.type == proto.STATS:
            self._reply(
                route,
                Envelope(proto.STATS, self.stats(), seq=self.publisher.cursor, parent_id=parent),
            )
            return False
        if request.type == proto.PING:
            self._reply(
                route, Envelope(proto.PONG, {}, seq=self.publisher.cursor, parent_id=parent)
            )
            return False
        self._bad("unknown_type")
        self._reply(
            route,
            Envelope(
                proto.ERROR,
                _err("unknown_type", f"unknown request type {request.type!r}"),
                parent_id=parent,
            ),
        )
        return False

    def _snapshot(self, route: list[bytes], request: Envelope) -> None:
        prefix = request.body.get("prefix", "")
        if not isinstance(prefix, str):
            self._bad("bad_field")
            self._reply(
                route,
                Envelope(
                    proto.ERROR,
                    _err("bad_field", "snapshot 'prefix' must be a string"),
                    parent_id=request.msg_id,
                ),
            )
            return
        try:
            seq, entities = consistent_snapshot(self.engine, prefix)
        except ValueError as exc:
            self._reply(
                route, Envelope(proto.ERROR, _err("bad_field", str(exc)), parent_id=request.msg_id)
            )
            return
        except Exception as exc:
            log.warning("snapshot failed: %s", exc)
            self.counters["snapshot_errors"] += 1
            self._reply(
                route,
                Envelope(
                    proto.ERROR,
                    _err("unavailable", f"the database is unavailable: {str(exc)[:300]}"),
                    parent_id=request.msg_id,
                ),
            )
            return
        self.counters["snapshots"] += 1
        if seq > self.publisher.cursor:
            # Committed but not yet published (another writer, or events published at
            # the end of this drain): send them first, so the bus announces the
            # snapshot's seq before the snapshot arrives and a console can tell a later
            # backend on a rewound database by its lower heartbeat seq.
            self._publish()
        for start in range(0, len(entities), SNAPSHOT_CHUNK):
            chunk = [[t, s] for t, s in entities[start : start + SNAPSHOT_CHUNK]]
            self._reply(
                route,
                Envelope(
                    proto.SNAPSHOT_PART,
                    {"entities": chunk, "prefix": prefix},
                    seq=seq,
                    parent_id=request.msg_id,
                ),
            )
        self._reply(
            route,
            Envelope(
                proto.SNAPSHOT_END,
                {"count": len(entities), "prefix": prefix, "bus": self.bus_id},
                seq=seq,
                parent_id=request.msg_id,
            ),
        )

    def _reply(self, route: list[bytes], envelope: Envelope) -> None:
        try:
            self.router.send_multipart([*route, encode(envelope)], zmq.NOBLOCK)
        except zmq.Again:
            self.counters["replies_dropped"] += 1  # that client is not reading

    def _bad(self, code: str) -> None:
        self.counters["bad_input"] += 1
        self.counters[f"bad_input:{code}"] += 1

    # -- publishing ----------------------------------------------------------------

    def _publish(self, committed: list[dict[str, Any]] | None = None) -> None:
        try:
            if committed:
                self.publisher.publish_committed(committed)
            else:
                self.publisher.publish_pending()
        except Exception as exc:  # database down: keep serving, retry on the next turn
            self.counters["publish_errors"] += 1
            log.warning("publishing the outbox failed (will retry): %s", exc)

    def _tick(self) -> bool:
        """The telemetry timer, through the command path; True when it committed events."""
        try:
            outcome = self.processor.run_internal("telemetry_tick", telemetry_tick)
        except Exception:  # a bug must cost one tick, never the service
            log.exception("telemetry tick failed")
            self.counters["internal_errors"] += 1
            return False
        if not outcome.ok:
            self.counters[f"tick_error:{outcome.code}"] += 1
        if outcome.events:
            self._publish(outcome.events)
        return False

    def _compact(self) -> None:
        """Start a compaction pass in the background unless one is still running."""
        if self._compactor is not None and self._compactor.is_alive():
            return

        def run() -> None:
            try:
                done = compact_readings(self.engine, keep=self.raw_keep)
                self.counters["compacted_hours"] += done.hours
                self.counters["compacted_readings"] += done.raw_rows
                trim = trim_feed_events(self.engine, self.raw_keep, publisher=self.publisher.name)
                self.counters["trimmed_feed_events"] += trim.events
            except Exception as exc:  # database down or busy: the next pass tries again
                log.warning("compacting readings failed: %s", exc)

        self._compactor = threading.Thread(target=run, name="compact-readings", daemon=True)
        self._compactor.start()

    def _prune(self) -> None:
        try:
            self.counters["keys_pruned"] += self.processor.prune_command_log(KEEP_KEYS)
        except Exception as exc:  # database down: try again next time
            log.warning("pruning idempotency keys failed: %s", exc)

    def _heartbeat(self) -> None:
        beat = Envelope(
            proto.HEARTBEAT,
            {
                "uptime_s": round(time.monotonic() - self.started, 1),
                # Enough for a status bar; the full counters come from a ``stats`` request.
                "bad_input": self.counters["bad_input"],
                "errors": self.counters["internal_errors"] + self.counters["publish_errors"],
                "bus": self.bus_id,
            },
            seq=self.publisher.cursor,
        )
        self.pub.send_multipart([proto.CHANNEL_HEARTBEAT, encode(beat)])

    def stats(self) -> dict[str, Any]:
        """Counters for the ``stats`` request: requests, errors by code, bad input, publishing."""
        return {
            "counters": dict(self.counters),
            "published_events": self.publisher.published_events,
            "published_batches": self.publisher.published_batches,
            "published_changes": self.publisher.published_changes,
            "seq": self.publisher.cursor,
            "uptime_s": round(time.monotonic() - self.started, 1),
        }


def _err(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return error(code, message, details).body
