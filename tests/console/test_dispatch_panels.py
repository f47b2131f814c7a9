"""install_dispatch_panels on a live console: real backend, real live client, real map.

The pieces a ConsoleSession holds (main window, map canvas with roads,
issues and crews layers fed from the live replica through a frame feed,
layer panel, live client and bridge) are built here the way console.app
builds them; the dispatch panels are installed on top. Selecting a job draws the recommended routes
with ETA labels (the one-way honoured), selection follows between queue and
map, a drag marks eligible crews with road ETAs, key 1 assigns and Ctrl+Z
undoes, and every change arrives back as a delta.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from backend.db.engine import make_sessionmaker
from backend.db.models import Job
from console.app import fetch_roads
from console.dispatch_panels import DispatchPanels, install_dispatch_panels
from console.frames import Follower, FrameFeed
from console.live.client import LiveClient
from console.live.qt_adapter import LiveBridge
from console.main_window import ConsoleMainWindow
from console.map_sync import LiveLayerSync
from layers.base import LayerModel
from layers.crews.model import CrewLayerModel
from layers.issues.model import IssueLayerModel
from layers.projection import LocalProjection
from layers.roads.model import RoadLayerModel
from tests.backend.routing.handmade import LAT0, LON0, ll
from tests.console.dispatch.block_city import running_service, seed_block
from widgets.layer_panel import LayerPanelWidget
from widgets.map_canvas import MapCanvas


@dataclass
class Session:
    """The parts of a console session the dispatch panels use."""

    client: LiveClient
    bridge: LiveBridge
    feed: FrameFeed
    window: ConsoleMainWindow
    canvas: MapCanvas
    layer_panel: LayerPanelWidget
    layers: dict[str, LayerModel] = field(default_factory=dict)

    def add_follower(
        self, follower: Follower, entities: dict[str, dict[str, Any]] | None = None
    ) -> None:
        if entities is None:
            _, entities = self.client.replica.copy()
        self.feed.add(follower, entities)

    def remove_follower(self, follower: Follower) -> None:
        self.feed.remove(follower)


@pytest.fixture
def console(
    qtbot: QtBot, engine: Engine
) -> Iterator[tuple[Session, DispatchPanels, dict[str, int]]]:
    ids = seed_block(engine)
    with running_service(engine) as service:
        client = LiveClient(service.pub_endpoint, user="dana").start()
        bridge = LiveBridge(client)
        deadline = time.monotonic() + 15
        while not client.replica.loaded and time.monotonic() < deadline:
            time.sleep(0.05)
        roads = fetch_roads(client)
        projection = LocalProjection(LON0 + 0.0012, LAT0 + 0.0009)
        canvas = MapCanvas(projection, tick_interval_ms=0)
        layers: dict[str, LayerModel] = {
            "roads": RoadLayerModel(projection),
            "issues": IssueLayerModel(projection),
            "crews": CrewLayerModel(projection),
        }
        for model in layers.values():
            canvas.add_layer(model)
        layers["roads"].replace_all(roads)
        sync = LiveLayerSync(client.replica, layers)
        _, entities = client.replica.copy()
        sync.load_all(entities)
        feed = FrameFeed(client.replica, sync)
        bridge.changed.connect(lambda topics, _seq: feed.deliver(topics))
        window = ConsoleMainWindow(canvas, settings_key="test-dispatch-panels")
        panel = LayerPanelWidget()
        window.add_dock("layers", "Layers", panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        session = Session(client, bridge, feed, window, canvas, panel, layers)
        panels = install_dispatch_panels(session)
        window.finish_layout()
        window.resize(1400, 800)
        window.show()
        qtbot.waitExposed(window)
        lo, hi = ll(-60, -40), ll(260, 240)
        x0, y0 = projection.forward(lo[0], lo[1])
        x1, y1 = projection.forward(hi[0], hi[1])
        canvas.zoom_to((float(x0), float(y0), float(x1), float(y1)))
        try:
            yield session, panels, ids
        finally:
            panels.close()
            client.stop()
            window.close()
            window.deleteLater()


def _job(engine: Engine, job_id: int) -> Job:
    with make_sessionmaker(engine)() as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def _near(a: tuple[float, float], b: Any) -> bool:
    return math.dist(a, (float(b[0]), float(b[1]))) < 1e-6


def test_selected_job_shows_routes_and_the_panel_assigns(
    qtbot: QtBot,
    engine: Engine,
    console: tuple[Session, DispatchPanels, dict[str, int]],
    tmp_path: Path,
) -> None:
    session, panels, ids = console
    routes = panels.routes
    assert {"jobs", "crews", "recommend"} <= set(session.window.docks)

    panels.select_job(ids["job"])
    qtbot.waitUntil(lambda: len(routes) == 3, timeout=10000)
    assert session.canvas.selection == ("issues", [ids["issue"]])  # queue → map
    assert routes.ranked_ids() == [ids["South"], ids["North"], ids["Stale"]]
    # North's route drives round the block: the one-way west side only goes north.
    north = routes.record(ids["North"])["coords"]
    for corner in (ll(200, 200), ll(200, 0), ll(0, 0)):
        assert any(_near(corner, c) for c in north)
    assert _near(ll(0, 100), north[-1])
    session.canvas.render_now()
    renderer = session.canvas.renderers["routes"]
    assert renderer.labels.texts() == [  # type: ignore[attr-defined]
        "1 · South · ETA 28s",
        "2 · North · ETA 1m",
        "3 · Stale · ETA 7s · stale",
    ]
    image = session.canvas.grab_image()
    assert image.save(str(tmp_path / "map_routes.png"))
    session.window.grab().save(str(tmp_path / "console_dispatch.png"))
    # The best route is drawn: its colour on the south side, between the crew and the corner.
    sky = np.array([0x56, 0xB4, 0xE9])
    x, y = session.canvas.projection.forward(*ll(50, 0))
    scene = session.canvas.view.mapViewToScene(pg.Point(float(x), float(y)))
    p = session.canvas.graphics.mapTo(session.canvas, session.canvas.graphics.mapFromScene(scene))
    dpr = image.devicePixelRatio()
    hits = 0
    for dy in range(-4, 5):
        c = image.pixelColor(int(p.x() * dpr), int((p.y() + dy) * dpr))
        hits += int(np.abs(np.array([c.red(), c.green(), c.blue()]) - sky).max() < 60)
    assert hits >= 2, "the best route is not drawn where it should be"

    # Key 1 in the queue (no job armed) assigns the top crew; the delta comes back.
    session.window.activateWindow()
    panels.queue.view.setFocus()
    qtbot.keyClick(panels.queue.view, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: panels.jobs.row(ids["job"]).status == "assigned", timeout=10000)
    assert _job(engine, ids["job"]).crew_id == ids["South"]
    assert session.window.status.currentMessage() == f"Job {ids['job']} assigned to South"
    # Ctrl+Z from the window's action takes it back.
    session.window.action("dispatch.undo").trigger()
    qtbot.waitUntil(lambda: _job(engine, ids["job"]).crew_id is None, timeout=10000)
    qtbot.waitUntil(lambda: panels.jobs.row(ids["job"]).status == "new", timeout=10000)


def test_map_selection_selects_the_job_and_a_drag_marks_road_etas(
    qtbot: QtBot, console: tuple[Session, DispatchPanels, dict[str, int]], tmp_path: Path
) -> None:
    session, panels, ids = console
    session.canvas.select("issues", [ids["issue2"]])  # map → queue
    assert panels.queue.selected_job_id() == ids["job2"]
    assert panels.routing.selected_job_id == ids["job2"]
    qtbot.waitUntil(lambda: ids["job2"] in panels.routing.etas, timeout=10000)  # prefetched

    marks = panels.map_drop.marks
    assert marks is not None
    panels.controller.begin_drag(ids["job2"])
    # Marked: fresh crews with the skill. Stale, Plumber and Off are not.
    assert set(marks.shown) == {ids["South"], ids["North"]}
    assert all("ETA" in text for text in marks.shown.values())
    assert panels.crews.eta_s(ids["North"]) == pytest.approx(
        panels.routing.etas[ids["job2"]][1][ids["North"]]
    )
    session.canvas.render_now()
    assert session.canvas.grab_image().save(str(tmp_path / "map_drag_etas.png"))
    panels.controller.end_drag()
    assert marks.shown == {}
