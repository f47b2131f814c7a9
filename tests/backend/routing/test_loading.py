"""Building the graph from the ``roads`` table on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert

from backend.db.engine import make_sessionmaker
from backend.db.models import Road
from backend.importers.rows import road_row
from backend.routing import Router, graph_from_db, load_road_records
from tests.backend.routing.handmade import ll, road


def test_graph_from_db_uses_drivable_roads_and_bbox(engine: Engine) -> None:
    rows = [
        road_row(
            source="t",
            source_id="a",
            geom=road(0, (0, 0), (100, 0)).geom,
            road_class="residential",
            oneway=1,
        ),
        road_row(
            source="t", source_id="b", geom=road(0, (100, 0), (100, 100)).geom, road_class="primary"
        ),
        road_row(
            source="t", source_id="c", geom=road(0, (0, 0), (100, 100)).geom, road_class="footway"
        ),
        road_row(
            source="t",
            source_id="d",
            geom=road(0, (5_000, 0), (5_100, 0)).geom,
            road_class="service",
        ),
    ]
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.execute(insert(Road), rows)
    with sessions() as session:
        records = load_road_records(session)
        assert sorted(r.road_class for r in records) == ["primary", "residential", "service"]
        assert {r.oneway for r in records} == {0, 1}
        assert all(r.length_m and r.length_m > 0 for r in records)
        lo, hi = ll(-10, -10), ll(200, 200)
        graph = graph_from_db(session, bbox=(lo[0], lo[1], hi[0], hi[1]))
    assert graph.n_segments == 2
    router = Router(graph)
    there = router.route_lonlat(*ll(0, 0), *ll(100, 100))
    back = router.route_lonlat(*ll(100, 100), *ll(0, 0))
    assert there is not None and back is None  # a one-way out, no footway shortcut, no way back
    assert there.meters == pytest.approx(200.0, rel=1e-3)
