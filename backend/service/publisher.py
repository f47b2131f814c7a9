"""The outbox publisher: committed ``events`` rows → PUB, strictly in seq order, resumable.

It reads ``events`` with ``seq`` greater than its cursor, sends them as
batched ``deltas`` messages (one message per up to :data:`BATCH` events or
:data:`CHANGES` entity changes: one batch event already carries thousands),
then moves the cursor in ``bus_cursors``. After a crash it resumes from the stored
cursor, so events committed but never sent go out on restart. A crash between
sending and saving the cursor re-sends a few events; replicas drop any seq
they already have, so each change is applied exactly once.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import zmq
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from backend.db.models import BusCursor, Event
from backend.db.outbox import last_seq
from backend.protocol.envelope import CHANNEL_DELTAS, deltas, encode, event_map
from backend.protocol.state import change_count

log = logging.getLogger(__name__)

#: Events per ``deltas`` message, and per read from the database.
BATCH = 2000
READ = 2000
#: Entity changes per ``deltas`` message (a batch event counts its changes): a burst
#: becomes a few messages of bounded size, never one huge one.
CHANGES = 10_000
#: How often (s) the cursor is saved. Saving it is a write transaction; after a
#: crash at most this much is re-sent, and replicas drop what they already have.
SAVE_EVERY_S = 0.5


class OutboxPublisher:
    """Publishes the outbox on a PUB socket; one instance per bus (``name``)."""

    def __init__(self, engine: Engine, pub: zmq.Socket, name: str = "live") -> None:
        self.engine = engine
        self.pub = pub
        self.name = name
        self.cursor = 0
        self.published_events = 0
        self.published_batches = 0
        self.published_changes = 0
        self._saved = 0
        self._saved_at = 0.0

    def load_cursor(self) -> int:
        """Read (or create) the stored cursor.

        A new bus starts at the current newest seq: history before it belongs
        to snapshots, not to deltas.
        """
        with self.engine.begin() as conn:
            stored = conn.execute(
                select(BusCursor.seq).where(BusCursor.name == self.name)
            ).scalar_one_or_none()
            if stored is None:
                with Session(bind=conn) as s:
                    stored = last_seq(s)
                    s.add(BusCursor(name=self.name, seq=stored, updated_at=datetime.now(UTC)))
                    s.flush()
        self.cursor = self._saved = int(stored)
        return self.cursor

    def publish_committed(self, events: list[dict[str, Any]]) -> int:
        """Send events just committed by this process without reading them back.

        Only when they follow the cursor exactly; otherwise (another writer
        committed in between, or an earlier publish failed) the outbox is read
        in seq order as usual, so order and completeness never depend on this
        shortcut.
        """
        if not events or events[0]["seq"] != self.cursor + 1:
            return self.publish_pending()
        self._send_all(events)
        self.save_cursor(force=False)
        return len(events)

    def publish_pending(self) -> int:
        """Send every committed event after the cursor; return how many were sent."""
        sent = 0
        events_table = Event.__table__
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(events_table)
                    .where(events_table.c.seq > self.cursor)
                    .order_by(events_table.c.seq)
                    .limit(READ)
                ).all()
            if not rows:
                self.save_cursor(force=False)
                return sent
            if rows[0].seq != self.cursor + 1:
                # The outbox is gap-free, so this means events were deleted under us:
                # say so loudly; consoles see the gap and re-snapshot.
                log.error("outbox gap: cursor %s, next event %s", self.cursor, rows[0].seq)
            events = [
                event_map(r.seq, r.type, r.topic, r.ts, r.body, r.actor, r.msg_id, r.parent_id)
                for r in rows
            ]
            self._send_all(events)
            sent += len(events)
            self.save_cursor(force=False)
            if len(rows) < READ:
                return sent

    def _send_all(self, events: list[dict[str, Any]]) -> None:
        """Send consecutive events (the first right after the cursor) and move the cursor."""
        chunk: list[dict[str, Any]] = []
        weight = 0
        for e in events:
            size = change_count(e["body"])
            if chunk and (len(chunk) >= BATCH or weight + size > CHANGES):
                self._send(chunk)
                chunk, weight = [], 0
            chunk.append(e)
            weight += size
            self.published_changes += size
        self._send(chunk)
        self.cursor = events[-1]["seq"]
        self.published_events += len(events)

    def _send(self, chunk: list[dict[str, Any]]) -> None:
        self.pub.send_multipart([CHANNEL_DELTAS, encode(deltas(chunk))], copy=False)
        self.published_batches += 1

    def save_cursor(self, force: bool = True) -> None:
        """Store the cursor (at most every :data:`SAVE_EVERY_S` unless ``force``)."""
        if self.cursor == self._saved:
            return
        if not force and time.monotonic() - self._saved_at < SAVE_EVERY_S:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(BusCursor)
                .where(BusCursor.name == self.name)
                .values(seq=self.cursor, updated_at=datetime.now(UTC))
            )
        self._saved = self.cursor
        self._saved_at = time.monotonic()
