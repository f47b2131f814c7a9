"""Screen-space label placement: which labels to draw, and beside which side of their point.

Labels of close points overlap on screen and neither can be read. A greedy pass
places labels in priority order: each one takes the first of a few candidate
positions around its point that overlaps no label already placed (preferring one
that also leaves other points' markers uncovered), or is left out. A uniform grid
of cells keeps each test to the few boxes nearby; callers cache the result until
the zoom or the labels change.

No Qt here: boxes are plain numpy arrays in pixels, so this is tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: A label that has no free position.
HIDDEN = -1


@dataclass(frozen=True)
class Candidate:
    """A label position relative to its point, in pixels: top-left = anchor + p + f * size.

    ``fx``/``fy`` are fractions of the label's own width/height, so "left of the
    point" (``fx=-1``) or "centred above" (``fx=-0.5, fy=-1``) work for any text.
    """

    px: float = 0.0
    py: float = 0.0
    fx: float = 0.0
    fy: float = 0.0


def candidates_around(gap: float, dy: float = 0.0) -> tuple[Candidate, ...]:
    """Right of the point, then left, above and below it, ``gap`` pixels clear of its centre.

    The first is the usual place (vertically centred ``dy`` pixels off the point);
    the others are only used when it is taken.
    """
    return (
        Candidate(px=gap, py=dy, fy=-0.5),
        Candidate(px=-gap, py=dy, fx=-1.0, fy=-0.5),
        Candidate(py=-gap, fx=-0.5, fy=-1.0),
        Candidate(py=gap, fx=-0.5),
    )


def placement_order(rank: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Indices by rank (lower first), ties by id, so the result does not depend on row order."""
    return np.lexsort((np.asarray(ids), np.asarray(rank)))


#: Grid cell size in pixels for looking up nearby boxes (labels are ~100x20 px).
CELL = 128.0
#: Cell (gx, gy) is dict key gx * _KEY + gy.
_KEY = 1 << 24


def place_labels(
    x: np.ndarray,
    y: np.ndarray,
    width: np.ndarray,
    height: np.ndarray,
    order: np.ndarray,
    candidates: Sequence[Candidate],
    marker: float = 0.0,
    gap: float = 1.0,
) -> np.ndarray:
    """The candidate each label takes (an index into ``candidates``), or :data:`HIDDEN`.

    ``x``/``y`` are the points in screen pixels, ``width``/``height`` the label
    sizes, ``order`` the placement order (most important first; see
    :func:`placement_order`). With ``marker`` > 0 every point also has a square
    marker of that size which labels avoid when another free position exists; a
    label is never left out for covering a marker. Placed labels are at least
    ``gap`` pixels apart. Points that are not finite are hidden.

    The candidate boxes are computed with numpy; the greedy pass is plain
    Python over a dict of grid cells (for a few hundred boxes this beats numpy
    calls on one box at a time), written out inline as it is the hot loop.
    """
    n = len(x)
    chosen = np.full(n, HIDDEN, dtype=np.int64)
    m = len(candidates)
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if not len(ok) or not m:
        return chosen
    # Work on the finite labels only, numbered 0..p-1 in the order they are placed.
    at = np.full(n, -1, dtype=np.int64)
    at[ok] = np.arange(len(ok))
    seq = at[np.asarray(order, dtype=np.int64)]
    seq = ok[seq[seq >= 0]]
    p = len(seq)
    x, y = x[seq], y[seq]
    w, h = np.asarray(width, float)[seq], np.asarray(height, float)[seq]
    c = np.array([(k.px, k.py, k.fx, k.fy) for k in candidates], dtype=float)
    left = x[:, None] + c[:, 0] + c[:, 2] * w[:, None] - gap / 2
    top = y[:, None] + c[:, 1] + c[:, 3] * h[:, None] - gap / 2
    # Flat lists of plain floats and ints (no per-box Python objects for the collector):
    # label i, candidate k is at [4 * (i * m + k)]: left, top, right, bottom and cell span.
    boxes = np.stack([left, top, left + w[:, None] + gap, top + h[:, None] + gap], axis=2)
    inv = 1.0 / CELL
    box_l = boxes.ravel().tolist()
    span_l = np.floor(boxes * inv).astype(np.int64).ravel().tolist()
    half = marker / 2.0
    # Markers go in every cell their square touches, so a box looks only in its own cells.
    # Cells are keyed by one int (a rare collision only costs a needless comparison).
    markers: dict[int, list[float]] = {}
    if marker > 0:
        sq = np.stack([x - half, y - half, x + half, y + half], axis=1)
        sq_l = sq.ravel().tolist()
        cells = np.floor(sq * inv).astype(np.int64).ravel().tolist()
        for i in range(p):
            q = 4 * i
            gx0, gy0, gx1, gy1 = cells[q : q + 4]
            for gx in range(gx0, gx1 + 1):
                for gy in range(gy0, gy1 + 1):
                    key = gx * _KEY + gy
                    cell = markers.get(key)
                    if cell is None:
                        cell = markers[key] = []
                    cell += (float(i), *sq_l[q : q + 4])
    placed: dict[int, list[float]] = {}
    out = [HIDDEN] * p
    empty: list[float] = []
    for i in range(p):
        fallback = HIDDEN
        for k in range(m):
            q = 4 * (i * m + k)
            l0, t0, r0, b0 = box_l[q : q + 4]
            gx0, gy0, gx1, gy1 = span_l[q : q + 4]
            clash = False
            for gx in range(gx0, gx1 + 1):
                for gy in range(gy0, gy1 + 1):
                    cell = placed.get(gx * _KEY + gy, empty)
                    for e in range(0, len(cell), 4):
                        if (
                            l0 < cell[e + 2]
                            and cell[e] < r0
                            and t0 < cell[e + 3]
                            and cell[e + 1] < b0
                        ):
                            clash = True
                            break
                    if clash:
                        break
                if clash:
                    break
            if clash:
                continue
            if markers:
                covers = False
                fi = float(i)
                for gx in range(gx0, gx1 + 1):
                    for gy in range(gy0, gy1 + 1):
                        cell = markers.get(gx * _KEY + gy, empty)
                        for e in range(0, len(cell), 5):
                            if (
                                cell[e] != fi
                                and l0 < cell[e + 3]
                                and cell[e + 1] < r0
                                and t0 < cell[e + 4]
                                and cell[e + 2] < b0
                            ):
                                covers = True
                                break
                        if covers:
                            break
                    if covers:
                        break
                if covers:
                    if fallback == HIDDEN:
                        fallback = k
                    continue
            fallback = k
            break
        if fallback != HIDDEN:
            out[i] = fallback
            q = 4 * (i * m + fallback)
            box = box_l[q : q + 4]
            gx0, gy0, gx1, gy1 = span_l[q : q + 4]
            for gx in range(gx0, gx1 + 1):
                for gy in range(gy0, gy1 + 1):
                    key = gx * _KEY + gy
                    cell = placed.get(key)
                    if cell is None:
                        cell = placed[key] = []
                    cell += box
    chosen[seq] = out
    return chosen


def drop_overlaps(
    left: np.ndarray, top: np.ndarray, width: np.ndarray, height: np.ndarray, gap: float = 1.0
) -> np.ndarray:
    """Which boxes to keep so none overlap, dropping the later box of each overlapping pair.

    Boxes come most important first. A quick repair for a placement reused at a
    slightly different zoom (it may drop more than the greedy pass would); a
    sort-and-sweep along x, all numpy.
    """
    n = len(left)
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return keep
    right, bottom = left + width + gap, top + height + gap
    o = np.argsort(left, kind="stable")
    lo = left[o]
    end = np.searchsorted(lo, right[o], side="left")
    start = np.arange(1, n + 1)
    count = np.maximum(end - start, 0)
    total = int(count.sum())
    if not total:
        return keep
    first = np.cumsum(count) - count
    s = np.repeat(np.arange(n), count)
    t = np.arange(total) - np.repeat(first, count) + np.repeat(start, count)
    a, b = o[s], o[t]
    meet = (top[a] < bottom[b]) & (top[b] < bottom[a]) & (left[b] < right[a])
    keep[np.maximum(a[meet], b[meet])] = False
    return keep


def boxes_of(
    x: np.ndarray,
    y: np.ndarray,
    width: np.ndarray,
    height: np.ndarray,
    chosen: np.ndarray,
    candidates: Sequence[Candidate],
) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners (left, top) of labels at their chosen candidates (hidden ones: NaN)."""
    c = np.array([(k.px, k.py, k.fx, k.fy) for k in candidates], dtype=float).reshape(-1, 4)
    shown = chosen >= 0
    pick = c[np.where(shown, chosen, 0)]
    left = np.where(shown, x + pick[:, 0] + pick[:, 2] * width, np.nan)
    top = np.where(shown, y + pick[:, 1] + pick[:, 3] * height, np.nan)
    return left, top
