"""The envelope: round trips, timezone-aware times, batches, and every kind of malformed frame."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone

import msgpack
import pytest

from backend.protocol import envelope as proto
from backend.protocol.envelope import (
    Envelope,
    ProtocolError,
    batch_events,
    decode,
    deltas,
    encode,
    event_map,
)
from backend.protocol.state import apply_event
from backend.protocol.topics import parse_topic, topic


def test_round_trip_keeps_every_field_and_the_zone() -> None:
    helsinki = timezone(timedelta(hours=2))
    sent = Envelope(
        "command",
        body={"name": "assign_job", "args": {"job_id": 3}, "raw": b"\x00\x01"},
        seq=41,
        topic="job/3",
        parent_id="p1",
        ts=datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=helsinki),
    )
    got = decode(encode(sent))
    assert got.type == "command" and got.seq == 41 and got.topic == "job/3"
    assert got.msg_id == sent.msg_id and got.parent_id == "p1" and got.v == 1
    assert got.body == sent.body
    assert got.ts == sent.ts and got.ts.tzinfo is not None
    assert got.ts.utcoffset() == timedelta(0)


def test_naive_time_is_refused_on_encode() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        encode(Envelope("ping", ts=datetime(2026, 1, 1)))


def test_encoding_is_compact() -> None:
    heartbeat = encode(Envelope(proto.HEARTBEAT, {"uptime_s": 12.5}, seq=48211))
    assert len(heartbeat) < 128  # 32 of them are the msg_id


def _raw(**fields: object) -> bytes:
    base: dict[str, object] = {
        "v": 1,
        "type": "ping",
        "msg_id": "abc",
        "ts": datetime.now(UTC),
        "body": {},
    }
    base.update(fields)
    return msgpack.packb({k: v for k, v in base.items() if v is not ...}, datetime=True)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (os.urandom(64), None),  # random bytes: some decode to scalars, some fail
        (encode(Envelope("ping"))[:-3], "bad_encoding"),
        (msgpack.packb([1, 2, 3]), "bad_envelope"),
        (_raw(v=2), "unsupported_version"),
        (_raw(v="1"), "bad_envelope"),
        (_raw(v=...), "bad_envelope"),
        (_raw(type=7), "bad_field"),
        (_raw(msg_id=None), "bad_field"),
        (_raw(msg_id="x" * 65), "bad_field"),
        (_raw(seq="12"), "bad_field"),
        (_raw(seq=True), "bad_field"),
        (_raw(ts="2026-01-01"), "bad_field"),
        (_raw(body=[1]), "bad_field"),
        (encode(Envelope("ping")) + b"\x00", "bad_encoding"),
    ],
)
def test_malformed_frames_raise_protocol_error(payload: bytes, code: str | None) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(payload)
    if code is not None:
        assert info.value.code == code


def test_oversized_payload_is_refused_before_decoding() -> None:
    with pytest.raises(ProtocolError) as info:
        decode(b"\x00" * (proto.MAX_PAYLOAD + 1))
    assert info.value.code == "too_large"


def test_batched_deltas_carry_consecutive_events() -> None:
    now = datetime.now(UTC)
    events = [event_map(s, "crew.moved", f"crew/{s}", now, {"patch": {"x": s}}) for s in (7, 8, 9)]
    message = decode(encode(deltas(events)))
    assert message.type == proto.DELTAS and message.seq == 9
    assert [e["seq"] for e in batch_events(message)] == [7, 8, 9]
    broken = deltas([events[0], events[2]])
    with pytest.raises(ProtocolError, match="consecutive"):
        batch_events(decode(encode(broken)))


def test_topics() -> None:
    assert topic("job", 12) == "job/12"
    assert parse_topic("alarm/3") == ("alarm", 3)
    for bad in ("job", "job/", "job/x", "road/1", "/1"):
        with pytest.raises(ProtocolError):
            parse_topic(bad)
    with pytest.raises(ValueError):
        topic("road", 1)


def test_apply_event_semantics() -> None:
    entities: dict[str, dict[str, object]] = {}
    assert apply_event(entities, "job/1", {"entity": {"id": 1, "status": "new"}})
    assert apply_event(entities, "job/1", {"patch": {"status": "assigned"}})
    assert entities["job/1"] == {"id": 1, "status": "assigned"}
    assert apply_event(entities, "asset/1", {"readings": {"p": ["2026-01-01T00:00:02Z", 2.0]}})
    # An older reading never replaces a newer one.
    assert not apply_event(entities, "asset/1", {"readings": {"p": ["2026-01-01T00:00:01Z", 1.0]}})
    assert entities["asset/1"]["latest"] == {"p": ["2026-01-01T00:00:02Z", 2.0]}
    assert apply_event(entities, "job/1", {"deleted": True})
    assert "job/1" not in entities
