"""Old feed events keep their place in the record but drop their payload.

Every telemetry or crew-position batch is one ``events`` row whose body
carries the batch's newest values as columns (``reading_columns``,
``patch_columns``): what the live bus sends and a reconnecting publisher
re-sends. The same values are stored once more in the telemetry tiers
(:mod:`backend.service.readings`) and in the crew position blocks, which is
where histories are read from. Once a batch is older than the raw readings
are kept and the bus has sent it, its payload in ``events`` serves nobody,
yet it is most of the table: about 175 kB per 5,000 readings, gigabytes a
month for a city's sensors.

:func:`trim_feed_events` replaces such a body with ``{"trimmed": {"n": N}}``
(N the number of changes it carried, what :func:`backend.protocol.state.change_count`
reads), so the audit trail and the timeline still show that a batch of N
readings or positions arrived at that time, by whom, under which command.
The row, its ``seq``, ``ts``, ``type``, ``topic``, actor and ids stay: the
sequence has no holes, and nothing any other rule needs is lost.

Only events the publisher has already sent are trimmed (``seq`` at or below
its saved cursor in ``bus_cursors``), so a backend that was down for longer
than the retention still sends every event whole when it comes back. Progress
is a cursor of its own in ``bus_cursors``; each batch of rows is one
transaction, so a crash mid-pass leaves every row either whole or trimmed.
Event times come from the backend's clock at commit, which follows ``seq``;
a feed event older than the cutoff behind a newer one (a clock stepped back)
is passed over rather than searched for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session

from backend.db.models import BusCursor, Event
from backend.protocol.state import change_count

#: Event types whose bodies are a feed's columnar batch (see handlers_feed).
FEED_EVENT_TYPES = ("asset.readings", "crew.moved")
#: The ``bus_cursors`` row holding how far trimming has gone (no publisher may use it).
TRIM_CURSOR = "trim:feed-events"
_EVENTS = cast(Table, Event.__table__)
#: Rows per transaction.
BATCH = 500


@dataclass(frozen=True, slots=True)
class TrimResult:
    """What one pass did: feed events trimmed, and the cursor it left."""

    events: int
    cursor: int


def trimmed_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body a feed event keeps once its payload is dropped (idempotent)."""
    if "trimmed" in body:
        return body
    return {"trimmed": {"n": change_count(body)}}


def _cursor(session: Session, name: str) -> int | None:
    seq = session.scalar(select(BusCursor.seq).where(BusCursor.name == name))
    return None if seq is None else int(seq)


def trim_feed_events(
    engine: Engine,
    keep: timedelta,
    now: datetime | None = None,
    publisher: str = "live",
    max_batches: int = 20,
) -> TrimResult:
    """Drop the payload of feed events older than ``now - keep`` that ``publisher`` has sent.

    At most ``max_batches`` transactions of :data:`BATCH` rows per call (the
    service calls it again on its next compaction pass).
    """
    cutoff = (now or datetime.now(UTC)) - keep
    trimmed = 0
    with Session(engine) as session:
        published = _cursor(session, publisher) or 0
        done = _cursor(session, TRIM_CURSOR)
    if done is None:
        with Session(engine) as session, session.begin():
            session.add(BusCursor(name=TRIM_CURSOR, seq=0, updated_at=datetime.now(UTC)))
        done = 0
    for _ in range(max_batches):
        with Session(engine) as session, session.begin():
            rows = session.execute(
                select(Event.seq, Event.body)
                .where(
                    Event.seq > done,
                    Event.seq <= published,
                    Event.type.in_(FEED_EVENT_TYPES),
                    Event.ts < cutoff,
                )
                .order_by(Event.seq)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            changed = [
                {"s": seq, "b": trimmed_body(body)} for seq, body in rows if "trimmed" not in body
            ]
            if changed:
                session.connection().execute(
                    update(_EVENTS)
                    .where(_EVENTS.c.seq == bindparam("s"))
                    .values(body=bindparam("b")),
                    changed,
                )
            done = int(rows[-1].seq)
            session.execute(
                update(BusCursor)
                .where(BusCursor.name == TRIM_CURSOR)
                .values(seq=done, updated_at=datetime.now(UTC))
            )
            trimmed += len(changed)
    return TrimResult(trimmed, done)
