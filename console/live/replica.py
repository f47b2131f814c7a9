"""The replica: live entities keyed by topic, brought current by a snapshot plus deltas.

Sequence rules (the Clone pattern): a snapshot sets the state and its ``seq``;
a delta with ``seq`` at or below the replica's is a duplicate and is dropped;
a delta that skips a number means something was lost, so the replica refuses
it and reports a gap (the client then re-snapshots). The replica never changes
on its own: only the backend's events move it. One event may be a batch of
many entity changes (``body["changes"]``); it still has one seq, and the
topics it changed are reported one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backend.protocol.state import Entities, apply_changes


def covers(prefix: str, topic: str) -> bool:
    """True when a replica following ``prefix`` ("", "job", "job/", "job/12") holds ``topic``."""
    if not prefix:
        return True
    kind, _, rest = prefix.partition("/")
    return topic == prefix if rest else topic.startswith(kind + "/")


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What a batch of deltas did: the topics it changed, duplicates dropped, and any gap."""

    changed: frozenset[str]
    dropped: int
    gap: tuple[int, int] | None = None  # (expected seq, received seq)


class Replica:
    """Entities by topic plus the seq they reflect. Thread-safe: read under :attr:`lock`."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.lock = threading.RLock()
        self.entities: Entities = {}
        self.seq = 0
        self.loaded = False
        self.duplicates = 0
        self.gaps = 0

    def load_snapshot(
        self, seq: int, entities: Iterable[tuple[str, dict[str, Any]]]
    ) -> frozenset[str]:
        """Replace the state with a snapshot taken at ``seq``; returns the topics that differ."""
        fresh = {t: s for t, s in entities if covers(self.prefix, t)}
        with self.lock:
            old = self.entities
            changed = {t for t in old.keys() | fresh.keys() if old.get(t) != fresh.get(t)}
            self.entities = fresh
            self.seq = seq
            self.loaded = True
        return frozenset(changed)

    def apply(self, events: list[dict[str, Any]]) -> ApplyResult:
        """Apply a batch of consecutive events; refuse the batch at a gap."""
        changed: set[str] = set()
        dropped = 0
        accept = self._accept if self.prefix else None  # the whole city: no per-change filter
        with self.lock:
            for event in events:
                seq = event["seq"]
                if seq <= self.seq:
                    dropped += 1
                    continue
                if seq != self.seq + 1:
                    self.gaps += 1
                    self.duplicates += dropped
                    return ApplyResult(frozenset(changed), dropped, (self.seq + 1, seq))
                # A batch event touches many topics: filter and collect them one by one.
                changed.update(apply_changes(self.entities, event["topic"], event["body"], accept))
                self.seq = seq
            self.duplicates += dropped
        return ApplyResult(frozenset(changed), dropped)

    def _accept(self, topic: str) -> bool:
        return covers(self.prefix, topic)

    def get(self, topic: str) -> dict[str, Any] | None:
        """A copy of one entity's state (None when absent)."""
        with self.lock:
            state = self.entities.get(topic)
            return None if state is None else dict(state)

    def copy(self) -> tuple[int, Entities]:
        """``(seq, entities)`` as a consistent copy (entities shallow-copied)."""
        with self.lock:
            return self.seq, {t: dict(s) for t, s in self.entities.items()}
