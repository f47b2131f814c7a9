"""Crews: staleness after two minutes by an injected clock, labels, trails."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from layers.crews.model import TRAIL_LENGTH, CrewLayerModel
from layers.projection import LocalProjection
from tests.layers import synthetic as syn


class Clock:
    """A clock tests can move."""

    def __init__(self) -> None:
        self.now = syn.NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def _model(clock: Clock) -> CrewLayerModel:
    m = CrewLayerModel(LocalProjection(*syn.CENTRE), clock=clock)
    m.replace_all(syn.crews(5))
    return m


def test_quiet_crew_fades_after_two_minutes() -> None:
    clock = Clock()
    m = _model(clock)
    stale = lambda fid: bool(m.table.rows["stale"][m.table.row(fid)])  # noqa: E731
    assert not stale(1) and "last seen" not in m.label(1)
    seen = []
    m.changed.connect(seen.append)
    clock.now += timedelta(seconds=119)
    m.tick()
    assert not stale(1) and not seen
    m.upsert(
        [{"id": 2, "last_seen_at": clock.now, "last_lon": syn.CENTRE[0], "last_lat": syn.CENTRE[1]}]
    )
    seen.clear()
    clock.now += timedelta(seconds=62)
    m.tick()
    assert stale(1) and not stale(2)
    assert m.label(1).endswith("last seen 3 min ago")
    assert seen[0].ids == {1, 3, 4, 5}
    clock.now += timedelta(minutes=2)
    m.tick()
    assert m.label(1).endswith("last seen 5 min ago") and stale(2)


def test_never_seen_crew_is_stale() -> None:
    clock = Clock()
    m = CrewLayerModel(LocalProjection(*syn.CENTRE), clock=clock)
    m.upsert(
        [{"id": 1, "name": "Night", "status": "off_shift", "last_lon": None, "last_lat": None}]
    )
    assert m.label(1) == "Night · OFF · never seen"
    assert not m.shown_mask()[0]  # no position, nothing to draw


def test_trail_keeps_recent_positions_as_one_polyline() -> None:
    clock = Clock()
    m = _model(clock)
    for k in range(TRAIL_LENGTH + 3):
        m.upsert([{"id": 1, "last_lon": syn.CENTRE[0] + k * 1e-4, "last_lat": syn.CENTRE[1]}])
    m.upsert([{"id": 2, "last_lon": syn.CENTRE[0], "last_lat": syn.CENTRE[1] + 1e-3}])
    x, _y, connect = m.trails()
    assert len(x) == TRAIL_LENGTH + 2
    assert connect.tolist().count(False) == 2
    r = m.table.row(1)
    assert m.table.rows["trail_n"][r] == TRAIL_LENGTH
    last = m.table.rows["trail"][r][-1]
    assert np.allclose(last, (m.table.rows["x"][r], m.table.rows["y"][r]))
