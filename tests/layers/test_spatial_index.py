"""The grid index returns exactly the points in a rectangle, before and after moves."""

from __future__ import annotations

import numpy as np
import pytest

from layers.spatial_index import GridIndex


def _brute(x: np.ndarray, y: np.ndarray, r: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = r
    with np.errstate(invalid="ignore"):
        return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def _points(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Clustered like a city: most points in a few dense blobs, some spread out.
    centres = rng.uniform(-4000, 4000, (6, 2))
    pick = rng.integers(0, 6, n)
    x = centres[pick, 0] + rng.normal(0, 300, n)
    y = centres[pick, 1] + rng.normal(0, 300, n)
    x[::97] = np.nan  # features without a position
    return x, y


def _rects(rng: np.random.Generator, k: int) -> list[tuple[float, float, float, float]]:
    out = []
    for _ in range(k):
        cx, cy = rng.uniform(-5000, 5000, 2)
        w, h = 10 ** rng.uniform(0, 4, 2)
        out.append((cx - w, cy - h, cx + w, cy + h))
    out.append((-1e9, -1e9, 1e9, 1e9))  # everything
    out.append((1e8, 1e8, 2e8, 2e8))  # nothing
    return out


def test_query_returns_exactly_the_points_inside() -> None:
    x, y = _points(50_000)
    index = GridIndex(x, y)
    rng = np.random.default_rng(4)
    for r in _rects(rng, 60):
        got = index.query(*r)
        assert np.array_equal(got, _brute(x, y, r)), r


def test_query_honours_a_mask_and_points_on_the_edge() -> None:
    x, y = _points(20_000)
    mask = np.random.default_rng(5).random(len(x)) < 0.7
    index = GridIndex(x, y)
    # A rectangle whose edges pass exactly through points: both edges are inclusive.
    ok = np.flatnonzero(np.isfinite(x))
    a, b = ok[10], ok[20]
    r = (min(x[a], x[b]), min(y[a], y[b]), max(x[a], x[b]), max(y[a], y[b]))
    got = index.query(*r, mask=mask)
    want = _brute(x, y, r)
    assert np.array_equal(got, want[mask[want]])
    assert {a, b} & set(want.tolist()) == {a, b}


def test_moved_points_are_found_after_invalidate() -> None:
    x, y = _points(10_000)
    index = GridIndex(x.copy(), y.copy())
    index.query(0, 0, 1, 1)
    rng = np.random.default_rng(6)
    rows = rng.choice(len(x), 500, replace=False)
    index.x[rows] = rng.uniform(-9000, 9000, 500)  # some leave the old extent
    index.y[rows] = rng.uniform(-9000, 9000, 500)
    index.invalidate()
    for r in _rects(rng, 30):
        assert np.array_equal(index.query(*r), _brute(index.x, index.y, r))
    assert index.builds == 2


def test_estimate_bounds_the_count_and_follows_adjustments() -> None:
    x, y = _points(30_000)
    index = GridIndex(x, y)
    mask = np.ones(len(x), dtype=bool)
    index.set_weights(mask)
    rng = np.random.default_rng(7)
    for r in _rects(rng, 30):
        assert index.estimate(*r) >= len(index.query(*r, mask=mask))
    assert index.estimate(-1e9, -1e9, 1e9, 1e9) == int(np.isfinite(x).sum())
    # Hiding points one by one equals recounting from scratch.
    off = rng.choice(len(x), 3000, replace=False)
    mask[off] = False
    index.adjust_weights(off, -np.ones(len(off), dtype=np.int64))
    fresh = GridIndex(x, y)
    fresh.set_weights(mask)
    for r in _rects(rng, 30):
        assert index.estimate(*r) == fresh.estimate(*r)


def test_empty_and_all_nan() -> None:
    e = GridIndex(np.zeros(0), np.zeros(0))
    assert len(e.query(-1, -1, 1, 1)) == 0 and e.bounds() is None
    n = GridIndex(np.full(5, np.nan), np.full(5, np.nan))
    assert len(n.query(-1e9, -1e9, 1e9, 1e9)) == 0
    with pytest.raises(ValueError):
        GridIndex(np.zeros(3), np.zeros(4))
