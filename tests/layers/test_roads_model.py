"""Roads: coordinate lists and WKB both load; polylines per style group."""

from __future__ import annotations

import pytest
from shapely import wkb
from shapely.geometry import LineString, MultiLineString

from layers.base import LayerInputError
from layers.projection import LocalProjection
from layers.roads.model import RoadLayerModel
from tests.layers import synthetic as syn


def test_coords_and_wkb_give_the_same_geometry() -> None:
    p = LocalProjection(*syn.CENTRE)
    coords = [[-71.11, 42.37], [-71.10, 42.375], [-71.09, 42.376]]
    a, b = RoadLayerModel(p), RoadLayerModel(p)
    a.upsert([{"id": 1, "road_class": "primary", "coords": coords}])
    b.upsert([{"id": 1, "road_class": "primary", "geom": wkb.dumps(LineString(coords))}])
    assert (a.geometry[1][0] == b.geometry[1][0]).all()
    assert a.group_of(1) == "arterial"


def test_polylines_join_a_group_with_breaks_between_roads() -> None:
    p = LocalProjection(*syn.CENTRE)
    m = RoadLayerModel(p)
    m.replace_all(syn.roads(4))
    multi = MultiLineString([[(-71.1, 42.37), (-71.1, 42.38)], [(-71.2, 42.3), (-71.2, 42.31)]])
    m.upsert([{"id": 100, "road_class": "footway", "geom": wkb.dumps(multi)}])
    x, _y, connect = m.polylines("path")
    assert len(x) == 4 and connect.tolist() == [True, False, True, False]
    m.set_hidden("road_class", {"footway"})
    assert len(m.polylines("path")[0]) == 0
    with pytest.raises(LayerInputError):
        m.upsert([{"id": 5, "road_class": "primary", "coords": [[1, 2]]}])
    assert m.bounds() is not None
