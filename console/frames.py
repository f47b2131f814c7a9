"""One read of the live replica per frame, shared by the map layers and every panel (no Qt).

The live bridge delivers a frame's changed topics: a handful for a dispatch
change, thousands when a columnar reading batch arrived. :class:`FrameFeed`
reads them all with one :meth:`~console.live.replica.Replica.get_many` (the
replica composes columnar values per column, not per topic), brings the map
layers up to date from that read, and hands each follower the
``(topic, state)`` items of the kinds it follows, in topic order. Nothing
reads ``replica.entities``: values merged from columnar batches (asset
``latest`` readings, crew positions) are not there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from console.map_sync import EntitySource, LiveLayerSync, States

#: One changed entity as followers get it: ``(topic, state)``, state None when it is gone.
Item = tuple[str, dict[str, Any] | None]


class Follower(Protocol):
    """A panel that follows the replica: loaded once, then fed each frame's changes.

    A follower may have a ``kinds`` attribute (e.g. ``("job", "crew")``): it is
    then given only items of those kinds, and not called in a frame without
    any, so a 5,000-reading frame costs a panel that ignores assets nothing.
    """

    def load(self, entities: dict[str, dict[str, Any]]) -> None: ...

    def apply(self, items: Iterable[Item]) -> None: ...


def kind_of(topic: str) -> str:
    """``"asset/12"`` → ``"asset"``."""
    return topic.partition("/")[0]


class FrameFeed:
    """Reads each frame's changed entities once and delivers them to the map and the panels."""

    def __init__(self, source: EntitySource, sync: LiveLayerSync | None = None) -> None:
        self.source = source
        self.sync = sync
        self.followers: list[Follower] = []
        self.frames = 0

    def add(self, follower: Follower, entities: dict[str, dict[str, Any]]) -> None:
        """Load ``follower`` from a full replica copy, then feed it every frame."""
        follower.load(entities)
        self.followers.append(follower)

    def remove(self, follower: Follower) -> None:
        """Stop feeding ``follower`` (a closed panel)."""
        if follower in self.followers:
            self.followers.remove(follower)

    def deliver(self, topics: Iterable[str]) -> States:
        """One frame: read ``topics`` once, update the layers, feed the followers; the states."""
        ordered = sorted(topics)
        if not ordered:
            return {}
        self.frames += 1
        states = self.source.get_many(ordered)
        if self.sync is not None:
            self.sync.apply_states(states)
        if self.followers:
            items = [(t, states.get(t)) for t in ordered]
            by_kind: dict[str, list[Item]] = {}
            for item in items:
                by_kind.setdefault(kind_of(item[0]), []).append(item)
            for follower in list(self.followers):
                kinds: Iterable[str] | None = getattr(follower, "kinds", None)
                if kinds is None:
                    follower.apply(items)
                    continue
                # Kinds in name order keep the items in topic order.
                mine = [i for k in sorted(set(kinds)) for i in by_kind.get(k, ())]
                if mine:
                    follower.apply(mine)
        return states
