"""Append events to the ``events`` table: the outbox, audit log and timeline in one.

Call :func:`append_events` inside the same transaction that writes the domain
rows, so a change and its event commit (or vanish) together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from backend.db.models import Event, EventCounter


@dataclass(slots=True)
class NewEvent:
    """An event to append; ``seq`` is assigned by :func:`append_events`."""

    type: str
    topic: str
    body: dict[str, Any] = field(default_factory=dict)
    actor: str | None = None
    msg_id: str | None = None
    parent_id: str | None = None
    ts: datetime | None = None


_COUNTER = cast(Table, EventCounter.__table__)
_EVENTS = cast(Table, Event.__table__)


def _reserve(session: Session, count: int) -> int:
    """Reserve ``count`` sequence numbers; return the first. Locks the counter row."""
    # Core statements on the session's connection: every command runs this, and the
    # ORM's statement handling cost more than the database's work.
    c = _COUNTER.c
    last = (
        session.connection()
        .execute(
            update(_COUNTER)
            .where(c.id == 1)
            .values(last_seq=c.last_seq + count)
            .returning(c.last_seq)
        )
        .scalar_one_or_none()
    )
    if last is None:
        # First event ever: create the counter row (the migration also seeds it).
        start = session.execute(select(EventCounter.last_seq).where(EventCounter.id == 1))
        if start.scalar_one_or_none() is None:
            session.add(EventCounter(id=1, last_seq=count))
            session.flush()
            return 1
        raise RuntimeError("event counter vanished during reservation")
    return int(last) - count + 1


def append_events(session: Session, events: Sequence[NewEvent]) -> list[int]:
    """Write ``events`` with consecutive, gap-free sequence numbers; return them."""
    if not events:
        return []
    first = _reserve(session, len(events))
    now = datetime.now(UTC)
    rows = [
        {
            "seq": first + i,
            "ts": e.ts or now,
            "type": e.type,
            "topic": e.topic,
            "actor": e.actor,
            "msg_id": e.msg_id,
            "parent_id": e.parent_id,
            "body": e.body,
        }
        for i, e in enumerate(events)
    ]
    session.connection().execute(insert(_EVENTS), rows)
    return [first + i for i in range(len(rows))]


def last_seq(session: Session) -> int:
    """The newest committed sequence number (0 before the first event)."""
    value = session.execute(select(EventCounter.last_seq).where(EventCounter.id == 1))
    return int(value.scalar_one_or_none() or 0)
