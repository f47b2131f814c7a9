"""Topics name one live entity: ``asset/<id>``, ``issue/<id>``, ``job/<id>``, ``crew/<id>``...

...and ``alarm/<id>``.
"""

from __future__ import annotations

from backend.protocol.envelope import ProtocolError

#: The entity kinds that travel on the bus, in snapshot order.
TOPIC_KINDS = ("asset", "issue", "job", "crew", "alarm")


def topic(kind: str, entity_id: int) -> str:
    """The topic of one entity, e.g. ``topic("job", 12) == "job/12"``."""
    if kind not in TOPIC_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}; expected one of {TOPIC_KINDS}")
    return f"{kind}/{int(entity_id)}"


def parse_topic(value: str) -> tuple[str, int]:
    """Split ``"job/12"`` into ``("job", 12)``; a malformed topic is a :class:`ProtocolError`."""
    kind, sep, rest = value.partition("/")
    if not sep or kind not in TOPIC_KINDS or not rest.isdigit():
        raise ProtocolError(
            "bad_topic", f"topic {value!r} is not <kind>/<id> with kind in {TOPIC_KINDS}"
        )
    return kind, int(rest)
