"""Travel times agree with networkx on a random one-way-riddled street grid."""

from __future__ import annotations

import math
import random

import networkx as nx
import numpy as np
import pytest

from backend.routing import RoadRecord
from tests.backend.routing.handmade import SPEEDS, ll, road, router

SPACING = 80.0
N = 9


Street = tuple[RoadRecord, tuple[float, float], tuple[float, float]]


def random_grid(rng: random.Random) -> list[Street]:
    """Grid streets with random gaps, one-way codes and classes: (record, start, end) in metres."""
    out: list[Street] = []
    for i in range(N):
        for j in range(N):
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= N or j + dj >= N or rng.random() < 0.15:
                    continue
                a = (i * SPACING, j * SPACING)
                b = ((i + di) * SPACING, (j + dj) * SPACING)
                if rng.random() < 0.5:
                    a, b = b, a
                rec = road(
                    len(out) + 1,
                    a,
                    b,
                    oneway=rng.choice((0, 0, 1, -1)),
                    road_class=rng.choice(sorted(SPEEDS)),
                )
                out.append((rec, a, b))
    # an island street nobody can drive to or from
    island = ((N + 1) * SPACING, 0.0), ((N + 1) * SPACING, SPACING)
    out.append((road(len(out) + 1, *island), *island))
    return out


def reference_graph(grid: list[Street]) -> nx.DiGraph:
    """The same streets as a networkx graph, built straight from the records."""
    g = nx.DiGraph()
    for rec, a, b in grid:
        t = math.dist(a, b) / (SPEEDS[rec.road_class] / 3.6)
        for tail, head, ok in ((a, b, rec.oneway >= 0), (b, a, rec.oneway <= 0)):
            if ok and (not g.has_edge(tail, head) or g[tail][head]["weight"] > t):
                g.add_edge(tail, head, weight=t)
    return g


def attach(
    g: nx.DiGraph, name: str, rec: RoadRecord, a: tuple, b: tuple, f: float, out: bool
) -> object:
    """Add a point at fraction ``f`` of ``rec`` as a virtual node (or return its grid node)."""
    if f == 0.0:
        return a
    if f == 1.0:
        return b
    t = math.dist(a, b) / (SPEEDS[rec.road_class] / 3.6)
    if rec.oneway >= 0:  # drivable a→b
        g.add_edge(name, b, weight=(1 - f) * t) if out else g.add_edge(a, name, weight=f * t)
    if rec.oneway <= 0:  # drivable b→a
        g.add_edge(name, a, weight=f * t) if out else g.add_edge(b, name, weight=(1 - f) * t)
    return name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_travel_times_match_networkx(seed: int) -> None:
    rng = random.Random(seed)
    grid = random_grid(rng)
    r = router(*(rec for rec, _, _ in grid))
    picks = []
    for k in range(40):
        rec, a, b = grid[-1] if k in (1, 6) else grid[rng.randrange(len(grid))]
        f = rng.choice((0.0, 1.0, rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95)))
        picks.append((rec, a, b, f))
    points = [(a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])) for _, a, b, f in picks]
    snaps = r.snapper.snap_many([ll(*p)[0] for p in points], [ll(*p)[1] for p in points])
    compared = unreachable = 0
    for ti in range(0, len(picks), 4):
        search = r.search_to(snaps[ti])  # type: ignore[arg-type]
        ours = search.seconds_many(snaps)
        for si in range(len(picks)):
            g = reference_graph(grid)
            s_rec, s_a, s_b, s_f = picks[si]
            t_rec, t_a, t_b, t_f = picks[ti]
            src = attach(g, "S", s_rec, s_a, s_b, s_f, out=True)
            dst = attach(g, "T", t_rec, t_a, t_b, t_f, out=False)
            if s_rec.road_id == t_rec.road_id and 0 < s_f < 1 and 0 < t_f < 1:
                dirs = (s_rec.oneway >= 0 and s_f <= t_f) or (s_rec.oneway <= 0 and s_f >= t_f)
                if dirs:
                    t = math.dist(s_a, s_b) / (SPEEDS[s_rec.road_class] / 3.6)
                    g.add_edge("S", "T", weight=abs(t_f - s_f) * t)
            try:
                expected = nx.dijkstra_path_length(g, src, dst)
            except nx.NetworkXNoPath:
                expected = math.inf
            assert ours[si] == pytest.approx(expected, abs=1e-3), (si, ti)
            assert search.seconds(snaps[si]) == pytest.approx(ours[si], abs=1e-9)
            route = search.route(snaps[si])
            if math.isinf(expected):
                unreachable += 1
                assert route is None
                continue
            compared += 1
            assert route is not None and route.seconds == pytest.approx(expected, abs=1e-3)
            assert np.allclose(route.coords[0], ll(*points[si]), atol=1e-8)
            assert np.allclose(route.coords[-1], ll(*points[ti]), atol=1e-8)
    # the random grid must exercise both outcomes, or the test proves little
    assert compared > 100 and unreachable > 0
