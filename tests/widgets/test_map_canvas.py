"""The map canvas offscreen: deltas reach the items, selection, keys, pixels."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtGui
from pytestqt.qtbot import QtBot
from shapely.geometry import Polygon

from layers import palette
from tests.layers import synthetic as syn
from tests.widgets.conftest import Scene


def _wait_frame(qtbot: QtBot, scene: Scene) -> None:
    qtbot.waitUntil(lambda: not any(r.dirty for r in scene.canvas.renderers.values()), timeout=2000)


def test_a_delta_reaches_only_its_point(qtbot: QtBot, scene: Scene) -> None:
    r = scene.canvas.renderers["assets"]
    rebuilds = r.full_rebuilds  # type: ignore[attr-defined]
    target = next(i for i in scene.assets.ids if scene.assets.record(int(i))["status"] == "ok")
    before = list(r.scatter.data["brush"])  # type: ignore[attr-defined]
    scene.assets.upsert([{"id": int(target), "status": "alarm", "lon": syn.CENTRE[0]}])
    _wait_frame(qtbot, scene)
    d = r.scatter.data  # type: ignore[attr-defined]
    t = scene.assets.table.rows
    assert np.array_equal(d["x"], t["x"]) and np.array_equal(d["y"], t["y"])
    assert list(d["data"]) == list(t["id"])
    row = scene.assets.table.row(int(target))
    alarm = palette.ASSET_STATUSES["alarm"]
    assert d["brush"][row].color().name().upper() == alarm.colour.upper()
    assert d["size"][row] == pytest.approx(palette.ASSET_BASE_SIZE * alarm.size_scale)
    changed = [i for i, (a, b) in enumerate(zip(before, d["brush"], strict=True)) if a is not b]
    assert changed == [row]
    assert r.full_rebuilds == rebuilds  # type: ignore[attr-defined]
    # Distinct styles stay few: the atlas holds one entry per (symbol, size, pen, brush).
    assert len(r.scatter.fragmentAtlas) <= 25  # type: ignore[attr-defined]


def test_a_burst_of_deltas_is_one_frame(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    frames = c.frames
    settles = {n: r.settle_count for n, r in c.renderers.items()}
    rng = np.random.default_rng(5)
    for _ in range(200):
        fid = int(rng.integers(1, 1001))
        scene.assets.upsert([{"id": fid, "status": syn.ASSET_STATUSES[int(rng.integers(0, 5))]}])
        scene.crews.upsert([{"id": 1 + fid % 12, "last_heading": float(rng.uniform(0, 360))}])
    with qtbot.waitSignal(c.frame_settled, timeout=2000):
        pass
    assert c.frames == frames + 1
    assert c.renderers["assets"].settle_count == settles["assets"] + 1
    assert c.renderers["crews"].settle_count == settles["crews"] + 1
    assert c.renderers["roads"].settle_count == settles["roads"]


def test_rectangle_drag_selects_the_points_inside(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    got: list[tuple[str, list[int]]] = []
    c.selection_changed.connect(lambda layer, ids: got.append((layer, ids)))
    scene.canvas.remove_layer("issues")
    scene.canvas.remove_layer("crews")
    vp = c.graphics.viewport()
    a, b = QtCore.QPoint(400, 250), QtCore.QPoint(560, 380)
    shift = QtCore.Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(vp, QtCore.Qt.MouseButton.LeftButton, shift, a)
    for k in range(1, 11):
        qtbot.mouseMove(vp, a + (b - a) * (k / 10))
    qtbot.mouseRelease(vp, QtCore.Qt.MouseButton.LeftButton, shift, b)
    assert got, "no selection from the drag"
    layer, ids = got[-1]
    pa = c.view.mapSceneToView(c.graphics.mapToScene(a))
    pb = c.view.mapSceneToView(c.graphics.mapToScene(b))
    x, y = scene.assets.xy()
    inside = (
        (x >= min(pa.x(), pb.x()))
        & (x <= max(pa.x(), pb.x()))
        & (y >= min(pa.y(), pb.y()))
        & (y <= max(pa.y(), pb.y()))
    )
    assert layer == "assets"
    assert sorted(ids) == sorted(int(i) for i in scene.assets.ids[inside])
    assert len(ids) > 5


def test_lasso_selects_inside_a_triangle(scene: Scene) -> None:
    c = scene.canvas
    tri = [(-900.0, -900.0), (900.0, -900.0), (0.0, 900.0)]
    layer, ids = c.select_area(tri)
    # Crews sit on top: if any crew is inside, crews win; check against that layer.
    model = c.model(layer)
    x, y = model.xy()
    poly = Polygon(tri)
    from shapely import contains_xy

    expected = model.ids[contains_xy(poly, x, y) & model.shown_mask()]
    assert sorted(ids) == sorted(int(i) for i in expected) and ids
    assert c.selection == (layer, ids)


def test_click_on_a_cluster_lists_its_issues(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    r = c.renderers["issues"]
    cl = r.clusters  # type: ignore[attr-defined]
    assert cl is not None and (cl.count > 1).any()
    k = int(np.argmax(cl.count))
    scene_pt = c.view.mapViewToScene(QtCore.QPointF(cl.x[k], cl.y[k]))
    pos = c.graphics.mapFromScene(scene_pt)
    with qtbot.waitSignal(c.selection_changed, timeout=2000) as sig:
        qtbot.mouseClick(c.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    layer, ids = sig.args
    assert layer == "issues"
    members = scene.issues.table.rows["id"][cl.members(k)]
    assert sorted(ids) == sorted(int(i) for i in members) and len(ids) == cl.count[k]


def test_zoom_regroups_but_pan_does_not(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    r = c.renderers["issues"]
    roads = c.renderers["roads"].item  # type: ignore[attr-defined]
    runs, caches = r.cluster_runs, roads.cache_renders  # type: ignore[attr-defined]
    c.pan_by(0.05, 0.0)
    c.render_now()
    assert r.cluster_runs == runs  # type: ignore[attr-defined]
    assert roads.cache_renders == caches  # a pan inside the cache is a blit
    assert roads.paints > 0
    c.zoom_by(0.5)
    c.render_now()
    assert r.cluster_runs == runs + 1  # type: ignore[attr-defined]
    assert roads.cache_renders > caches  # a new zoom level renders its tiles
    after_zoom = roads.cache_renders
    c.zoom_by(2.0)
    c.render_now()
    assert roads.cache_renders == after_zoom  # back to a zoom seen before: tiles reused


def test_keys_pan_zoom_and_home(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    home = c.view.viewRect()
    qtbot.keyClick(c.graphics, QtCore.Qt.Key.Key_Right)
    assert c.view.viewRect().center().x() > home.center().x() + 0.1 * home.width()
    qtbot.keyClick(c.graphics, QtCore.Qt.Key.Key_Plus)
    assert c.view.viewRect().width() < home.width() * 0.8
    qtbot.keyClick(c.graphics, QtCore.Qt.Key.Key_Home)
    assert c.view.viewRect().width() == pytest.approx(home.width(), rel=1e-3)
    c.select("assets", [5])
    qtbot.keyClick(c.graphics, QtCore.Qt.Key.Key_Z)
    assert c.view.viewRect().width() < 400
    b = scene.assets.bounds([5])
    assert b is not None and c.view.viewRect().contains(QtCore.QPointF(b[0], b[1]))
    # The aspect is locked: a metre is as long across as up.
    px, py = c.view.viewPixelSize()
    assert px == pytest.approx(py, rel=1e-6)
    assert "m" in c.scale_bar.text() and 70 <= c.scale_bar.bar_px <= 140


def test_cursor_readout_and_hover_tooltip(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    fid = 10
    r = scene.assets.table.row(fid)
    x, y = scene.assets.xy()
    scene_pt = c.view.mapViewToScene(QtCore.QPointF(x[r], y[r]))
    got: list[tuple[float, float]] = []
    c.cursor_moved.connect(lambda lon, lat: got.append((lon, lat)))
    c.graphics.scene().sigMouseMoved.emit(scene_pt)
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    rec = scene.assets.record(fid)
    assert got[-1] == pytest.approx((rec["lon"], rec["lat"]), abs=1e-4)
    assert "° N" in c.readout.text() and "° W" in c.readout.text()
    hover = c.hover_text_at(float(x[r]), float(y[r]))
    # Something is under the cursor; when it is this asset it is described.
    assert hover
    assert c.hover_text_at(1e6, 1e6) == ""


def _pixel_at(canvas, x: float, y: float) -> QtGui.QColor:  # type: ignore[no-untyped-def]
    img = canvas.grab_image()
    p = canvas.graphics.mapFromScene(canvas.view.mapViewToScene(QtCore.QPointF(x, y)))
    p = canvas.graphics.mapTo(canvas, p)
    dpr = img.devicePixelRatio()
    return img.pixelColor(int(p.x() * dpr), int(p.y() * dpr))


def test_picture_is_not_blank_and_a_status_change_shows(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    img = c.grab_image()
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 20
    for name in ("issues", "crews"):
        c.remove_layer(name)
    scene.assets.upsert(
        [{"id": 77, "lon": syn.CENTRE[0] + 0.05, "lat": syn.CENTRE[1], "status": "ok"}]
    )
    _wait_frame(qtbot, scene)
    b = scene.assets.bounds([77])
    assert b is not None
    c.zoom_to(b, min_size=400)
    c.render_now()
    before = _pixel_at(c, b[0], b[1])
    assert before.name().upper() == palette.ASSET_STATUSES["ok"].colour.upper()
    scene.assets.upsert([{"id": 77, "status": "alarm"}])
    _wait_frame(qtbot, scene)
    c.render_now()
    after = _pixel_at(c, b[0], b[1])
    assert after.name().upper() == palette.ASSET_STATUSES["alarm"].colour.upper()


def test_stale_crew_fades_and_says_when_seen(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    r = c.renderers["crews"]
    row = scene.crews.table.row(1)
    assert r.scatter.data["brush"][row].color().alpha() == 255  # type: ignore[attr-defined]
    scene.clock.now = syn.NOW + timedelta(minutes=4)
    c.tick()
    _wait_frame(qtbot, scene)
    assert r.scatter.data["brush"][row].color().alpha() < 128  # type: ignore[attr-defined]
    assert any(t.endswith("last seen 4 min ago") for t in r.labels.texts())  # type: ignore[attr-defined]
    x, _ = r.trails.getData()  # type: ignore[attr-defined]
    assert x is None or len(x) == 0  # no crew has moved yet: no trails
    scene.crews.upsert(
        [
            {
                "id": 1,
                "last_lon": syn.CENTRE[0],
                "last_lat": syn.CENTRE[1],
                "last_seen_at": scene.clock.now,
            }
        ]
    )
    _wait_frame(qtbot, scene)
    x, _y = r.trails.getData()  # type: ignore[attr-defined]
    assert len(x) == 2
    assert r.scatter.data["brush"][row].color().alpha() == 255  # type: ignore[attr-defined]


def test_visibility_opacity_and_filters_restyle(qtbot: QtBot, scene: Scene) -> None:
    c = scene.canvas
    r = c.renderers["assets"]
    rebuilds = r.full_rebuilds  # type: ignore[attr-defined]
    scene.assets.set_opacity(0.4)
    scene.assets.set_hidden("status", {"ok"})
    _wait_frame(qtbot, scene)
    assert r.scatter.opacity() == pytest.approx(0.4)  # type: ignore[attr-defined]
    vis = r.scatter.data["visible"]  # type: ignore[attr-defined]
    assert vis.sum() == scene.assets.shown_mask().sum() < 1000
    assert r.full_rebuilds == rebuilds  # type: ignore[attr-defined]
    scene.assets.set_visible(False)
    _wait_frame(qtbot, scene)
    assert not r.scatter.isVisible()  # type: ignore[attr-defined]
    assert c.pick(*scene.assets.xy()[0][:1], *scene.assets.xy()[1][:1])[0] != "assets"
