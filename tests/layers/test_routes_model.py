"""The routes layer model, without Qt: recommendation in, connected polylines and labels out."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from layers.base import LayerChange, LayerInputError
from layers.projection import LocalProjection
from layers.routes.model import RouteLayerModel, eta_text
from tests.conftest import ROOT

LON0, LAT0 = -71.10, 42.37


def choice(
    rank: int, crew_id: int, n: int, *, stale: bool = False, eta: float = 95.0
) -> dict[str, Any]:
    """A ``recommend_crews`` choice with an ``n``-point route heading east from the crew."""
    coords = [[LON0 + 0.001 * k, LAT0 + 0.0005 * rank] for k in range(n)]
    return {
        "rank": rank,
        "crew_id": crew_id,
        "crew_name": f"Crew {crew_id}",
        "eta_s": eta,
        "stale": stale,
        "route": {"seconds": eta, "meters": 100.0, "coords": coords},
    }


def model() -> tuple[RouteLayerModel, list[LayerChange]]:
    m = RouteLayerModel(LocalProjection(LON0, LAT0))
    seen: list[LayerChange] = []
    m.changed.connect(seen.append)
    return m, seen


def test_routes_become_one_curve_per_group_with_breaks_between_routes() -> None:
    m, seen = model()
    m.show_recommendation(7, [choice(1, 30, 4), choice(2, 10, 3), choice(3, 20, 2, stale=True)])
    assert len(seen) == 1 and seen[0].structure  # one change for the whole reply
    assert m.job_id == 7 and m.ranked_ids() == [30, 10, 20]
    x, y, connect = m.paths(best=True)
    assert len(x) == 4 and connect.tolist() == [True, True, True, False]
    x, y, connect = m.paths(best=False)
    # rank 2 (3 points) then rank 3 (2 points): no line from one route's end to the next start
    assert connect.tolist() == [True, True, False, True, False]
    assert len(x) == 5 and np.isfinite(x).all() and np.isfinite(y).all()
    # x grows eastwards along each route, in metres (0.001 deg of longitude ≈ 82 m here)
    assert x[1] - x[0] == pytest.approx(82.2, abs=1.0)
    assert m.label(30) == "1 · Crew 30 · ETA 1m"
    assert m.label(20) == "3 · Crew 20 · ETA 1m · stale"
    # Labels sit where each route starts (the crew); the job is where the best route ends.
    rows = m.table.rows
    start = m.projection.forward(LON0, LAT0 + 0.0005)
    r = m.table.row(30)
    assert (rows["x"][r], rows["y"][r]) == pytest.approx((float(start[0]), float(start[1])))
    end = m.end_point()
    assert end is not None and end[0] == pytest.approx(m.geometry[30][-1, 0])


def test_a_new_job_replaces_the_routes_and_clear_empties_them() -> None:
    m, _ = model()
    m.show_recommendation(7, [choice(1, 30, 4), choice(2, 10, 3)])
    m.show_recommendation(8, [choice(1, 10, 2)])
    assert m.ranked_ids() == [10] and set(m.geometry) == {10}
    assert m.paths(best=False)[0].size == 0
    m.clear()
    assert len(m) == 0 and m.geometry == {} and m.job_id is None and m.end_point() is None


def test_routes_are_never_picked_and_hidden_routes_draw_nothing() -> None:
    m, _ = model()
    m.show_recommendation(7, [choice(1, 30, 4)])
    assert m.nearest(0.0, 0.0, 1e9) is None
    m.set_visible(False)
    assert m.ranked_ids() == [] and m.paths(best=True)[0].size == 0


def test_bad_routes_are_refused_and_the_good_ones_kept() -> None:
    m, _ = model()
    broken = choice(2, 11, 1)  # one point is no route
    nan = choice(3, 12, 3)
    nan["route"]["coords"][1] = [float("nan"), LAT0]
    with pytest.raises(LayerInputError) as err:
        m.show_recommendation(7, [choice(1, 30, 3), broken, nan])
    assert len(err.value.errors) == 2
    assert m.ranked_ids() == [30] and set(m.geometry) == {30}


def test_eta_text() -> None:
    assert [eta_text(s) for s in (4.4, 59.6, 61, 3599, 3725)] == [
        "4s",
        "59s",
        "1m",
        "59m",
        "1h 02m",
    ]


def test_the_routes_model_runs_without_qt() -> None:
    script = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):
            raise ImportError('Qt is blocked: ' + name)
sys.meta_path.insert(0, Block())
from layers.projection import LocalProjection
from layers.routes.model import RouteLayerModel
m = RouteLayerModel(LocalProjection(-71.1, 42.37))
m.show_recommendation(1, [{"rank": 1, "crew_id": 2, "eta_s": 9.0,
    "route": {"coords": [[-71.1, 42.37], [-71.099, 42.37]]}}])
assert len(m) == 1 and not any(k.split('.')[0] in ('PySide6', 'pyqtgraph') for k in sys.modules)
print('ok')
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
