"""Open issues: closed ones leave, ages move with the clock, grid clusters count right."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from layers.issues.model import IssueLayerModel, grid_clusters
from layers.projection import LocalProjection
from tests.layers import synthetic as syn


class Clock:
    """A clock tests can move."""

    def __init__(self) -> None:
        self.now = syn.NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def test_grid_clusters_count_points_per_cell() -> None:
    x = np.array([1.0, 2.0, 3.0, 15.0, 16.0, -1.0])
    y = np.array([1.0, 2.0, 9.0, 1.0, 2.0, 1.0])
    cx, cy, count, label = grid_clusters(x, y, 10.0)
    assert sorted(count.tolist()) == [1, 2, 3]
    big = int(np.argmax(count))
    assert cx[big] == pytest.approx(2.0) and cy[big] == pytest.approx(4.0)
    assert (label[:3] == big).all()
    with pytest.raises(ValueError):
        grid_clusters(x, y, 0.0)


def test_clusters_cover_every_shown_issue_once() -> None:
    m = IssueLayerModel(LocalProjection(*syn.CENTRE), clock=Clock())
    m.replace_all(syn.issues(1000))
    coarse = m.clusters(2000.0)  # the issues span 6 km: at most 4 x 4 cells
    fine = m.clusters(5.0)
    assert coarse.count.sum() == fine.count.sum() == 1000
    assert len(coarse.count) <= 16 and len(fine.count) > 950
    k = int(np.argmax(coarse.count))
    assert len(coarse.members(k)) == coarse.count[k]
    m.set_hidden("category", {syn.CATEGORIES[0]})
    assert m.clusters(2000.0).count.sum() == 1000 - 334


def test_closed_issues_leave_the_layer() -> None:
    m = IssueLayerModel(LocalProjection(*syn.CENTRE), clock=Clock())
    m.replace_all(syn.issues(10))
    m.upsert([{"id": 4, "status": "closed"}])
    assert 4 not in m.records and len(m) == 9
    m.upsert(
        [
            {
                "id": 50,
                "category": "Graffiti Removal",
                "lon": syn.CENTRE[0],
                "lat": syn.CENTRE[1],
                "status": "closed",
                "requested_at": syn.NOW,
            }
        ]
    )
    assert 50 not in m.records


def test_age_bands_follow_the_injected_clock() -> None:
    clock = Clock()
    m = IssueLayerModel(LocalProjection(*syn.CENTRE), clock=clock)
    m.replace_all(
        [
            {
                "id": 1,
                "category": "Pothole",
                "lon": syn.CENTRE[0],
                "lat": syn.CENTRE[1],
                "requested_at": (syn.NOW - timedelta(minutes=50)).isoformat(),
            },
            {
                "id": 2,
                "category": "Pothole",
                "lon": syn.CENTRE[0],
                "lat": syn.CENTRE[1],
                "requested_at": syn.NOW - timedelta(days=3),
            },
        ]
    )
    band = lambda fid: int(m.table.rows["age_band"][m.table.row(fid)])  # noqa: E731
    assert (band(1), band(2)) == (0, 2)
    seen = []
    m.changed.connect(seen.append)
    clock.now += timedelta(minutes=20)
    m.tick()
    assert band(1) == 1 and [c.ids for c in seen] == [{1}]
    m.tick()
    assert len(seen) == 1  # nothing moved: nothing announced
    assert "waiting 1 h" in m.describe(1)
