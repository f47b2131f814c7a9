"""Shortest driving times and routes with scipy.sparse.csgraph.

Why scipy and not networkx: ``scipy.sparse.csgraph.dijkstra`` runs in C over
the graph's CSR arrays, with no Python object per node or edge, and answers
"everyone to one target" in one call. networkx walks Python dicts and is one
to two orders of magnitude slower per search; it is used only as the naive
reference in tests and in ``tests/bench/recommend.py``.

The question dispatch asks is "how long does each crew need to reach this
job?": many sources, one target. So the search runs once on the *reversed*
graph from the target. The target sits mid-segment: it becomes a virtual
node appended to the reversed CSR arrays (one extra row: arcs to the
segment's ends the one-way rule lets a vehicle come from, weighted by the
share of the segment still to drive). Sources also sit mid-segment: each
leaves towards the end(s) its segment allows, plus the direct drive when it
shares the target's segment and the direction allows it. Nothing here
raises for an unreachable point: times are ``inf`` and routes ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from backend.routing.graph import FloatArray, IntArray, RoadGraph
from backend.routing.snapping import RoadSnapper, Snap


@dataclass(frozen=True, slots=True)
class Route:
    """A drive from one road position to another: time, distance and lon/lat polyline."""

    seconds: float
    meters: float
    coords: tuple[tuple[float, float], ...]


class TargetSearch:
    """Travel times from every node to one target, from one reversed Dijkstra run.

    ``dist[n]`` is the driving time (s) from node ``n`` to the target and
    ``pred[n]`` the next node on that drive (the virtual target node is
    ``graph.n_nodes``); unreachable nodes have ``inf``.
    """

    def __init__(self, graph: RoadGraph, target: Snap, limit_s: float = math.inf):
        self.graph = graph
        self.target = target
        n = graph.n_nodes
        s, f = target.segment, target.fraction
        w = float(graph.seg_time_s[s])
        # Coming along the segment from its start covers f of it; from its end, 1 - f.
        # A target exactly on an end node is reached at that node whatever the one-way rule.
        self.from_start = f * w if graph.seg_fwd[s] or f == 0.0 else math.inf
        self.from_end = (1.0 - f) * w if graph.seg_bwd[s] or f == 1.0 else math.inf
        heads: list[int] = []
        costs: list[float] = []
        u, v = int(graph.seg_u[s]), int(graph.seg_v[s])
        if u == v:
            heads, costs = [u], [min(self.from_start, self.from_end)]
        else:
            for node, cost in ((u, self.from_start), (v, self.from_end)):
                if math.isfinite(cost):
                    heads.append(node)
                    costs.append(cost)
        indptr = np.append(graph.rev_indptr, graph.rev_indptr[-1] + len(heads))
        indices = np.concatenate([graph.rev_indices, np.asarray(heads, dtype=np.int64)])
        data = np.concatenate([graph.rev_data, np.asarray(costs, dtype=np.float64)])
        matrix = csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
        dist, pred = dijkstra(
            matrix, directed=True, indices=n, return_predecessors=True, limit=limit_s
        )
        self.dist: FloatArray = dist
        self.pred: IntArray = pred
        self.limit_s = limit_s

    def _options(self, src: Snap) -> list[tuple[float, str]]:
        """(seconds, how) for each way ``src`` can leave its segment towards the target."""
        g, s, f = self.graph, src.segment, src.fraction
        w = float(g.seg_time_s[s])
        out: list[tuple[float, str]] = []
        if s == self.target.segment:
            tf = self.target.fraction
            if f == tf or (g.seg_fwd[s] and f < tf) or (g.seg_bwd[s] and f > tf):
                out.append((abs(tf - f) * w, "direct"))
        # A source exactly on an end node stands at that junction: it may leave by any arc.
        if g.seg_fwd[s] or f == 1.0:
            out.append(((1.0 - f) * w + float(self.dist[g.seg_v[s]]), "end"))
        if g.seg_bwd[s] or f == 0.0:
            out.append((f * w + float(self.dist[g.seg_u[s]]), "start"))
        return [(t, how) for t, how in out if t <= self.limit_s]

    def seconds(self, src: Snap | None) -> float:
        """Driving time (s) from ``src`` to the target; ``inf`` when unreachable or not snapped."""
        if src is None:
            return math.inf
        return min((t for t, _ in self._options(src)), default=math.inf)

    def seconds_many(self, sources: Sequence[Snap | None]) -> FloatArray:
        """:meth:`seconds` for many sources at once (vectorised over the distance array)."""
        out = np.full(len(sources), math.inf)
        idx = [i for i, s in enumerate(sources) if s is not None]
        if not idx:
            return out
        g = self.graph
        snaps = [sources[i] for i in idx]
        seg = np.array([s.segment for s in snaps if s is not None], dtype=np.int64)
        frac = np.array([s.fraction for s in snaps if s is not None], dtype=np.float64)
        w = g.seg_time_s[seg]
        via_end = np.where(
            g.seg_fwd[seg] | (frac == 1.0), (1.0 - frac) * w + self.dist[g.seg_v[seg]], math.inf
        )
        via_start = np.where(
            g.seg_bwd[seg] | (frac == 0.0), frac * w + self.dist[g.seg_u[seg]], math.inf
        )
        best = np.minimum(via_end, via_start)
        same = np.flatnonzero(seg == self.target.segment)
        for k in same.tolist():
            best[k] = min(best[k], self.seconds(snaps[k]))
        best[best > self.limit_s] = math.inf
        out[idx] = best
        return out

    def route(self, src: Snap | None) -> Route | None:
        """The fastest drive from ``src`` to the target with its geometry; None when unreachable."""
        if src is None:
            return None
        options = self._options(src)
        if not options:
            return None
        seconds, how = min(options, key=lambda o: o[0])
        if not math.isfinite(seconds):
            return None
        g, t = self.graph, self.target
        s = src.segment
        if how == "direct":
            lo, hi = sorted((src.along_m, t.along_m))
            piece = g.piece_lonlat(s, lo, hi)
            if src.along_m > t.along_m:
                piece = piece[::-1]
            meters = abs(t.fraction - src.fraction) * float(g.seg_len_m[s])
            return _route(seconds, meters, [piece])
        pieces: list[FloatArray] = []
        length = float(g.seg_len_m[s])
        if how == "end":
            pieces.append(g.piece_lonlat(s, src.along_m, float(g.seg_proj_len[s])))
            meters = (1.0 - src.fraction) * length
            node = int(g.seg_v[s])
        else:
            pieces.append(g.piece_lonlat(s, 0.0, src.along_m)[::-1])
            meters = src.fraction * length
            node = int(g.seg_u[s])
        virtual = g.n_nodes
        for _ in range(g.n_nodes + 1):
            nxt = int(self.pred[node])
            if nxt == virtual:
                break
            entry = g.arc_entry(node, nxt)
            seg = int(g.fwd_seg[entry])
            coords = g.seg_lonlat[seg]
            pieces.append(coords if g.fwd_dir[entry] > 0 else coords[::-1])
            meters += float(g.seg_len_m[seg])
            node = nxt
        ts = t.segment
        t_len = float(g.seg_len_m[ts])
        u_t = int(g.seg_u[ts])
        # The last hop enters the target's segment at whichever end the search used.
        if node == u_t and (node != int(g.seg_v[ts]) or self.from_start <= self.from_end):
            pieces.append(g.piece_lonlat(ts, 0.0, t.along_m))
            meters += t.fraction * t_len
        else:
            pieces.append(g.piece_lonlat(ts, t.along_m, float(g.seg_proj_len[ts]))[::-1])
            meters += (1.0 - t.fraction) * t_len
        return _route(seconds, meters, pieces)


def _route(seconds: float, meters: float, pieces: list[FloatArray]) -> Route:
    """A Route from consecutive lon/lat pieces, dropping repeated joints."""
    coords = np.vstack(pieces)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(np.diff(coords, axis=0) != 0.0, axis=1)
    pts = coords[keep]
    if len(pts) == 1:  # source and target coincide: a zero-length drive still has two ends
        pts = np.vstack([pts, pts])
    return Route(
        seconds=float(seconds),
        meters=float(meters),
        coords=tuple((float(x), float(y)) for x, y in pts.tolist()),
    )


class Router:
    """Snapping plus shortest paths on one :class:`RoadGraph`.

    Making one builds the graph's lookup tables and the snapping tree (tens of
    milliseconds for a city); keep it as long as the road network is unchanged.
    """

    def __init__(self, graph: RoadGraph):
        self.graph = graph
        self.snapper = RoadSnapper(graph)
        graph.prepare()
        _ = self.snapper.tree

    def search_to(self, target: Snap, limit_s: float = math.inf) -> TargetSearch:
        """One reversed Dijkstra: travel times from everywhere to ``target``."""
        return TargetSearch(self.graph, target, limit_s)

    def route(self, src: Snap | None, target: Snap | None) -> Route | None:
        """The fastest drive between two road positions, or None when there is none."""
        if src is None or target is None or not self.graph.n_nodes:
            return None
        return self.search_to(target).route(src)

    def route_lonlat(self, lon0: float, lat0: float, lon1: float, lat1: float) -> Route | None:
        """The fastest drive between two lon/lat points (each snapped to its nearest road)."""
        a, b = self.snapper.snap_many([lon0, lon1], [lat0, lat1])
        return self.route(a, b)
