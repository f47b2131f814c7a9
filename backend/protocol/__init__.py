"""The live bus's wire protocol, shared by the backend and the console (no SQLAlchemy here)."""

from backend.protocol.envelope import (
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Envelope,
    ProtocolError,
    decode,
    encode,
    new_msg_id,
)
from backend.protocol.topics import TOPIC_KINDS, parse_topic, topic

__all__ = [
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "TOPIC_KINDS",
    "Envelope",
    "ProtocolError",
    "decode",
    "encode",
    "new_msg_id",
    "parse_topic",
    "topic",
]
