"""How road records become nodes, segments and arcs."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import MultiLineString, Point

from backend.routing import RoadGraph, RoadRecord
from backend.routing.speeds import DEFAULT_SPEED_KMH, SPEED_KMH, speed_mps
from tests.backend.routing.handmade import SPEEDS, ll, road, router, seconds


def test_end_points_within_half_a_metre_are_one_node() -> None:
    r = router(road(1, (0, 0), (100, 0)), road(2, (100.3, 0.2), (200, 0)))
    assert r.graph.n_nodes == 3
    assert seconds(r, (0, 0), (200, 0)) == pytest.approx(20.0, abs=0.05)


def test_end_points_two_metres_apart_stay_apart() -> None:
    r = router(road(1, (0, 0), (100, 0)), road(2, (102, 0), (200, 0)))
    assert r.graph.n_nodes == 4
    assert seconds(r, (0, 0), (200, 0)) == math.inf


def test_way_through_an_intersection_is_split_at_the_shared_vertex() -> None:
    # Two OSM-style ways crossing at (50, 50), which both contain as an interior vertex.
    r = router(
        road(1, (0, 50), (50, 50), (100, 50)),
        road(2, (50, 0), (50, 50), (50, 100)),
    )
    assert r.graph.n_nodes == 5
    assert r.graph.n_segments == 4
    assert seconds(r, (0, 50), (50, 100)) == pytest.approx(10.0, abs=1e-3)


def test_lines_crossing_without_a_shared_vertex_do_not_connect() -> None:
    # A bridge: the geometries cross at (50, 50) but share no vertex.
    r = router(road(1, (0, 50), (100, 50)), road(2, (50, 0), (50, 100)))
    assert r.graph.n_nodes == 4
    assert seconds(r, (0, 50), (50, 100)) == math.inf


def test_side_street_ending_on_a_through_road_joins_it() -> None:
    # The side street ends 0.3 m from an interior vertex of the through road.
    r = router(
        road(1, (0, 0), (50, 0), (100, 0)),
        road(2, (50.2, 0.2), (50, 80)),
    )
    assert r.graph.n_segments == 3
    assert seconds(r, (0, 0), (50, 80)) == pytest.approx(13.0, abs=0.05)


def test_oneway_codes_become_arcs() -> None:
    g = RoadGraph.from_records(
        [road(1, (0, 0), (100, 0), oneway=1), road(2, (100, 0), (200, 0), oneway=-1)], SPEEDS
    )
    assert g.n_arcs == 2
    ab = g.arc_entry(0, 1)
    assert ab >= 0 and g.arc_entry(1, 0) == -1
    assert g.fwd_dir[ab] == 1
    # road 2 is drawn from node 1 to node 2 but driven 2→1
    assert g.arc_entry(1, 2) == -1
    back = g.arc_entry(2, 1)
    assert back >= 0 and g.fwd_dir[back] == -1
    with pytest.raises(ValueError, match="oneway"):
        RoadGraph.from_records([road(3, (0, 0), (1, 0), oneway=2)])


def test_parallel_roads_keep_the_fastest_arc() -> None:
    g = RoadGraph.from_records(
        [
            road(1, (0, 0), (100, 0), road_class="service"),  # 20 s
            road(2, (0, 0), (50, 30), (100, 0), road_class="primary"),  # ~5.8 s
        ],
        SPEEDS,
    )
    entry = g.arc_entry(0, 1)
    assert g.seg_road[g.fwd_seg[entry]] == 2
    assert g.fwd_data[entry] == pytest.approx(2 * math.hypot(50, 30) / 20.0, abs=1e-3)
    assert g.n_arcs == 2


def test_non_drivable_and_non_line_records_are_left_out() -> None:
    records = [
        road(1, (0, 0), (100, 0)),
        road(2, (0, 0), (0, 10), (100, 0), road_class="footway", drivable=False),
        RoadRecord(road_id=3, geom=Point(ll(5, 5))),
    ]
    g = RoadGraph.from_records(records, SPEEDS)
    assert g.n_segments == 1
    assert g.stats["not_drivable"] == 1 and g.stats["bad_geometry"] == 1


def test_multilinestring_parts_are_roads_of_their_own() -> None:
    geom = MultiLineString([[ll(0, 0), ll(100, 0)], [ll(100, 0), ll(100, 100)]])
    g = RoadGraph.from_records([RoadRecord(1, geom, length_m=400.0)], SPEEDS)
    assert g.n_segments == 2
    # the stored length is shared out in proportion: 200 m each
    assert list(g.seg_len_m) == pytest.approx([200.0, 200.0], rel=1e-6)
    assert list(g.seg_time_s) == pytest.approx([20.0, 20.0], rel=1e-6)


def test_stored_length_wins_over_projected_length() -> None:
    g = RoadGraph.from_records([road(1, (0, 0), (60, 0), (100, 0), length_m=150.0)], SPEEDS)
    assert g.seg_len_m.sum() == pytest.approx(150.0)


def test_empty_network_answers_without_errors() -> None:
    r = router(road(1, (0, 0), (100, 0), drivable=False))
    assert r.graph.n_nodes == 0 and r.graph.n_arcs == 0
    assert r.snapper.snap(*ll(0, 0)) is None
    assert r.route_lonlat(*ll(0, 0), *ll(100, 0)) is None
    assert len(r.graph.main_component_segments()) == 0


def test_main_component_excludes_one_way_traps() -> None:
    g = RoadGraph.from_records(
        [road(1, (0, 0), (100, 0)), road(2, (100, 0), (200, 0), oneway=1)], SPEEDS
    )
    assert list(g.main_component_segments()) == [0]


def test_speed_table() -> None:
    assert speed_mps("residential") == pytest.approx(SPEED_KMH["residential"] / 3.6)
    assert speed_mps("no_such_class") == pytest.approx(DEFAULT_SPEED_KMH / 3.6)
    with pytest.raises(ValueError):
        speed_mps("residential", {"residential": 0.0})
