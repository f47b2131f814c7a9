"""Travel times and routes on small hand-made networks (speeds: residential 10 m/s)."""

from __future__ import annotations

import math

import pytest

from backend.routing import Router
from tests.backend.routing.handmade import ll, road, router, seconds

A, B, C, D = (0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)


def square(ab_oneway: int) -> Router:
    """A 100 m square A-B-C-D; only A-B may be one-way."""
    return router(
        road(1, A, B, oneway=ab_oneway),
        road(2, B, C),
        road(3, C, D),
        road(4, D, A),
    )


def test_two_way_street_both_directions() -> None:
    r = square(0)
    assert seconds(r, A, B) == pytest.approx(10.0, abs=1e-3)
    assert seconds(r, B, A) == pytest.approx(10.0, abs=1e-3)


def test_one_way_forces_a_detour() -> None:
    r = square(1)  # A→B only
    assert seconds(r, A, B) == pytest.approx(10.0, abs=1e-3)
    assert seconds(r, B, A) == pytest.approx(30.0, abs=1e-3)  # B→C→D→A


def test_one_way_against_the_geometry() -> None:
    r = square(-1)  # drawn A→B, driven B→A only
    assert seconds(r, B, A) == pytest.approx(10.0, abs=1e-3)
    assert seconds(r, A, B) == pytest.approx(30.0, abs=1e-3)


def test_detour_route_geometry_goes_round_the_block() -> None:
    r = square(1)
    route = r.route_lonlat(*ll(100, 0), *ll(0, 0))
    assert route is not None
    assert route.seconds == pytest.approx(30.0, abs=1e-3)
    assert route.meters == pytest.approx(300.0, abs=1e-2)
    assert [pytest.approx(p, abs=1e-8) for p in (ll(*B), ll(*C), ll(*D), ll(*A))] == list(
        route.coords
    )


def test_mid_edge_snapping_respects_one_way() -> None:
    r = square(1)
    snap = r.snapper.snap(*ll(30, 5))
    assert snap is not None
    assert snap.fraction == pytest.approx(0.3, abs=1e-6)
    assert snap.distance_m == pytest.approx(5.0, abs=1e-3)
    assert (snap.lon, snap.lat) == pytest.approx(ll(30, 0), abs=1e-8)
    # from 30 m along A→B: on to B is 7 s; back to A means B→C→D→A
    assert seconds(r, (30, 5), B) == pytest.approx(7.0, abs=1e-3)
    assert seconds(r, (30, 5), A) == pytest.approx(37.0, abs=1e-3)
    # and arriving mid-edge: from A straight along, from B all the way round
    assert seconds(r, A, (30, 5)) == pytest.approx(3.0, abs=1e-3)
    assert seconds(r, B, (30, 5)) == pytest.approx(33.0, abs=1e-3)


def test_both_points_on_one_one_way_segment() -> None:
    r = square(1)
    assert seconds(r, (20, 0), (60, 0)) == pytest.approx(4.0, abs=1e-3)
    # backwards on a one-way: out at B, round the block, in again from A
    assert seconds(r, (60, 0), (20, 0)) == pytest.approx(4.0 + 30.0 + 2.0, abs=1e-3)
    route = r.route_lonlat(*ll(60, 0), *ll(20, 0))
    assert route is not None
    assert route.coords[0] == pytest.approx(ll(60, 0), abs=1e-8)
    assert route.coords[-1] == pytest.approx(ll(20, 0), abs=1e-8)
    assert route.meters == pytest.approx(360.0, abs=1e-2)


def test_same_point_is_zero_seconds() -> None:
    r = square(1)
    route = r.route_lonlat(*ll(40, 0), *ll(40, 0))
    assert route is not None
    assert route.seconds == pytest.approx(0.0, abs=1e-8)
    assert len(route.coords) == 2


def test_a_point_on_a_node_may_leave_by_any_arc() -> None:
    # B sits at the end of one-way A→B; standing on B one can still drive B→C.
    r = square(1)
    snap = r.snapper.snap(*ll(*B))
    assert snap is not None
    assert seconds(r, B, C) == pytest.approx(10.0, abs=1e-3)
    assert seconds(r, C, B) == pytest.approx(10.0, abs=1e-3)


def test_unreachable_points_give_inf_and_none() -> None:
    # An island road 50 m away: close enough to snap to, no road to it.
    r = router(road(1, A, B), road(2, (0, 50), (100, 50)), road(3, (0, 60), (0, 400)))
    assert seconds(r, (50, 0), (50, 50)) == math.inf
    assert r.route_lonlat(*ll(50, 0), *ll(50, 50)) is None
    search = r.search_to(r.snapper.snap(*ll(50, 50)))  # type: ignore[arg-type]
    assert search.seconds(None) == math.inf
    assert search.route(None) is None
    assert list(search.seconds_many([None, r.snapper.snap(*ll(50, 0))])) == [math.inf, math.inf]


def test_one_way_trap_is_reachable_only_one_way() -> None:
    # A dead-end one-way out of the square: you can drive in but never out.
    r = router(road(1, A, B), road(2, B, (200, 0), oneway=1))
    assert seconds(r, A, (200, 0)) == pytest.approx(20.0, abs=1e-3)
    assert seconds(r, (200, 0), A) == math.inf


def test_points_far_from_any_road_are_not_snapped() -> None:
    r = square(0)
    assert r.snapper.snap(*ll(50, 2_000)) is None
    assert r.snapper.snap(*ll(50, 2_000), max_distance_m=5_000) is not None
    assert r.snapper.snap(float("nan"), 42.0) is None
    assert r.route_lonlat(*ll(50, 2_000), *ll(0, 0)) is None


def test_snapping_ties_go_to_the_lowest_segment() -> None:
    # Two roads digitised on the same line (a duplicate in the export): an exact tie.
    r = router(road(7, A, B), road(5, A, B, road_class="service"), road(6, B, C))
    snap = r.snapper.snap(*ll(50, 10))
    assert snap is not None
    assert snap.segment == 0
    assert r.graph.seg_road[snap.segment] == 7
    assert [r.snapper.snap(*ll(50, 10)) for _ in range(3)] == [snap] * 3


def test_equal_routes_tie_deterministically() -> None:
    # From A to C both ways round the square take 20 s; the answer never changes.
    r = square(0)
    routes = [r.route_lonlat(*ll(*A), *ll(*C)) for _ in range(3)]
    assert routes[0] is not None
    assert routes[0].seconds == pytest.approx(20.0, abs=1e-3)
    assert routes[0] == routes[1] == routes[2]


def test_faster_class_wins_over_shorter_road() -> None:
    # 200 m of primary (20 m/s, 10 s) against 150 m of service (5 m/s, 30 s) from A to (150, 0).
    r = router(
        road(1, A, (0, 50), road_class="primary"),
        road(2, (0, 50), (150, 50), road_class="primary"),
        road(3, (150, 50), (150, 0), road_class="primary"),
        road(4, A, (150, 0), road_class="service"),
    )
    route = r.route_lonlat(*ll(*A), *ll(150, 0))
    assert route is not None
    assert route.seconds == pytest.approx(12.5, abs=1e-3)
    assert route.meters == pytest.approx(250.0, abs=1e-2)


def test_limit_cuts_the_search() -> None:
    r = square(1)
    target = r.snapper.snap(*ll(*A))
    source = r.snapper.snap(*ll(*B))
    assert target is not None and source is not None
    assert r.search_to(target, limit_s=25.0).seconds(source) == math.inf
    assert r.search_to(target, limit_s=35.0).seconds(source) == pytest.approx(30.0, abs=1e-3)
