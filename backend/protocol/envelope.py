"""The one envelope every live-bus message travels in, and its binary encoding.

Fields: ``v`` (protocol version), ``type``, ``seq`` (the outbox sequence the
message speaks for, or ``None``), ``msg_id``, ``parent_id`` (the request a
reply answers, or the command an event came from), ``ts`` (timezone-aware),
``topic`` (``asset/<id>`` ... or ``None``) and ``body`` (a map).

Encoding: msgpack. It is compact (small ints take one byte, no field-name
quoting), fast in both directions (C extension), schemaless maps so an old
console can skip fields a newer backend adds, carries bytes (WKB geometry)
without base64, and has a standard timestamp extension type (-1) that keeps
datetimes exact and timezone-aware (UTC) instead of ad-hoc ISO strings.

Every decode is defensive: this module turns any malformed frame into a
:class:`ProtocolError` with a stable ``code``, never another exception, so the
service can answer it and keep running.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgpack

PROTOCOL_VERSION = 1
#: The largest request payload the service accepts (bytes); bigger ones get ``too_large``.
MAX_PAYLOAD = 4 * 1024 * 1024

# Message types.
DELTAS = "deltas"  # PUB: a batch of committed events, in seq order
HEARTBEAT = "heartbeat"  # PUB: about once a second, the newest published seq, body {"bus": id}
SNAPSHOT = "snapshot"  # request: body {"prefix": "job/" | "" }
SNAPSHOT_PART = "snapshot_part"  # reply: body {"entities": [[topic, state], ...]}
SNAPSHOT_END = "snapshot_end"  # reply: seq = the snapshot's seq, body {"count": n, "bus": id}
COMMAND = "command"  # request: body {"name", "user", "key", "args"}
REPLY = "reply"  # reply to a command: body {"result": ..., "replayed": bool}
ERROR = "error"  # reply: body {"code", "message", "details"}
STATS = "stats"  # request/reply: the service's counters
PING = "ping"
PONG = "pong"

# ``bus`` is the database's bus identity (backend.service.bus_identity); a console reading
# another one re-snapshots. Backends before it sent none: readers treat it as optional.

#: The frame that prefixes each PUB message, so SUB sockets can filter by channel.
CHANNEL_DELTAS = b"d"
CHANNEL_HEARTBEAT = b"h"

_MSG_ID_MAX = 64


class ProtocolError(Exception):
    """A message that breaks the protocol; ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def new_msg_id() -> str:
    """A fresh message id (32 hex characters)."""
    return uuid.uuid4().hex


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Envelope:
    """One message on the bus (see the module docstring for the fields)."""

    type: str
    body: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None
    topic: str | None = None
    msg_id: str = field(default_factory=new_msg_id)
    parent_id: str | None = None
    ts: datetime = field(default_factory=now)
    v: int = PROTOCOL_VERSION

    def to_map(self) -> dict[str, Any]:
        """The envelope as a plain map (what :func:`encode` packs)."""
        return {
            "v": self.v,
            "type": self.type,
            "seq": self.seq,
            "msg_id": self.msg_id,
            "parent_id": self.parent_id,
            "ts": self.ts,
            "topic": self.topic,
            "body": self.body,
        }


def pack(obj: Any) -> bytes:
    """msgpack with bin type and timezone-aware datetimes (a naive one raises ValueError)."""
    return msgpack.packb(obj, use_bin_type=True, datetime=True)


def unpack(data: bytes) -> Any:
    """Unpack msgpack; timestamps come back as timezone-aware UTC datetimes."""
    return msgpack.unpackb(data, raw=False, timestamp=3, strict_map_key=False)


def encode(envelope: Envelope) -> bytes:
    """Encode an envelope; a naive ``ts`` or datetime in the body is refused (ValueError)."""
    if envelope.ts.tzinfo is None or envelope.ts.utcoffset() is None:
        raise ValueError("envelope ts must be timezone-aware")
    return pack(envelope.to_map())


def _check(value: Any, types: type | tuple[type, ...], name: str, optional: bool) -> None:
    if value is None and optional:
        return
    # bool is an int in Python but never a valid seq or version on the wire.
    if isinstance(value, bool) or not isinstance(value, types):
        expected = (
            types.__name__ if isinstance(types, type) else "/".join(t.__name__ for t in types)
        )
        raise ProtocolError(
            "bad_field", f"field {name!r} must be {expected}, got {type(value).__name__}"
        )


def decode(data: bytes, max_size: int = MAX_PAYLOAD) -> Envelope:
    """Decode and validate one envelope; any defect raises :class:`ProtocolError`."""
    if len(data) > max_size:
        raise ProtocolError("too_large", f"payload of {len(data)} bytes exceeds {max_size}")
    try:
        raw = unpack(data)
    except Exception as exc:  # msgpack raises several unrelated types for garbage
        raise ProtocolError("bad_encoding", f"not a msgpack message: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_envelope", f"envelope must be a map, got {type(raw).__name__}")
    version = raw.get("v")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError("bad_envelope", "envelope has no integer protocol version 'v'")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_version",
            f"protocol version {version} is not supported (this side speaks {PROTOCOL_VERSION})",
        )
    _check(raw.get("type"), str, "type", optional=False)
    _check(raw.get("msg_id"), str, "msg_id", optional=False)
    _check(raw.get("parent_id"), str, "parent_id", optional=True)
    _check(raw.get("seq"), int, "seq", optional=True)
    _check(raw.get("topic"), str, "topic", optional=True)
    _check(raw.get("ts"), datetime, "ts", optional=False)
    body = raw.get("body", {})
    _check(body, dict, "body", optional=False)
    if len(raw["msg_id"]) > _MSG_ID_MAX or not raw["msg_id"]:
        raise ProtocolError("bad_field", f"msg_id must be 1..{_MSG_ID_MAX} characters")
    return Envelope(
        type=raw["type"],
        body=body,
        seq=raw.get("seq"),
        topic=raw.get("topic"),
        msg_id=raw["msg_id"],
        parent_id=raw.get("parent_id"),
        ts=raw["ts"],
        v=version,
    )


def event_map(
    seq: int,
    type_: str,
    topic: str,
    ts: datetime,
    body: dict[str, Any],
    actor: str | None = None,
    msg_id: str | None = None,
    parent_id: str | None = None,
) -> dict[str, Any]:
    """One committed event as it rides inside a ``deltas`` batch."""
    return {
        "seq": seq,
        "type": type_,
        "topic": topic,
        "ts": ts,
        "actor": actor,
        "msg_id": msg_id,
        "parent_id": parent_id,
        "body": body,
    }


def deltas(events: list[dict[str, Any]]) -> Envelope:
    """A batch of events (consecutive seqs, oldest first) as one envelope; seq = the last."""
    if not events:
        raise ValueError("a deltas batch needs at least one event")
    return Envelope(
        type=DELTAS, seq=events[-1]["seq"], body={"first": events[0]["seq"], "events": events}
    )


def batch_events(envelope: Envelope) -> list[dict[str, Any]]:
    """The validated events of a ``deltas`` envelope (consecutive seqs)."""
    events = envelope.body.get("events")
    if not isinstance(events, list) or not events:
        raise ProtocolError("bad_field", "deltas body needs a non-empty 'events' list")
    expected: int | None = None
    for item in events:
        if not isinstance(item, dict):
            raise ProtocolError("bad_field", "each event must be a map")
        seq = item.get("seq")
        _check(seq, int, "event.seq", optional=False)
        _check(item.get("topic"), str, "event.topic", optional=False)
        _check(item.get("type"), str, "event.type", optional=False)
        _check(item.get("body"), dict, "event.body", optional=False)
        if expected is not None and seq != expected:
            raise ProtocolError("bad_field", f"events not consecutive: {seq} after {expected - 1}")
        expected = int(item["seq"]) + 1
    return events
