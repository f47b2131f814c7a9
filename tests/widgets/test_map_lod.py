"""Level of detail and culling on the map: same statuses when dense, selection unaffected."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot
from shapely import contains_xy
from shapely.geometry import Polygon

from layers.fast_scatter import FastScatter
from tests.layers import synthetic as syn
from tests.widgets.conftest import Scene


def _assets_scatter(scene: Scene) -> FastScatter:
    return scene.canvas.renderers["assets"].scatter  # type: ignore[attr-defined,no-any-return]


def test_density_view_shows_the_same_statuses_as_the_symbols(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    sc = _assets_scatter(scene)
    c.render_now()
    assert sc.last_mode == "symbols" and sc.last_drawn == len(scene.assets)
    sc.lod_points_per_mpx = 100.0  # 1,000 assets on 0.7 Mpx now count as crowded
    sc.update()
    c.render_now()
    assert sc.last_mode == "density" and sc.density_renders >= 1
    status_of = scene.assets.table.rows["status_code"][scene.assets.shown_mask()]
    assert sc.density_classes_shown() == {int(s) for s in np.unique(status_of)}
    # Hiding a status by filter takes it out of the density picture too.
    scene.assets.set_hidden("status", {"alarm"})
    c.render_now()
    alarm = scene.assets.vocab["status"].codes_of(["alarm"])[0]
    shown = sc.density_classes_shown()
    assert alarm not in shown and shown
    # An alarm raised while dense is drawn on top of the OKs sharing its cell.
    ok = next(i for i in scene.assets.ids if scene.assets.record(int(i))["status"] == "ok")
    scene.assets.set_hidden("status", set())
    scene.assets.upsert([{"id": int(ok), "status": "warning"}])
    c.render_now()
    assert sc.last_mode == "density"
    row = scene.assets.table.row(int(ok))
    assert sc.density_classes[row] == scene.assets.vocab["status"].codes_of(["warning"])[0]  # type: ignore[index]


def test_zooming_in_leaves_density_and_culls_symbols(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    sc = _assets_scatter(scene)
    sc.lod_points_per_mpx = 100.0
    c.render_now()
    assert sc.last_mode == "density"
    c.zoom_by(0.1)
    c.render_now()
    assert sc.last_mode == "symbols"
    in_view = sc.rows_in(c.view.viewRect())
    assert 0 < sc.last_drawn < len(scene.assets)
    assert len(in_view) <= sc.last_drawn


def test_culling_keeps_selection_and_picking_correct(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    for name in ("issues", "crews"):
        c.remove_layer(name)
    c.zoom_by(0.15)
    c.render_now()
    sc = _assets_scatter(scene)
    assert sc.last_drawn < len(scene.assets)  # most assets are off screen, not drawn
    # A lasso far larger than the view still selects every asset inside it.
    tri = [(-3000.0, -3000.0), (3000.0, -3000.0), (0.0, 3000.0)]
    layer, ids = c.select_area(tri)
    x, y = scene.assets.xy()
    expected = scene.assets.ids[contains_xy(Polygon(tri), x, y)]
    assert layer == "assets"
    assert sorted(ids) == sorted(int(i) for i in expected)
    assert len(ids) > sc.last_drawn
    # Picking an asset off screen (by model position) still finds it.
    r = scene.assets.table.row(10)
    assert c.pick(float(x[r]), float(y[r]))[1] == [10]


def test_status_burst_updates_rows_without_rebuild(qtbot: QtBot, scene: Scene) -> None:
    r = scene.canvas.renderers["assets"]
    sc = _assets_scatter(scene)
    rebuilds = r.full_rebuilds  # type: ignore[attr-defined]
    ids = [int(i) for i in scene.assets.ids[:200]]
    scene.assets.upsert([{"id": i, "status": syn.ASSET_STATUSES[i % 5]} for i in ids])
    scene.canvas.render_now()
    assert r.full_rebuilds == rebuilds  # type: ignore[attr-defined]
    rows = scene.assets.table.rows_of(ids)
    for row, fid in zip(rows, ids, strict=True):
        look = syn.ASSET_STATUSES[fid % 5]
        want = scene.canvas.renderers["assets"].point_styles(np.array([row]))  # type: ignore[attr-defined]
        assert sc.data["brush"][row] is want[3][0], look
        assert sc.data["sourceRect"]["w"][row] > 0
