"""The frame feed: one replica read per frame, each follower given the kinds it follows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from console.frames import FrameFeed
from console.live.replica import Replica

Item = tuple[str, dict[str, Any] | None]


class Recorder:
    """A follower that records what it was given."""

    def __init__(self, kinds: tuple[str, ...] | None = None) -> None:
        if kinds is not None:
            self.kinds = kinds
        self.loaded: dict[str, dict[str, Any]] = {}
        self.frames: list[list[Item]] = []

    def load(self, entities: dict[str, dict[str, Any]]) -> None:
        self.loaded = entities

    def apply(self, items: Iterable[Item]) -> None:
        self.frames.append(list(items))


class CountingReplica(Replica):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[list[str]] = []

    def get_many(self, topics: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        wanted = list(topics)
        self.reads.append(wanted)
        return super().get_many(wanted)


def _replica() -> CountingReplica:
    replica = CountingReplica()
    city = [
        ("asset/2", {"id": 2, "name": "Pump 2"}),
        ("asset/10", {"id": 10, "name": "Pump 10"}),
        ("crew/1", {"id": 1, "name": "Alpha"}),
        ("job/5", {"id": 5, "status": "new"}),
    ]
    replica.load_snapshot(1, city)
    return replica


def test_each_follower_gets_its_kinds_in_topic_order_from_one_read() -> None:
    replica = _replica()
    feed = FrameFeed(replica)
    everything, dispatch, alarms = Recorder(), Recorder(("job", "crew")), Recorder(("alarm",))
    _, entities = replica.copy()
    for follower in (everything, dispatch, alarms):
        feed.add(follower, entities)
    assert dispatch.loaded == entities

    states = feed.deliver({"job/5", "asset/10", "crew/1", "asset/2", "issue/9"})

    assert replica.reads == [["asset/10", "asset/2", "crew/1", "issue/9", "job/5"]]
    assert states["issue/9"] is None and states["crew/1"] == {"id": 1, "name": "Alpha"}
    assert [t for t, _ in everything.frames[0]] == [
        "asset/10",
        "asset/2",
        "crew/1",
        "issue/9",
        "job/5",
    ]
    assert dispatch.frames == [[("crew/1", {"id": 1, "name": "Alpha"}), ("job/5", states["job/5"])]]
    assert alarms.frames == []  # nothing of its kinds: not called


def test_an_empty_frame_reads_nothing_and_a_removed_follower_is_not_fed() -> None:
    replica = _replica()
    feed = FrameFeed(replica)
    follower = Recorder()
    feed.add(follower, {})
    assert feed.deliver(set()) == {} and replica.reads == [] and feed.frames == 0
    feed.remove(follower)
    feed.deliver({"job/5"})
    assert follower.frames == [] and feed.frames == 1
