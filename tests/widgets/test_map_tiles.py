"""Cached map pictures: road tiles follow roads, filters and zoom; density updates in place."""

from __future__ import annotations

import numpy as np
from pyqtgraph.Qt import QtCore, QtGui
from pytestqt.qtbot import QtBot

from layers import palette
from layers.fast_scatter import FastScatter
from layers.roads.renderer import RoadsItem
from tests.layers import synthetic as syn
from tests.widgets.conftest import Scene


def _roads_only(scene: Scene) -> RoadsItem:
    for name in ("assets", "issues", "crews"):
        scene.canvas.remove_layer(name)
    scene.canvas.render_now()
    return scene.canvas.renderers["roads"].item  # type: ignore[attr-defined]


def _pixel(scene: Scene, x: float, y: float) -> QtGui.QColor:
    """The colour drawn at map point (x, y) metres."""
    c = scene.canvas
    c.render_now()
    img = c.graphics.grab().toImage()
    p = c.graphics.mapFromScene(c.view.mapViewToScene(QtCore.QPointF(x, y)))
    return img.pixelColor(p.x(), p.y())


def _is_background(col: QtGui.QColor) -> bool:
    bg = QtGui.QColor(palette.BACKGROUND)
    return (
        max(abs(col.red() - bg.red()), abs(col.green() - bg.green()), abs(col.blue() - bg.blue()))
        < 8
    )


def test_road_tiles_are_redrawn_when_roads_change(qtbot: QtBot, scene: Scene) -> None:
    item = _roads_only(scene)
    # A diagonal across one block, where no street runs yet.
    lo0, la0 = syn.CENTRE[0] - 3.0 / 82.0, syn.CENTRE[1] - 3.0 / 111.0
    blk_lon, blk_lat = 6.0 / 82.0 / 12, 6.0 / 111.0 / 12
    a = (lo0 + 5 * blk_lon, la0 + 5 * blk_lat)
    b = (lo0 + 6 * blk_lon, la0 + 6 * blk_lat)
    mx, my = scene.roads.projection.forward((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    assert _is_background(_pixel(scene, float(mx), float(my)))
    before = item.cache_renders
    scene.roads.upsert(
        [{"id": 999, "road_class": "motorway", "coords": [list(a), list(b)], "name": "New"}]
    )
    assert not _is_background(_pixel(scene, float(mx), float(my)))
    assert item.cache_renders > before  # the tiles were dropped and drawn again
    scene.roads.remove([999])
    assert _is_background(_pixel(scene, float(mx), float(my)))


def test_filters_drop_tiles_but_visibility_and_opacity_reuse_them(
    qtbot: QtBot, scene: Scene
) -> None:
    item = _roads_only(scene)
    # A point on the motorway (the middle street), half way between two avenues.
    lo0 = syn.CENTRE[0] - 3.0 / 82.0
    px, py = scene.roads.projection.forward(lo0 + 6.0 / 82.0 * (5.5 / 12), syn.CENTRE[1])
    x, y = float(px), float(py)
    assert not _is_background(_pixel(scene, x, y))
    renders = item.cache_renders
    scene.roads.set_hidden("road_class", {"motorway"})
    assert _is_background(_pixel(scene, x, y))
    assert item.cache_renders > renders  # a filter changes the picture: new tiles
    scene.roads.set_hidden("road_class", set())
    assert not _is_background(_pixel(scene, x, y))
    renders = item.cache_renders
    scene.roads.set_visible(False)
    assert _is_background(_pixel(scene, x, y))
    scene.roads.set_visible(True)
    scene.roads.set_opacity(0.6)
    assert not _is_background(_pixel(scene, x, y))
    assert item.cache_renders == renders  # same picture: the tiles are reused


def test_pan_renders_only_the_exposed_tiles_and_zoom_levels_are_kept(
    qtbot: QtBot, scene: Scene
) -> None:
    c = scene.canvas
    item = _roads_only(scene)
    c.zoom_by(0.5)
    c.render_now()
    in_view = item.last_tiles
    renders = item.cache_renders
    c.pan_by(0.3, 0.0)
    c.render_now()
    exposed = item.cache_renders - renders
    assert 0 < exposed < in_view  # a strip of new tiles, not the whole view again
    renders = item.cache_renders
    c.pan_by(-0.3, 0.0)
    c.zoom_by(2.0)
    c.zoom_by(0.5)
    c.render_now()
    assert item.cache_renders == renders  # both places and zooms were seen: pure blits


def test_tile_cache_stays_within_its_budget(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    item = _roads_only(scene)
    item.tiles.budget_bytes = 6 * 256 * 256 * 4  # six tiles
    for _ in range(5):
        c.zoom_by(0.8)
        c.render_now()
    assert item.tiles.bytes <= item.tiles.budget_bytes
    assert item.tiles.evictions > 0
    assert len(item.levels) <= 2  # levels whose tiles all went are forgotten


def _assets_scatter(scene: Scene) -> FastScatter:
    return scene.canvas.renderers["assets"].scatter  # type: ignore[attr-defined]


def test_incremental_density_update_equals_a_full_recompute(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    sc = _assets_scatter(scene)
    sc.lod_points_per_mpx = 100.0
    scene.assets.set_hidden("status", {"out_of_service"})
    c.render_now()
    c.zoom_by(0.7)  # a second density level, cached beside the first
    c.render_now()
    assert sc.last_mode == "density"
    c.zoom_by(1 / 0.7)
    c.render_now()
    assert len(sc.density.levels) == 2
    builds = sc.density.builds
    rng = np.random.default_rng(9)
    for _ in range(4):
        ids = rng.choice(scene.assets.ids, size=150, replace=False)
        states = rng.integers(0, len(syn.ASSET_STATUSES), len(ids))
        scene.assets.upsert(
            [
                {"id": int(i), "status": syn.ASSET_STATUSES[s]}
                for i, s in zip(ids, states, strict=True)
            ]
        )
        c.render_now()
    assert sc.density.builds == builds  # updated in place, not rebuilt
    assert sc.density.cell_updates > 0
    sc.density.flush()
    assert sc.index is not None
    checked = 0
    for key in sc.density.tiles:
        tile = sc.density.tiles.peek(key)
        fresh = sc.density.recompute(key, sc.index, sc.data["visible"], sc.density_classes)  # type: ignore[arg-type]
        if tile is None or fresh is None:
            assert tile is None and fresh is None, key
            continue
        k = fresh.counts.shape[1]
        assert np.array_equal(tile.counts[:, :k], fresh.counts), key
        assert not tile.counts[:, k:].any()
        assert np.array_equal(tile.pixels, fresh.pixels), key
        checked += 1
    assert checked > 2
    # And the statuses in the picture are those of the shown assets.
    shown = scene.assets.table.rows["status_code"][scene.assets.shown_mask()]
    assert sc.density_classes_shown() == {int(s) for s in np.unique(shown)}
