"""Many-to-many driving times: every point to every other point, by road.

Fleet planning needs the full travel-time matrix between crews, jobs and
depots. Calling :class:`~backend.routing.paths.TargetSearch` once per point
would rebuild the reversed CSR matrix for each (copying every arc); here all
targets become virtual nodes of **one** augmented reversed graph and a single
``scipy.sparse.csgraph.dijkstra`` call runs one search per target in C. The
virtual nodes only have outgoing arcs in the reversed graph (arcs into their
segment's ends), so no search can pass through another target's node.

Sources leave their segment the same way :meth:`TargetSearch.seconds_many`
lets them (towards each end the one-way rule allows, or the direct drive
along a shared segment), so every entry equals what the single-target search
answers; the tests check that. Targets are searched in chunks so memory stays
at ``chunk × nodes`` floats even for a large city.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from backend.routing.graph import FloatArray, RoadGraph
from backend.routing.snapping import Snap

#: Targets searched per dijkstra call (bounds memory at CHUNK × nodes distances).
CHUNK = 128


def _entry_costs(graph: RoadGraph, snap: Snap) -> tuple[list[int], list[float]]:
    """Reversed-graph arcs of a target's virtual node: the segment ends it can be reached from."""
    s, f = snap.segment, snap.fraction
    w = float(graph.seg_time_s[s])
    from_start = f * w if graph.seg_fwd[s] or f == 0.0 else math.inf
    from_end = (1.0 - f) * w if graph.seg_bwd[s] or f == 1.0 else math.inf
    u, v = int(graph.seg_u[s]), int(graph.seg_v[s])
    if u == v:
        return [u], [min(from_start, from_end)]
    heads, costs = [], []
    for node, cost in ((u, from_start), (v, from_end)):
        if math.isfinite(cost):
            heads.append(node)
            costs.append(cost)
    return heads, costs


def _target_dist(graph: RoadGraph, targets: Sequence[Snap]) -> FloatArray:
    """Node-to-target driving times, shape (len(targets), n_nodes)."""
    n = graph.n_nodes
    k = len(targets)
    heads: list[int] = []
    costs: list[float] = []
    counts: list[int] = []
    for t in targets:
        h, c = _entry_costs(graph, t)
        heads.extend(h)
        costs.extend(c)
        counts.append(len(h))
    indptr = np.concatenate(
        [graph.rev_indptr, graph.rev_indptr[-1] + np.cumsum(np.asarray(counts, dtype=np.int64))]
    )
    indices = np.concatenate([graph.rev_indices, np.asarray(heads, dtype=np.int64)])
    data = np.concatenate([graph.rev_data, np.asarray(costs, dtype=np.float64)])
    matrix = csr_matrix((data, indices, indptr), shape=(n + k, n + k))
    dist = dijkstra(matrix, directed=True, indices=np.arange(n, n + k))
    return np.asarray(dist, dtype=np.float64).reshape(k, n + k)[:, :n]


def travel_matrix(
    graph: RoadGraph,
    sources: Sequence[Snap | None],
    targets: Sequence[Snap | None] | None = None,
    chunk: int = CHUNK,
) -> FloatArray:
    """Driving seconds from each source (rows) to each target (columns); ``inf`` where none.

    ``targets`` defaults to ``sources`` (a square matrix with a zero diagonal).
    A point that is not snapped (None) has ``inf`` in its row and column.
    """
    square = targets is None
    tgts: Sequence[Snap | None] = sources if targets is None else targets
    out = np.full((len(sources), len(tgts)), math.inf)
    src_ok = [i for i, s in enumerate(sources) if s is not None]
    tgt_ok = [j for j, t in enumerate(tgts) if t is not None]
    if src_ok and tgt_ok and graph.n_nodes:
        src = [s for s in (sources[i] for i in src_ok) if s is not None]
        seg = np.array([s.segment for s in src], dtype=np.int64)
        frac = np.array([s.fraction for s in src], dtype=np.float64)
        w = graph.seg_time_s[seg]
        can_end = graph.seg_fwd[seg] | (frac == 1.0)
        can_start = graph.seg_bwd[seg] | (frac == 0.0)
        lead_end = np.where(can_end, (1.0 - frac) * w, math.inf)[:, None]
        lead_start = np.where(can_start, frac * w, math.inf)[:, None]
        u, v = graph.seg_u[seg], graph.seg_v[seg]
        rows = np.asarray(src_ok)
        for lo in range(0, len(tgt_ok), max(chunk, 1)):
            cols = tgt_ok[lo : lo + chunk]
            tg = [t for t in (tgts[j] for j in cols) if t is not None]
            dist = _target_dist(graph, tg)  # (targets, nodes)
            block = np.minimum(lead_end + dist[:, v].T, lead_start + dist[:, u].T)
            # Source and target on one segment: the direct drive along it, where allowed.
            t_seg = np.array([t.segment for t in tg], dtype=np.int64)
            t_frac = np.array([t.fraction for t in tg], dtype=np.float64)
            same_i, same_j = np.nonzero(seg[:, None] == t_seg[None, :])
            for i, j in zip(same_i.tolist(), same_j.tolist(), strict=True):
                f, tf, s = frac[i], t_frac[j], int(seg[i])
                if f == tf or (graph.seg_fwd[s] and f < tf) or (graph.seg_bwd[s] and f > tf):
                    block[i, j] = min(block[i, j], abs(tf - f) * float(w[i]))
            out[np.ix_(rows, np.asarray(cols))] = block
    if square:
        for i in src_ok:  # a point is where it is: no drive, whatever the one-way rule
            out[i, i] = 0.0
    return out
