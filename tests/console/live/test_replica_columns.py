"""Columnar batches in the replica: array merges end exactly where the row-by-row reference does.

The reference is :func:`backend.protocol.state.apply_changes` on a plain map;
random interleavings of snapshots, columnar batches (duplicate ids, older and
tied times, new ids, NaN, null times, malformed batches, values the arrays
cannot hold) and dict events must leave :meth:`Replica.copy` and
:meth:`Replica.get` equal to it, and report the same changed topics.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import pytest

from backend.protocol.columns import NULL_TS, encode_columns, from_wire_times, wire_times
from backend.protocol.state import Entities, apply_changes, batch_topic
from console.live.replica import Replica, covers

BASE_US = int(from_wire_times(["2026-03-01T08:00:00.000000Z"])[0])
METRICS = ["pressure", "flow", "temp"]
KINDS = ["asset", "crew", "job"]
PREFIXES = ["", "asset", "crew/", "asset/3", "crew/5", "job/"]
SMALL_IDS = list(range(1, 13))
#: Negative and huge ids: tables find these through sorted ids, not a direct index.
FAR_IDS = [-3, 0, 3, 5, 7, 2**21 + 1, 2**40, 2**63 - 1]


class Gen(random.Random):
    """Random choices over one set of entity ids."""

    def __init__(self, seed: int, ids: list[int] = SMALL_IDS) -> None:
        super().__init__(seed)
        self.ids = ids

    def eid(self) -> int:
        return self.choice(self.ids)


def stamp(rng: Gen) -> int:
    """A time from a small set, so ties and older readings are common."""
    return BASE_US + rng.randrange(12) * 1_000_000 + rng.choice([0, 0, 0, 7])


def text(us: int) -> str:
    return wire_times(np.array([us], dtype=np.int64))[0]


def reading_batch(rng: Gen, n: int, ts: list[int] | None = None) -> dict[str, Any]:
    names = rng.sample(METRICS, rng.randint(1, len(METRICS)))
    ids = [rng.eid() for _ in range(n)]
    return {
        "n": n,
        "metrics": names,
        **encode_columns(
            {
                "id": ("i8", np.array(ids)),
                "metric": ("u2", np.array([rng.randrange(len(names)) for _ in range(n)])),
                "ts": ("ts", np.array(ts or [stamp(rng) for _ in range(n)])),
                "value": ("f8", np.array([round(rng.uniform(0, 10), 2) for _ in range(n)])),
            }
        ),
    }


def patch_batch(rng: Gen, n: int) -> dict[str, Any]:
    ids = [rng.eid() for _ in range(n)]
    if rng.random() < 0.3:
        ids.sort()
    cols: dict[str, tuple[str, Any]] = {"id": ("i8", np.array(ids))}
    for name in rng.sample(["lat", "lon", "seen", "count", "status"], rng.randint(1, 4)):
        if name in ("lat", "lon"):
            values = [rng.choice([float("nan"), rng.uniform(60, 61)]) for _ in range(n)]
            cols[name] = ("f8", np.array(values))
        elif name == "seen":
            cols[name] = ("ts", np.array([rng.choice([NULL_TS, stamp(rng)]) for _ in range(n)]))
        else:  # "status" is a string in maps; as a column it becomes a number
            cols[name] = ("i8", np.array([rng.randint(-5, 5) for _ in range(n)]))
    return encode_columns(cols)


def latest_map(rng: Gen) -> dict[str, list[Any]]:
    return {
        m: [text(stamp(rng)), round(rng.uniform(0, 10), 2)]
        for m in rng.sample(METRICS, rng.randint(0, len(METRICS)))
    }


def entity(rng: Gen, kind: str, eid: int) -> dict[str, Any]:
    state: dict[str, Any] = {"id": eid, "status": rng.choice(["ok", "warning"])}
    if rng.random() < 0.5:
        state["lat"] = rng.uniform(60, 61)
    if kind == "asset" and rng.random() < 0.8:
        state["latest"] = latest_map(rng)
    return state


def snapshot(rng: Gen) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{kind}/{eid}", entity(rng, kind, eid))
        for kind in KINDS
        for eid in rng.ids
        if rng.random() < 0.6
    ]


def dict_change(rng: Gen) -> tuple[str, dict[str, Any]]:
    kind = rng.choice(KINDS)
    topic = f"{kind}/{rng.eid()}"
    roll = rng.random()
    if roll < 0.15:
        return topic, {"entity": entity(rng, kind, int(topic.split("/")[1]))}
    if roll < 0.3:
        return topic, {"deleted": True}
    if roll < 0.55:
        fields = rng.sample(["lat", "lon", "seen", "count", "status", "latest"], rng.randint(1, 3))
        patch: dict[str, Any] = {}
        for name in fields:
            patch[name] = latest_map(rng) if name == "latest" else rng.choice([None, 1, 2.5, "x"])
        return topic, {"patch": patch}
    return topic, {"readings": latest_map(rng) or {"flow": [text(stamp(rng)), 1.5]}}


def random_event(rng: Gen) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    kind = rng.choice(["asset", "asset", "crew"])
    if roll < 0.3:
        return batch_topic(kind), {"reading_columns": reading_batch(rng, rng.randint(1, 30))}
    if roll < 0.5:
        return batch_topic(kind), {"patch_columns": patch_batch(rng, rng.randint(1, 20))}
    if roll < 0.55:
        both = {
            "reading_columns": reading_batch(rng, rng.randint(1, 10)),
            "patch_columns": patch_batch(rng, rng.randint(1, 10)),
        }
        return batch_topic(kind), both
    if roll < 0.57:  # malformed: a metric index past the names
        bad = reading_batch(rng, 3)
        bad["metrics"] = []
        return batch_topic(kind), {"reading_columns": bad, "patch_columns": patch_batch(rng, 2)}
    if roll < 0.72:
        return dict_change(rng)
    return batch_topic(kind), {
        "changes": [list(dict_change(rng)) for _ in range(rng.randint(1, 6))]
    }


def exotic_events(rng: Gen) -> list[tuple[str, dict[str, Any]]]:
    """Batches the arrays cannot hold: the replica falls back to row by row for the kind."""
    roll = rng.random()
    if roll < 0.4:  # a year past 9999: its text would not sort as its time does
        far = int(from_wire_times(["9999-12-31T23:59:59.000000Z"])[0]) + 10**13
        return [("asset/*", {"reading_columns": reading_batch(rng, 3, [far, BASE_US, far])})]
    if roll < 0.7:  # ``latest`` as a number; then a map again (the reference fails on readings)
        latest = encode_columns({"id": ("i8", np.array([3])), "latest": ("i8", np.array([1]))})
        return [
            ("asset/*", {"patch_columns": latest}),
            ("asset/3", {"patch": {"latest": latest_map(rng)}}),
        ]
    if roll < 0.85:  # a time numpy reads but the wire does not write: compared as text
        odd = text(stamp(rng)).replace("T", " ")
        return [("asset/5", {"readings": {"temp": [odd, 1.5]}})]
    return [("asset/4", {"readings": {"flow": [text(BASE_US + 99 * 10**6), 3]}})]  # an int value


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``3 == 3.0``, but a map would show it)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check(replica: Replica, truth: Entities, seq: int) -> None:
    rseq, state = replica.copy()
    assert rseq == seq
    assert state == truth and same(state, truth)
    topics = [f"{k}/{i}" for k in KINDS for i in [*SMALL_IDS, *FAR_IDS, 13, -1]]
    for topic in topics:
        assert same(replica.get(topic), truth.get(topic)), topic
    assert same(replica.get_many(topics), {t: truth.get(t) for t in topics})


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("seed", range(14))
def test_random_interleavings_equal_the_reference(prefix: str, seed: int) -> None:
    rng = Gen(seed * 101 + len(prefix), FAR_IDS if seed % 7 == 6 else SMALL_IDS)
    replica = Replica(prefix)
    accept = (lambda t: covers(prefix, t)) if prefix else None
    truth: Entities = {}
    seq = 0
    for step in range(160):
        roll = rng.random()
        if step == 0 or roll < 0.04:
            snap = snapshot(rng)
            new = {t: copy.deepcopy(s) for t, s in snap if covers(prefix, t)}
            expected = {t for t in truth.keys() | new.keys() if truth.get(t) != new.get(t)}
            seq += rng.randint(0, 3)
            assert replica.load_snapshot(seq, copy.deepcopy(snap)) == expected
            truth = new
            continue
        for topic, body in exotic_events(rng) if roll < 0.06 else [random_event(rng)]:
            seq += 1
            want = set(apply_changes(truth, topic, copy.deepcopy(body), accept))
            result = replica.apply([{"seq": seq, "topic": topic, "body": copy.deepcopy(body)}])
            assert result.gap is None and result.changed == want, (step, topic, body)
        if step % 7 == 0 or roll > 0.97:
            check(replica, truth, seq)
    check(replica, truth, seq)


def test_several_events_in_one_apply_and_a_gap() -> None:
    rng = Gen(7)
    replica = Replica()
    truth: Entities = {}
    replica.load_snapshot(0, [])
    events = []
    for seq in range(1, 40):
        topic, body = random_event(rng)
        apply_changes(truth, topic, copy.deepcopy(body))
        events.append({"seq": seq, "topic": topic, "body": body})
    gap = {"seq": 45, "topic": "asset/*", "body": {"reading_columns": reading_batch(rng, 5)}}
    result = replica.apply([*events, gap])
    assert result.gap == (40, 45)
    check(replica, truth, 39)


def test_a_batch_reports_ids_as_arrays_and_topics_only_when_asked() -> None:
    replica = Replica()
    replica.load_snapshot(0, [("asset/1", {"id": 1, "latest": {}})])
    batch = {
        "n": 3,
        "metrics": ["flow"],
        **encode_columns(
            {
                "id": ("i8", np.array([1, 2, 2])),
                "metric": ("u2", np.zeros(3)),
                "ts": ("ts", np.array([BASE_US, BASE_US + 5, BASE_US + 1])),
                "value": ("f8", np.array([1.0, 2.0, 3.0])),
            }
        ),
    }
    result = replica.apply([{"seq": 1, "topic": "asset/*", "body": {"reading_columns": batch}}])
    assert result.topics == frozenset() and [k for k, _ in result.columns] == ["asset"]
    assert "changed" not in vars(result)  # nothing built until someone asks
    assert result.changed == {"asset/1", "asset/2"}
    assert replica.get("asset/2") == {"latest": {"flow": [text(BASE_US + 5), 2.0]}}
    # An older reading is no change; a tied one is (the later row wins, as row by row).
    older = copy.deepcopy(batch)
    older["cols"]["id"] = encode_columns({"id": ("i8", np.array([2, 2, 2]))})["cols"]["id"]
    older["cols"]["ts"] = encode_columns({"ts": ("ts", np.array([BASE_US] * 3))})["cols"]["ts"]
    again = replica.apply([{"seq": 2, "topic": "asset/*", "body": {"reading_columns": older}}])
    assert again.changed == frozenset()
    assert replica.get("asset/1") == {"id": 1, "latest": {"flow": [text(BASE_US), 1.0]}}


def test_a_large_batch_with_new_ids_matches_the_reference() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    ids = rng.integers(1, 3000, n)
    body = {
        "reading_columns": {
            "metrics": METRICS,
            **encode_columns(
                {
                    "id": ("i8", ids),
                    "metric": ("u2", rng.integers(0, 3, n)),
                    "ts": ("ts", BASE_US + rng.integers(0, 50, n) * 1000),
                    "value": ("f8", rng.uniform(0, 1, n)),
                }
            ),
        },
        "patch_columns": encode_columns(
            {
                "id": ("i8", rng.integers(1000, 4000, n)),
                "lat": ("f8", np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 1, n))),
                "seen": ("ts", np.where(rng.random(n) < 0.1, NULL_TS, BASE_US + np.arange(n))),
            }
        ),
    }
    snap = [
        (f"asset/{i}", {"id": i, "latest": {"flow": [text(BASE_US + 20_000), 0.5]}})
        for i in range(1, 2000, 3)
    ]
    truth = {t: copy.deepcopy(s) for t, s in snap}
    replica = Replica()
    replica.load_snapshot(1, snap)
    want = set(apply_changes(truth, "asset/*", body))
    assert replica.apply([{"seq": 2, "topic": "asset/*", "body": body}]).changed == want
    check(replica, truth, 2)


def test_topics_a_row_cannot_name_stay_apart() -> None:
    """``5`` is not ``/5`` and ``asset/05`` is not ``asset/5``: rows only reach the latter."""
    old = {"flow": [text(BASE_US), 1.0]}
    snap: list[tuple[str, dict[str, Any]]] = [
        ("5", {"latest": dict(old)}),
        ("asset/05", {"latest": dict(old)}),
        ("asset/5", {"id": 5}),
    ]
    truth = {t: copy.deepcopy(s) for t, s in snap}
    replica = Replica()
    replica.load_snapshot(0, copy.deepcopy(snap))
    for seq, topic in enumerate(["/*", "asset/*"], start=1):
        body = {"reading_columns": reading_batch(Gen(seq, [5]), 4)}
        apply_changes(truth, topic, copy.deepcopy(body))
        replica.apply([{"seq": seq, "topic": topic, "body": body}])
    assert set(truth) == {"5", "/5", "asset/05", "asset/5"}
    check(replica, truth, 2)
    assert replica.get_many(list(truth)) == truth
