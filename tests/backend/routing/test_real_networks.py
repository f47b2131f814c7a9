"""Routing on real networks: Cambridge centerlines and Helsinki OSM imported into the
database (SQLite and PostgreSQL), and the generated demo city."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString
from sqlalchemy import Engine, select

from backend.db.engine import make_sessionmaker
from backend.db.models import Road
from backend.demo_city.common import LocalFrame
from backend.demo_city.streets import build_streets
from backend.importers.base import ImportOptions
from backend.importers.registry import import_files
from backend.importers.rows import is_drivable
from backend.routing import RoadGraph, RoadRecord, Router, Snap, graph_from_db
from tests.conftest import shared_file

Pair = tuple[tuple[float, float], tuple[float, float]]


def imported_graph(engine: Engine, path: Path) -> RoadGraph:
    """Import one file through the registry, then build the graph from the ``roads`` table."""
    result = import_files(engine, [path], ImportOptions())
    assert not result.refused
    with make_sessionmaker(engine)() as session:
        return graph_from_db(session)


def main_component_points(graph: RoadGraph, n: int, seed: int) -> list[Snap]:
    """``n`` random positions on segments of the largest strongly connected component."""
    rng = np.random.default_rng(seed)
    segs = graph.main_component_segments()
    picks = rng.choice(segs, size=n, replace=False)
    out = []
    for seg in picks.tolist():
        along = float(rng.uniform(0.0, graph.seg_proj_len[seg]))
        lon, lat = graph.piece_lonlat(seg, along, along)[0]
        out.append(Snap(seg, along, along / graph.seg_proj_len[seg], 0.0, float(lon), float(lat)))
    return out


def directed_pairs(roads: list[tuple[LineString, int]]) -> tuple[set[Pair], set[Pair]]:
    """Vertex-to-vertex moves some road allows, and moves a one-way road forbids."""
    allowed: set[Pair] = set()
    forbidden: set[Pair] = set()
    for geom, oneway in roads:
        lines = [geom] if geom.geom_type == "LineString" else list(geom.geoms)
        for line in lines:
            pts = [(round(x, 9), round(y, 9)) for x, y in line.coords]
            for p, q in pairwise(pts):
                (allowed if oneway >= 0 else forbidden).add((p, q))
                (allowed if oneway <= 0 else forbidden).add((q, p))
    return allowed, forbidden - allowed


@pytest.mark.slow
def test_cambridge_main_component_all_pairs_reachable_and_one_ways_obeyed(engine: Engine) -> None:
    graph = imported_graph(engine, shared_file("cambridge", "TRANS_Centerlines.geojson"))
    assert graph.n_segments > 2_500
    labels = graph.strong_components()
    assert np.bincount(labels).max() > 0.95 * graph.n_nodes
    router = Router(graph)
    points = main_component_points(graph, 24, seed=5)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(select(Road.geom, Road.oneway).where(Road.drivable.is_(True)))
        _, forbidden = directed_pairs([(g, o) for g, o in rows])
    assert len(forbidden) > 1_000  # Cambridge has hundreds of one-way segments
    one_way_moves = 0
    for target in points[:8]:
        search = router.search_to(target)
        times = search.seconds_many(points)
        assert np.isfinite(times).all()
        for src in points:
            route = search.route(src)
            assert route is not None
            assert route.seconds == pytest.approx(search.seconds(src))
            moves = {
                ((round(a[0], 9), round(a[1], 9)), (round(b[0], 9), round(b[1], 9)))
                for a, b in pairwise(route.coords)
            }
            assert not moves & forbidden, "route drives a one-way street the wrong way"
            one_way_moves += len(moves & {(q, p) for p, q in forbidden})
    assert one_way_moves > 100  # the routes did use one-way streets, the right way


@pytest.mark.slow
def test_helsinki_osm_ways_connect_at_shared_nodes(engine: Engine) -> None:
    graph = imported_graph(engine, shared_file("helsinki-osm", "Helsinki.osm.pbf"))
    # OSM ways run through junctions: splitting there is what connects the network
    assert graph.n_segments > graph.stats["roads"]
    assert np.bincount(graph.strong_components()).max() > 0.8 * graph.n_nodes
    router = Router(graph)
    points = main_component_points(graph, 20, seed=3)
    search = router.search_to(points[0])
    times = search.seconds_many(points)
    assert np.isfinite(times).all() and times.max() > 60.0
    routes = [search.route(p) for p in points]
    assert all(r is not None and len(r.coords) >= 2 for r in routes)


def test_demo_city_graph_matches_the_generators_topology() -> None:
    network = build_streets(seed=7)
    frame = LocalFrame()
    records = [
        RoadRecord(
            road_id=i,
            geom=LineString(frame.to_lon_lat(s.coords)),
            road_class=s.road_class,
            oneway=s.oneway,
            drivable=is_drivable(s.road_class),
        )
        for i, s in enumerate(network.segments)
    ]
    graph = RoadGraph.from_records(records)
    drivable = [s for s in network.segments if is_drivable(s.road_class)]
    assert graph.n_nodes == len({s.a for s in drivable} | {s.b for s in drivable})
    assert graph.n_segments == len(drivable)
    # the generator keeps its streets strongly connected; so must the graph
    assert len(graph.main_component_segments()) == graph.n_segments
    router = Router(graph)
    points = main_component_points(graph, 10, seed=1)
    assert all(math.isfinite(t) for t in router.search_to(points[0]).seconds_many(points).tolist())
