"""Route following: speed, heading, arrival."""

from __future__ import annotations

import pytest
from pyproj import Geod

from backend.simulator.clock import SimClock
from backend.simulator.driving import RouteFollower, heading_between

GEOD = Geod(ellps="WGS84")


def _east(lon: float, lat: float, metres: float) -> tuple[float, float]:
    x, y, _ = GEOD.fwd(lon, lat, 90.0, metres)
    return float(x), float(y)


def test_drives_at_leg_speeds_and_arrives() -> None:
    a = (24.94, 60.17)
    b = _east(*a, 100.0)
    c = _east(*b, 200.0)
    route = RouteFollower([a, b, c], speeds=[10.0, 20.0])
    assert route.remaining_m == pytest.approx(300.0, rel=1e-6)
    assert route.remaining_s() == pytest.approx(20.0, rel=1e-6)
    lon, lat, heading = route.advance(5.0)  # 50 m into the first leg
    assert GEOD.inv(a[0], a[1], lon, lat)[2] == pytest.approx(50.0, abs=0.01)
    assert heading == pytest.approx(90.0, abs=0.01)
    route.advance(10.0)  # 50 m to b (5 s), then 5 s * 20 m/s = 100 m
    assert route.remaining_m == pytest.approx(100.0, abs=0.01)
    route.advance(100.0)
    assert route.done
    assert route.position()[:2] == c


def test_single_point_route_is_done() -> None:
    route = RouteFollower([(1.0, 2.0)], speeds=[10.0])
    assert route.done and route.remaining_s() == 0.0


def test_speed_count_must_match_legs() -> None:
    with pytest.raises(ValueError, match="legs"):
        RouteFollower([(0.0, 1.0), (0.0, 1.1), (0.0, 1.2)], speeds=[1.0, 2.0, 3.0])


def test_heading_north() -> None:
    assert heading_between((10.0, 50.0), (10.0, 50.1)) == pytest.approx(0.0, abs=1e-6)


def test_clock_fast_forwards() -> None:
    now = [100.0]
    clock = SimClock(speed=60.0, monotonic=lambda: now[0])
    t0 = clock.now()
    now[0] += 2.0
    assert (clock.now() - t0).total_seconds() == pytest.approx(120.0)
    assert clock.wall_seconds(60.0) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        SimClock(speed=0)
