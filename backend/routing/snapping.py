"""Putting a lon/lat point on the nearest drivable road.

A shapely STRtree over the segments in the graph's local metric projection
finds the nearest segment; the point is projected onto it, giving a position
along the segment (a *virtual node*: the router leaves it towards either end
the segment's one-way rule allows, at the matching share of its travel time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from shapely import STRtree

from backend.routing.graph import RoadGraph

#: Points farther than this from every drivable road are not snapped (metres).
DEFAULT_MAX_SNAP_M = 500.0
#: A snapped position this close to a segment end is taken to be on its end node (metres).
END_TOLERANCE_M = 1e-3


@dataclass(frozen=True, slots=True)
class Snap:
    """A position on a road segment.

    ``along_m`` is the projected distance from the segment's start;
    ``fraction`` the same as a share of the segment (0 at its start node, 1 at
    its end node); ``distance_m`` how far the original point was from the road.
    """

    segment: int
    along_m: float
    fraction: float
    distance_m: float
    lon: float
    lat: float


class RoadSnapper:
    """Nearest-road lookups for one graph (the tree is built once, on first use)."""

    def __init__(self, graph: RoadGraph):
        self.graph = graph

    @cached_property
    def tree(self) -> STRtree:
        """The STRtree of the graph's projected segments."""
        return STRtree(self.graph.lines_xy)

    def snap(
        self, lon: float, lat: float, max_distance_m: float = DEFAULT_MAX_SNAP_M
    ) -> Snap | None:
        """The nearest road position to one point, or None when no road is within reach."""
        return self.snap_many([lon], [lat], max_distance_m)[0]

    def snap_many(
        self,
        lons: Sequence[float] | np.ndarray,
        lats: Sequence[float] | np.ndarray,
        max_distance_m: float = DEFAULT_MAX_SNAP_M,
    ) -> list[Snap | None]:
        """Nearest road positions of many points in one tree query (None where none is near).

        Non-finite coordinates give None. Among equally near segments the
        lowest segment id wins, so results are deterministic.
        """
        lon = np.asarray(lons, dtype=np.float64)
        lat = np.asarray(lats, dtype=np.float64)
        out: list[Snap | None] = [None] * len(lon)
        ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        if not len(ok) or not self.graph.n_segments:
            return out
        xy = self.graph.project(lon[ok], lat[ok])
        good = np.isfinite(xy).all(axis=1)
        ok, xy = ok[good], xy[good]
        if not len(ok):
            return out
        points = shapely.points(xy)
        # Unbounded nearest query, then the distance cut: twice as fast as max_distance here.
        (q, seg), dist = self.tree.query_nearest(points, return_distance=True, all_matches=True)
        near = dist <= max_distance_m
        q, seg, dist = q[near], seg[near], dist[near]
        # ties: keep the lowest segment id per query point
        order = np.lexsort((seg, q))
        q, seg, dist = q[order], seg[order], dist[order]
        first = np.ones(len(q), dtype=bool)
        first[1:] = q[1:] != q[:-1]
        q, seg, dist = q[first], seg[first], dist[first]
        length = self.graph.seg_proj_len[seg]
        along = np.clip(shapely.line_locate_point(self.graph.lines_xy[seg], points[q]), 0.0, length)
        # within a millimetre of an end is on the end node (float noise must not hide a junction)
        along[along < END_TOLERANCE_M] = 0.0
        near_end = along > length - END_TOLERANCE_M
        along[near_end] = length[near_end]
        frac = np.divide(along, length, out=np.zeros_like(along), where=length > 0)
        lonlat = self.graph.positions_lonlat(seg, along)
        rows = zip(
            q.tolist(),
            seg.tolist(),
            along.tolist(),
            frac.tolist(),
            dist.tolist(),
            lonlat.tolist(),
            strict=True,
        )
        for qi, si, ai, fi, di, (lon_s, lat_s) in rows:
            out[int(ok[qi])] = Snap(si, ai, fi, di, lon_s, lat_s)
        return out
