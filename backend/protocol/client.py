"""A synchronous request client for the ROUTER socket: commands, snapshots, stats.

Used by scripts, the simulator and tests (the console's live client does the
same over its own I/O thread). Retries follow the ZeroMQ Guide's "Lazy
Pirate": on a timeout the DEALER is closed and reopened (dropping any late
reply) and the request is sent again with the *same idempotency key*, so a
command whose reply was lost is not applied twice.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import zmq

from backend.protocol import envelope as proto
from backend.protocol.envelope import Envelope, ProtocolError, decode, encode


class CommandFailed(Exception):
    """The service refused a command: ``code`` (``conflict``, ``forbidden``...) and message."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class BusTimeout(Exception):
    """No reply after every retry: the backend is down or unreachable."""


class CommandClient:
    """Blocking request/reply over one DEALER to the service's ROUTER endpoint."""

    def __init__(
        self,
        router_endpoint: str,
        user: str | None = None,
        timeout_s: float = 5.0,
        retries: int = 3,
        context: zmq.Context | None = None,
    ) -> None:
        self.endpoint = router_endpoint
        self.user = user
        self.timeout_s = timeout_s
        self.retries = retries
        self.ctx = context or zmq.Context.instance()
        self.socket = self._open()

    def _open(self) -> zmq.Socket:
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        return s

    def close(self) -> None:
        """Close the socket (not the shared context)."""
        self.socket.close(linger=0)

    def __enter__(self) -> CommandClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, frames: list[bytes]) -> None:
        """Send arbitrary frames (for robustness tests); no reply is awaited."""
        self.socket.send_multipart(frames)

    def recv(self, timeout_s: float | None = None) -> Envelope | None:
        """The next reply envelope, or None after ``timeout_s``."""
        if not self.socket.poll(int((timeout_s or self.timeout_s) * 1000)):
            return None
        return decode(self.socket.recv())

    def _request(self, request: Envelope, stream_until: str | None = None) -> list[Envelope]:
        attempts = 0
        while True:
            self.socket.send(encode(request))
            replies: list[Envelope] = []
            deadline = time.monotonic() + self.timeout_s
            while (left := deadline - time.monotonic()) > 0:
                if not self.socket.poll(int(left * 1000) + 1):
                    break
                try:
                    reply = decode(self.socket.recv())
                except ProtocolError:
                    continue
                if reply.parent_id != request.msg_id:
                    continue  # a late answer to an earlier, timed-out attempt
                replies.append(reply)
                if stream_until is None or reply.type in (stream_until, proto.ERROR):
                    return replies
                deadline = time.monotonic() + self.timeout_s
            attempts += 1
            if attempts > self.retries:
                raise BusTimeout(f"no reply from {self.endpoint} after {attempts} attempts")
            self.socket.close(linger=0)
            self.socket = self._open()

    def request(self, type_: str, body: dict[str, Any] | None = None) -> Envelope:
        """Send one request and return its reply envelope."""
        return self._request(Envelope(type_, body or {}))[-1]

    def command(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        key: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Run a command; returns the reply body (``result``, ``seq``, ``replayed``).

        Raises :class:`CommandFailed` on an error reply and :class:`BusTimeout`
        when the backend never answers. Without a ``key`` a fresh one is made,
        and reused by the retries of this call.
        """
        body = {
            "name": name,
            "user": user or self.user,
            "key": key or uuid.uuid4().hex,
            "args": args or {},
        }
        reply = self._request(Envelope(proto.COMMAND, body))[-1]
        if reply.type == proto.ERROR:
            raise CommandFailed(
                str(reply.body.get("code")),
                str(reply.body.get("message")),
                reply.body.get("details") or {},
            )
        return reply.body

    def snapshot(self, prefix: str = "") -> tuple[int, dict[str, dict[str, Any]]]:
        """``(seq, {topic: state})`` for the whole city or a topic prefix."""
        replies = self._request(Envelope(proto.SNAPSHOT, {"prefix": prefix}), proto.SNAPSHOT_END)
        end = replies[-1]
        if end.type == proto.ERROR:
            raise CommandFailed(str(end.body.get("code")), str(end.body.get("message")))
        entities: dict[str, dict[str, Any]] = {}
        for part in replies[:-1]:
            for t, state in part.body["entities"]:
                entities[t] = state
        return int(end.seq or 0), entities

    def stats(self) -> dict[str, Any]:
        """The service's counters."""
        return self.request(proto.STATS).body
