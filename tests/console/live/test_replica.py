"""The replica's sequence rules: snapshot seq, duplicates dropped, gaps refused, prefixes."""

from __future__ import annotations

from typing import Any

from console.live.client import LinkHealth, LinkState, router_endpoint
from console.live.replica import Replica, covers


def ev(seq: int, topic: str, **patch: Any) -> dict[str, Any]:
    return {"seq": seq, "topic": topic, "type": "x", "body": {"patch": patch}}


def test_deltas_at_or_below_the_snapshot_seq_are_dropped() -> None:
    r = Replica()
    assert r.load_snapshot(10, [("job/1", {"id": 1, "status": "new"})]) == {"job/1"}
    result = r.apply(
        [
            ev(9, "job/1", status="old"),
            ev(10, "job/1", status="old"),
            ev(11, "job/1", status="assigned"),
        ]
    )
    assert result.dropped == 2 and result.gap is None and result.changed == {"job/1"}
    assert r.seq == 11 and r.get("job/1") == {"id": 1, "status": "assigned"}
    assert r.apply([ev(11, "job/1", status="dup")]).dropped == 1
    assert r.get("job/1") == {"id": 1, "status": "assigned"}


def test_a_gap_is_refused_and_reported() -> None:
    r = Replica()
    r.load_snapshot(5, [])
    result = r.apply([ev(6, "crew/1", x=1), ev(8, "crew/1", x=3)])
    assert result.gap == (7, 8) and r.seq == 6 and r.gaps == 1
    assert r.get("crew/1") == {"x": 1}


def test_a_new_snapshot_reports_only_what_differs() -> None:
    r = Replica()
    r.load_snapshot(1, [("job/1", {"a": 1}), ("job/2", {"a": 2})])
    assert r.load_snapshot(5, [("job/1", {"a": 1}), ("job/3", {"a": 3})]) == {"job/2", "job/3"}


def test_prefix_replica_keeps_only_its_topics_but_follows_every_seq() -> None:
    assert covers("", "job/1") and covers("job/", "job/1") and covers("job", "job/12")
    assert (
        covers("job/1", "job/1") and not covers("job/1", "job/12") and not covers("job/", "crew/1")
    )
    r = Replica("job/")
    r.load_snapshot(0, [("job/1", {}), ("crew/1", {})])
    assert set(r.entities) == {"job/1"}
    r.apply([ev(1, "crew/1", x=1), ev(2, "job/1", x=2)])
    assert r.seq == 2 and set(r.entities) == {"job/1"}


def test_health_labels_and_endpoints() -> None:
    assert LinkHealth(LinkState.LIVE, 0.2, 5).label() == "live"
    assert LinkHealth(LinkState.STALE, 4.2, 5).label() == "stale for 4 s"
    assert "reconnecting" in LinkHealth(LinkState.RECONNECTING, 9, 5).label()
    assert router_endpoint("tcp://127.0.0.1:7700") == "tcp://127.0.0.1:7701"
