"""The local projection keeps city distances true and round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from layers.projection import LocalProjection
from tests.layers import synthetic as syn


def test_round_trip_and_true_distances() -> None:
    p = LocalProjection.for_extent(-71.16, 42.35, -71.06, 42.40)
    lon = np.array([-71.16, -71.06, -71.11])
    lat = np.array([42.35, 42.40, 42.375])
    x, y = p.forward(lon, lat)
    lon2, lat2 = p.inverse(x, y)
    assert np.allclose(lon2, lon, atol=1e-9) and np.allclose(lat2, lat, atol=1e-9)
    _, _, true = Geod(ellps="WGS84").inv(lon[0], lat[0], lon[1], lat[1])
    assert np.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(true, rel=1e-3)


def test_chosen_from_records() -> None:
    p = LocalProjection.for_records(
        [
            {"lon": syn.CENTRE[0], "lat": syn.CENTRE[1]},
            {"last_lon": syn.CENTRE[0], "last_lat": None},
        ]
    )
    assert (p.lon0, p.lat0) == syn.CENTRE
    with pytest.raises(ValueError):
        LocalProjection(float("nan"), 0)
