"""The driving graph: road records in, nodes, segments and CSR adjacency out.

How the topology is found (the same rule for every source, so OSM ways,
Cambridge centerlines and the demo city all connect the same way):

1. Only drivable records are used; a MultiLineString contributes each part.
   Consecutive repeated vertices are dropped.
2. All vertices are projected into a local transverse Mercator centred on the
   network's extent (metres, scale error far below a metre at city size).
3. **End points** of all parts are clustered: two end points within
   :data:`SNAP_M` (0.5 m) of each other, directly or through a chain, are one
   node. This joins centerlines whose shared end differs by float noise.
   Coordinates are used rather than Cambridge's FromNode/ToNode ids: those
   exist in one source only, and 19 Cambridge features are digitised against
   their own From→To order, while their coordinates still coincide exactly.
4. **Interior vertices** become nodes too, splitting their road there, when
   they lie within :data:`SNAP_M` of an end point (a side street ending on a
   road that runs through), or when the very same coordinate (rounded to
   1e-7 degrees, about a centimetre) occurs more than once: an OSM way passing
   through an intersection shares that node with the crossing way. Vertices
   that only come close by chance (bridges have no shared vertex) stay apart.
5. Each piece between two consecutive nodes of a part is a **segment** with
   its own geometry, length (the record's ``length_m`` shared out in
   proportion to projected length) and travel time (length / class speed from
   :mod:`backend.routing.speeds`). ``oneway`` 1 allows start→end only, -1
   end→start only, 0 both.
6. Allowed directions become **arcs** in a CSR matrix (parallel arcs keep the
   fastest); the reversed matrix serves "everyone to one target" searches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from backend.routing.speeds import speed_mps

#: End points closer than this (metres) are one node.
SNAP_M = 0.5
#: Interior vertices equal after rounding to this many decimals of a degree are shared.
ROUND_DECIMALS = 7

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RoadRecord:
    """One road as the graph needs it (a ``roads`` row, or hand-made in tests).

    ``geom`` is a lon/lat LineString or MultiLineString; ``oneway`` is 0 (both
    ways), 1 (along the geometry) or -1 (against it); ``length_m`` of None means
    "measure it" (projected length).
    """

    road_id: int
    geom: BaseGeometry
    road_class: str = "residential"
    oneway: int = 0
    drivable: bool = True
    length_m: float | None = None
    name: str | None = None


@dataclass(slots=True)
class _Parts:
    """Flattened drivable line parts while the graph is being built."""

    coords: list[FloatArray] = field(default_factory=list)
    road: list[int] = field(default_factory=list)
    road_class: list[str] = field(default_factory=list)
    oneway: list[int] = field(default_factory=list)
    length_m: list[float | None] = field(default_factory=list)
    record_of: list[int] = field(default_factory=list)


def local_transformer(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    """Forward (lon/lat → metres) and inverse transformers of a tmerc centred on lon0/lat0."""
    crs = CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat0:.7f} +lon_0={lon0:.7f} +k=1 +x_0=0 +y_0=0 "
        "+ellps=WGS84 +units=m +no_defs"
    )
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return fwd, inv


def _line_parts(geom: BaseGeometry) -> list[FloatArray] | None:
    """The coordinate arrays of a (Multi)LineString, or None for any other geometry."""
    if isinstance(geom, LineString):
        lines = [geom]
    elif isinstance(geom, MultiLineString):
        lines = list(geom.geoms)
    else:
        return None
    out = []
    for line in lines:
        xy = np.asarray(line.coords, dtype=np.float64)[:, :2] if not line.is_empty else None
        if xy is None or len(xy) < 2 or not np.isfinite(xy).all():
            continue
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = np.any(np.diff(xy, axis=0) != 0.0, axis=1)
        xy = xy[keep]
        if len(xy) >= 2:
            out.append(xy)
    return out


def _cluster(points: FloatArray, radius: float) -> tuple[IntArray, IntArray]:
    """Cluster points chained within ``radius``.

    Returns each point's cluster number (numbered by first appearance) and
    each cluster's first point.
    """
    n = len(points)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse].astype(np.int64), first[order].astype(np.int64)


def build_csr(
    tails: IntArray, heads: IntArray, weights: FloatArray, n: int
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """CSR arrays (indptr, indices, data, source arc per entry), keeping the fastest parallel arc.

    Built by hand rather than through ``csr_matrix((w, (i, j)))``, which would
    *sum* parallel arcs instead of keeping the minimum.
    """
    arc = np.lexsort((np.arange(len(tails)), weights, heads, tails))
    t, h = tails[arc], heads[arc]
    first = np.ones(len(arc), dtype=bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    arc = arc[first]
    t, h = tails[arc], heads[arc]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=n), out=indptr[1:])
    return indptr, h.astype(np.int64), weights[arc].astype(np.float64), arc.astype(np.int64)


class RoadGraph:
    """A directed driving graph with segment geometry, ready for snapping and Dijkstra.

    Build it with :meth:`from_records` (pure, for tests and any source) or
    :func:`backend.routing.loading.graph_from_db`. Arrays are indexed by node
    id (``node_lonlat``), segment id (``seg_*``) or CSR entry (``fwd_*``).
    """

    def __init__(self, parts: _Parts, speeds: Mapping[str, float] | None, stats: dict[str, int]):
        self.stats = stats
        all_ll = np.concatenate(parts.coords) if parts.coords else np.zeros((0, 2))
        if len(all_ll):
            lo, hi = all_ll.min(axis=0), all_ll.max(axis=0)
            lon0, lat0 = (lo + hi) / 2.0
        else:
            lon0, lat0 = 0.0, 0.0
        self.to_xy, self.to_lonlat = local_transformer(float(lon0), float(lat0))
        all_xy = self._project(all_ll)
        self._build(parts, all_ll, all_xy, speeds)

    @classmethod
    def from_records(
        cls, records: Iterable[RoadRecord], speeds: Mapping[str, float] | None = None
    ) -> RoadGraph:
        """A graph from road records; non-drivable and non-line records are left out and counted."""
        parts = _Parts()
        stats = {"roads": 0, "not_drivable": 0, "bad_geometry": 0}
        for index, rec in enumerate(records):
            stats["roads"] += 1
            if not rec.drivable:
                stats["not_drivable"] += 1
                continue
            if rec.oneway not in (-1, 0, 1):
                raise ValueError(f"road {rec.road_id}: oneway must be -1, 0 or 1, not {rec.oneway}")
            lines = _line_parts(rec.geom)
            if not lines:
                stats["bad_geometry"] += 1
                continue
            for xy in lines:
                parts.coords.append(xy)
                parts.road.append(rec.road_id)
                parts.road_class.append(rec.road_class)
                parts.oneway.append(rec.oneway)
                parts.length_m.append(rec.length_m)
                parts.record_of.append(index)
        return cls(parts, speeds, stats)

    def _project(self, lonlat: FloatArray) -> FloatArray:
        if not len(lonlat):
            return np.zeros((0, 2))
        x, y = self.to_xy.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y]).astype(np.float64)

    def project(self, lons: Any, lats: Any) -> FloatArray:
        """Local metric x/y (metres) of lon/lat arrays."""
        return self._project(np.column_stack([np.asarray(lons, float), np.asarray(lats, float)]))

    # -- construction -------------------------------------------------------------------

    def _build(
        self,
        parts: _Parts,
        all_ll: FloatArray,
        all_xy: FloatArray,
        speeds: Mapping[str, float] | None,
    ) -> None:
        sizes = np.array([len(c) for c in parts.coords], dtype=np.int64)
        starts = (np.cumsum(sizes) - sizes).astype(np.int64)
        ends = starts + sizes - 1
        n_vert = int(sizes.sum())

        # Projected distance from each part's start to each vertex.
        step = np.zeros(n_vert)
        if n_vert:
            step[1:] = np.hypot(*np.diff(all_xy, axis=0).T)
            step[starts] = 0.0
        cum = np.cumsum(step)
        cum -= np.repeat(cum[starts], sizes) if n_vert else 0.0

        # Nodes: clustered end points, then interior vertices that are junctions.
        vnode = np.full(n_vert, -1, dtype=np.int64)
        end_idx = np.column_stack([starts, ends]).ravel()
        end_node, end_first = _cluster(all_xy[end_idx], SNAP_M)
        vnode[end_idx] = end_node
        node_vertex = list(end_idx[end_first])
        n_nodes = len(end_first)

        interior = np.ones(n_vert, dtype=bool)
        interior[end_idx] = False
        inner = np.flatnonzero(interior)
        if len(inner) and len(end_idx):
            dist, near = cKDTree(all_xy[end_idx]).query(all_xy[inner], distance_upper_bound=SNAP_M)
            hit = np.isfinite(dist)
            vnode[inner[hit]] = end_node[near[hit]]
            inner = inner[~hit]
        if len(inner):
            keys = np.round(all_ll[inner] * 10**ROUND_DECIMALS).astype(np.int64)
            _, first, inverse, counts = np.unique(
                keys, axis=0, return_index=True, return_inverse=True, return_counts=True
            )
            inverse = inverse.ravel()
            shared = counts[inverse] >= 2
            groups = np.unique(inverse[shared])
            new_id = np.full(len(counts), -1, dtype=np.int64)
            new_id[groups] = n_nodes + np.arange(len(groups))
            vnode[inner[shared]] = new_id[inverse[shared]]
            node_vertex.extend(inner[first[groups]])
            n_nodes += len(groups)

        node_vertex_arr = np.asarray(node_vertex, dtype=np.int64)
        self.node_lonlat: FloatArray = all_ll[node_vertex_arr] if n_nodes else np.zeros((0, 2))
        self.node_xy: FloatArray = all_xy[node_vertex_arr] if n_nodes else np.zeros((0, 2))
        self._split(parts, all_ll, all_xy, cum, starts, ends, vnode, speeds)

    def _split(
        self,
        parts: _Parts,
        all_ll: FloatArray,
        all_xy: FloatArray,
        cum: FloatArray,
        starts: IntArray,
        ends: IntArray,
        vnode: IntArray,
        speeds: Mapping[str, float] | None,
    ) -> None:
        """Cut every part at its node vertices into segments, then build the arcs."""
        record_proj: dict[int, float] = {}
        for p, rec in enumerate(parts.record_of):
            record_proj[rec] = record_proj.get(rec, 0.0) + float(cum[ends[p]])
        u: list[int] = []
        v: list[int] = []
        road: list[int] = []
        cls: list[str] = []
        oneway: list[int] = []
        length: list[float] = []
        self.seg_lonlat: list[FloatArray] = []
        self.seg_xy: list[FloatArray] = []
        self.seg_cum: list[FloatArray] = []
        dropped = 0
        for p in range(len(parts.coords)):
            s, e = int(starts[p]), int(ends[p])
            given = parts.length_m[p]
            total_proj = record_proj[parts.record_of[p]]
            # metres per projected metre: the stored geodesic length wins over projection
            scale = 1.0
            if given is not None and math.isfinite(given) and given > 0 and total_proj > 0:
                scale = given / total_proj
            cuts = s + np.flatnonzero(vnode[s : e + 1] >= 0)
            for a, b in pairwise(cuts.tolist()):
                piece_cum = cum[a : b + 1] - cum[a]
                if vnode[a] == vnode[b] and piece_cum[-1] < SNAP_M:
                    dropped += 1  # a sliver between two merged points: no road to drive
                    continue
                u.append(int(vnode[a]))
                v.append(int(vnode[b]))
                road.append(parts.road[p])
                cls.append(parts.road_class[p])
                oneway.append(parts.oneway[p])
                length.append(float(piece_cum[-1]) * scale)
                self.seg_lonlat.append(all_ll[a : b + 1])
                self.seg_xy.append(all_xy[a : b + 1])
                self.seg_cum.append(piece_cum)
        self.stats["slivers_dropped"] = dropped
        self.seg_u: IntArray = np.asarray(u, dtype=np.int64)
        self.seg_v: IntArray = np.asarray(v, dtype=np.int64)
        self.seg_road: IntArray = np.asarray(road, dtype=np.int64)
        self.seg_class: list[str] = cls
        self.seg_len_m: FloatArray = np.asarray(length, dtype=np.float64)
        ow = np.asarray(oneway, dtype=np.int64)
        self.seg_fwd = ow >= 0
        self.seg_bwd = ow <= 0
        speed = {c: speed_mps(c, speeds) for c in set(cls)}
        self.seg_time_s: FloatArray = self.seg_len_m / np.array(
            [speed[c] for c in cls], dtype=np.float64
        ).reshape(-1)
        self.seg_proj_len: FloatArray = np.array([c[-1] for c in self.seg_cum], dtype=np.float64)
        self._build_arcs()

    def _build_arcs(self) -> None:
        seg = np.arange(len(self.seg_u), dtype=np.int64)
        loop = self.seg_u == self.seg_v  # a loop never shortens a path
        f = self.seg_fwd & ~loop
        b = self.seg_bwd & ~loop
        tails = np.concatenate([self.seg_u[f], self.seg_v[b]])
        heads = np.concatenate([self.seg_v[f], self.seg_u[b]])
        weights = np.concatenate([self.seg_time_s[f], self.seg_time_s[b]])
        arc_seg = np.concatenate([seg[f], seg[b]])
        arc_dir = np.concatenate([np.ones(f.sum(), np.int8), -np.ones(b.sum(), np.int8)])
        n = self.n_nodes
        self.fwd_indptr, self.fwd_indices, self.fwd_data, arc = build_csr(tails, heads, weights, n)
        #: segment and direction (1 along its geometry, -1 against) of each forward CSR entry
        self.fwd_seg: IntArray = arc_seg[arc]
        self.fwd_dir = arc_dir[arc]
        self.rev_indptr, self.rev_indices, self.rev_data, _ = build_csr(heads, tails, weights, n)
        self.stats.update(nodes=n, segments=len(self.seg_u), arcs=self.n_arcs)

    # -- queries ---------------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Number of nodes (junctions and road ends)."""
        return len(self.node_lonlat)

    @property
    def n_arcs(self) -> int:
        """Number of directed arcs a vehicle may drive (parallel arcs counted once)."""
        return len(self.fwd_indices)

    @property
    def n_segments(self) -> int:
        """Number of road segments between nodes."""
        return len(self.seg_u)

    @cached_property
    def forward(self) -> csr_matrix:
        """The forward adjacency (seconds) as a scipy CSR matrix."""
        n = self.n_nodes
        return csr_matrix((self.fwd_data, self.fwd_indices, self.fwd_indptr), shape=(n, n))

    @cached_property
    def lines_xy(self) -> NDArray[np.object_]:
        """Each segment as a projected shapely LineString (for the snapping tree)."""
        if not self.seg_xy:
            return np.empty(0, dtype=object)
        flat = np.concatenate(self.seg_xy)
        index = np.repeat(np.arange(len(self.seg_xy)), [len(c) for c in self.seg_xy])
        return np.asarray(shapely.linestrings(flat, indices=index), dtype=object)

    def prepare(self) -> None:
        """Build the lazily made lookup tables now, so the first query is as fast as the rest."""
        _ = self.lines_xy, self._entry_of, self._flat

    @cached_property
    def _entry_of(self) -> dict[tuple[int, int], int]:
        tails = np.repeat(np.arange(self.n_nodes), np.diff(self.fwd_indptr))
        pairs = zip(tails.tolist(), self.fwd_indices.tolist(), strict=True)
        return {pair: entry for entry, pair in enumerate(pairs)}

    def arc_entry(self, tail: int, head: int) -> int:
        """The forward CSR entry of the arc tail→head (-1 when there is none)."""
        return self._entry_of.get((tail, head), -1)

    @cached_property
    def _flat(self) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
        """All segments' vertices end to end: lon/lat, a strictly increasing distance key,
        each segment's first vertex, and the key at each segment's start."""
        if not self.seg_cum:
            return np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0)
        sizes = np.array([len(c) for c in self.seg_cum], dtype=np.int64)
        first = (np.cumsum(sizes) - sizes).astype(np.int64)
        # 1 m gaps keep the key increasing across segment boundaries
        base = np.cumsum(self.seg_proj_len + 1.0) - (self.seg_proj_len + 1.0)
        key = np.concatenate(self.seg_cum) + np.repeat(base, sizes)
        return np.concatenate(self.seg_lonlat), key, first, base

    def positions_lonlat(self, segs: IntArray, along_m: FloatArray) -> FloatArray:
        """Lon/lat at projected distances ``along_m`` from the starts of segments ``segs``."""
        ll, key, first, base = self._flat
        k = base[segs] + along_m
        lo = first[segs]
        hi = lo + np.array([len(self.seg_cum[s]) for s in segs.tolist()], dtype=np.int64) - 2
        i = np.clip(np.searchsorted(key, k, side="right") - 1, lo, hi)
        span = key[i + 1] - key[i]
        r = np.clip(np.divide(k - key[i], span, out=np.zeros_like(k), where=span > 0), 0.0, 1.0)
        return ll[i] + r[:, None] * (ll[i + 1] - ll[i])

    def strong_components(self) -> IntArray:
        """Strongly connected component label of each node (largest component = most nodes)."""
        if not self.n_nodes:
            return np.zeros(0, dtype=np.int64)
        _, labels = connected_components(self.forward, directed=True, connection="strong")
        return np.asarray(labels, dtype=np.int64)

    def main_component_segments(self) -> IntArray:
        """Segments with both ends in the largest strongly connected component.

        Any two points on these segments can reach each other by road.
        """
        labels = self.strong_components()
        if not len(labels):
            return np.zeros(0, dtype=np.int64)
        main = np.bincount(labels).argmax()
        inside = (labels[self.seg_u] == main) & (labels[self.seg_v] == main)
        return np.flatnonzero(inside).astype(np.int64)

    def piece_lonlat(self, seg: int, from_m: float, to_m: float) -> FloatArray:
        """Lon/lat of segment ``seg`` between two projected distances from its start (from ≤ to)."""
        cum, ll = self.seg_cum[seg], self.seg_lonlat[seg]
        inner = ll[(cum > from_m) & (cum < to_m)]
        ends = (_interp(cum, ll, from_m)[None, :], _interp(cum, ll, to_m)[None, :])
        return np.concatenate([ends[0], inner, ends[1]])


def _interp(cum: FloatArray, ll: FloatArray, d: float) -> FloatArray:
    """The lon/lat point at projected distance ``d`` along a polyline."""
    i = min(max(int(cum.searchsorted(d, side="right")) - 1, 0), len(cum) - 2)
    span = float(cum[i + 1] - cum[i])
    r = 0.0 if span <= 0 else min(max((d - float(cum[i])) / span, 0.0), 1.0)
    return ll[i] + r * (ll[i + 1] - ll[i])
