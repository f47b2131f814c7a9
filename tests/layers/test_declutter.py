"""Greedy label placement: no two placed labels overlap, the important ones win, stably."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from layers import declutter
from layers.crews.model import CrewLayerModel
from layers.declutter import HIDDEN, Candidate, place_labels, placement_order
from layers.projection import LocalProjection
from tests.conftest import ROOT
from tests.layers import synthetic as syn

RIGHT = (Candidate(px=10.0, fy=-0.5),)
AROUND = declutter.candidates_around(10.0, dy=-6.0)


def _overlaps(
    left: np.ndarray, top: np.ndarray, w: np.ndarray, h: np.ndarray
) -> list[tuple[int, int]]:
    """Pairs of boxes that intersect (brute force, for checking the grid)."""
    out = []
    for i in range(len(left)):
        for j in range(i + 1, len(left)):
            if (
                left[i] < left[j] + w[j]
                and left[j] < left[i] + w[i]
                and top[i] < top[j] + h[j]
                and top[j] < top[i] + h[i]
            ):
                out.append((i, j))
    return out


def _placed_boxes(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    chosen: np.ndarray,
    cands: tuple[Candidate, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    left, top = declutter.boxes_of(x, y, w, h, chosen, cands)
    on = chosen >= 0
    return left[on], top[on], w[on], h[on]


def test_two_labels_on_one_spot_keep_the_more_important_one() -> None:
    x, y = np.array([100.0, 103.0]), np.array([50.0, 52.0])
    w, h = np.array([120.0, 120.0]), np.array([18.0, 18.0])
    # The second label matters more (rank 0): it keeps its place, the first is hidden.
    order = placement_order(np.array([2, 0]), np.array([1, 2]))
    assert list(place_labels(x, y, w, h, order, RIGHT)) == [HIDDEN, 0]
    # With somewhere else to go, the first moves aside instead (left of its point).
    assert list(place_labels(x, y, w, h, order, AROUND)) == [1, 0]


def test_ties_go_by_id_whatever_the_row_order() -> None:
    x, y = np.array([0.0, 1.0, 2.0]), np.zeros(3)
    w, h = np.full(3, 80.0), np.full(3, 16.0)
    ids = np.array([30, 10, 20])
    chosen = place_labels(x, y, w, h, placement_order(np.zeros(3), ids), RIGHT)
    assert list(chosen) == [HIDDEN, 0, HIDDEN]  # id 10 wins
    perm = np.array([2, 0, 1])
    again = place_labels(
        x[perm], y[perm], w[perm], h[perm], placement_order(np.zeros(3), ids[perm]), RIGHT
    )
    assert list(again) == [HIDDEN, HIDDEN, 0]


def test_far_apart_labels_all_stay_where_they_usually_are() -> None:
    x = np.arange(10) * 300.0
    y = np.zeros(10)
    w, h = np.full(10, 150.0), np.full(10, 18.0)
    chosen = place_labels(x, y, w, h, np.arange(10), AROUND, marker=18.0)
    assert (chosen == 0).all()


def test_labels_avoid_other_markers_when_they_can() -> None:
    # A marker 40 px right of the first point: the right-hand label would cover it.
    x, y = np.array([0.0, 40.0]), np.array([0.0, 0.0])
    w, h = np.array([100.0, 20.0]), np.array([18.0, 18.0])
    chosen = place_labels(x, y, w, h, np.array([0, 1]), AROUND, marker=18.0)
    assert chosen[0] == 1  # left of its point instead
    # With only one place allowed it is still drawn: covering a marker never hides a label.
    chosen = place_labels(x, y, w, h, np.array([0, 1]), RIGHT, marker=18.0)
    assert chosen[0] == 0


def test_a_dense_random_field_never_overlaps_and_is_quick() -> None:
    rng = np.random.default_rng(7)
    n = 400
    x, y = rng.uniform(0, 1600, n), rng.uniform(0, 900, n)
    w, h = rng.uniform(60, 200, n), np.full(n, 19.0)
    order = placement_order(rng.integers(0, 3, n), np.arange(n))
    t0 = time.perf_counter()
    chosen = place_labels(x, y, w, h, order, AROUND, marker=18.0)
    elapsed = time.perf_counter() - t0
    assert not _overlaps(*_placed_boxes(x, y, w, h, chosen, AROUND))
    assert (chosen >= 0).sum() > n / 4  # many still shown
    assert (chosen[order[:5]] >= 0).all()  # the first placed always find room
    assert elapsed < 0.25, elapsed  # a few ms in practice; generous for a loaded machine


def test_a_higher_rank_is_never_hidden_by_a_lower_one() -> None:
    rng = np.random.default_rng(11)
    n = 200
    x, y = rng.uniform(0, 500, n), rng.uniform(0, 300, n)
    w, h = np.full(n, 120.0), np.full(n, 18.0)
    rank = rng.integers(0, 3, n)
    chosen = place_labels(x, y, w, h, placement_order(rank, np.arange(n)), RIGHT)
    shown = chosen >= 0
    # A hidden label overlaps some shown label of the same or a better rank, never only worse.
    for i in np.flatnonzero(~shown):
        hit = [
            j
            for j in np.flatnonzero(shown)
            if abs(x[i] - x[j]) < w[i] + 1 and abs(y[i] - y[j]) < h[i] + 1
        ]
        assert hit and min(rank[j] for j in hit) <= rank[i]


def test_points_off_the_map_are_hidden() -> None:
    x, y = np.array([np.nan, 0.0]), np.array([0.0, 0.0])
    chosen = place_labels(x, y, np.full(2, 50.0), np.full(2, 10.0), np.array([0, 1]), RIGHT)
    assert list(chosen) == [HIDDEN, 0]
    e = np.zeros(0)
    assert len(place_labels(e, e, e, e, e, RIGHT)) == 0


def test_crew_label_rank_puts_crews_at_work_first() -> None:
    m = CrewLayerModel(LocalProjection(*syn.CENTRE))
    statuses = ["off_shift", "available", "on_site", "en_route", "mystery"]
    m.replace_all(
        [{**r, "status": s} for r, s in zip(syn.crews(len(statuses)), statuses, strict=True)]
    )
    rows = m.table.rows_of([1, 2, 3, 4, 5])
    assert list(m.label_rank(rows)) == [2, 1, 0, 0, 3]


def test_declutter_imports_without_qt() -> None:
    script = (
        "import sys\n"
        "import layers.declutter\n"
        "assert not any(k.split('.')[0] in ('PySide6', 'pyqtgraph') for k in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr


def test_drop_overlaps_keeps_the_earlier_box_of_each_overlapping_pair() -> None:
    left = np.array([0.0, 50.0, 300.0, 310.0])
    top = np.array([0.0, 5.0, 0.0, 40.0])
    w, h = np.full(4, 100.0), np.full(4, 20.0)
    assert list(declutter.drop_overlaps(left, top, w, h)) == [True, False, True, True]
    rng = np.random.default_rng(5)
    left, top = rng.uniform(0, 800, 300), rng.uniform(0, 600, 300)
    w, h = rng.uniform(50, 150, 300), np.full(300, 18.0)
    keep = declutter.drop_overlaps(left, top, w, h)
    assert not _overlaps(left[keep], top[keep], w[keep], h[keep])
    assert keep[0] and 0 < keep.sum() < 300
