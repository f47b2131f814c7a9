"""The incident timeline on a live console: real backend, real live client, real map.

Dispatch commands and crew positions go through the live client; the timeline
tab fetches the window with ``get_timeline`` on the same command path, lists
the events, filters them by kind, and a click selects and centres the entity
on the map. The replay fetches the crews' tracks and shows the state at the
play head in the replay layer while the live layers dim; back to live
restores them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from console.app import fetch_roads
from console.frames import FrameFeed
from console.live.client import LiveClient
from console.live.qt_adapter import LiveBridge
from console.main_window import ConsoleMainWindow
from console.map_sync import LiveLayerSync
from console.timeline_panels import TimelinePanels, install_timeline_panels
from layers.base import LayerModel
from layers.crews.model import CrewLayerModel
from layers.issues.model import IssueLayerModel
from layers.projection import LocalProjection
from layers.replay.model import feature_id
from layers.roads.model import RoadLayerModel
from tests.backend.routing.handmade import LAT0, LON0, ll
from tests.console.dispatch.block_city import running_service, seed_block
from tests.console.test_dispatch_panels import Session
from widgets.layer_panel import LayerPanelWidget
from widgets.map_canvas import MapCanvas

MIN = timedelta(minutes=1)


def command(client: LiveClient, name: str, args: dict[str, Any], key: str) -> dict[str, Any]:
    reply = client.command(name, args, key=key).result(15)
    assert reply.type != "error", reply.body
    return dict(reply.body["result"])


@pytest.fixture
def console(qtbot: QtBot, engine: Engine) -> Iterator[tuple[Session, TimelinePanels, dict]]:
    ids = seed_block(engine)
    with running_service(engine) as service:
        client = LiveClient(service.pub_endpoint, user="dana").start()
        bridge = LiveBridge(client)
        deadline = time.monotonic() + 15
        while not client.replica.loaded and time.monotonic() < deadline:
            time.sleep(0.05)
        # The shift's events, sent as a dispatcher would: a report with a job, its assignment.
        lon, lat = ll(0, 120)
        report = {"category": "Pump failure", "lon": lon, "lat": lat, "job": {"title": "Fix"}}
        made = command(client, "report_issue", report, "k0")
        ids["job"], ids["issue"] = made["job_id"], made["issue_id"]
        v = command(
            client,
            "assign_job",
            {"job_id": ids["job"], "crew_id": ids["South"], "version": 1},
            "k1",
        )["version"]
        command(
            client,
            "set_job_status",
            {"job_id": ids["job"], "status": "en_route", "version": v},
            "k2",
        )
        command(client, "report_issue", {"category": "Graffiti"}, "k3")
        now = datetime.now(UTC)
        track = [
            {"crew_id": ids["South"], "lon": ll(x, 0)[0], "lat": ll(x, 0)[1], "ts": now - m * MIN}
            for x, m in ((100, 3), (80, 2), (60, 1))
        ]
        command(client, "update_crew_positions", {"positions": track}, "k4")
        projection = LocalProjection(LON0 + 0.0012, LAT0 + 0.0009)
        canvas = MapCanvas(projection, tick_interval_ms=0)
        layers: dict[str, LayerModel] = {
            "roads": RoadLayerModel(projection),
            "issues": IssueLayerModel(projection),
            "crews": CrewLayerModel(projection),
        }
        for model in layers.values():
            canvas.add_layer(model)
        layers["roads"].replace_all(fetch_roads(client))
        sync = LiveLayerSync(client.replica, layers)
        _, entities = client.replica.copy()
        sync.load_all(entities)
        feed = FrameFeed(client.replica, sync)
        bridge.changed.connect(lambda topics, _seq: feed.deliver(topics))
        window = ConsoleMainWindow(canvas, settings_key=None)
        panel = LayerPanelWidget()
        window.add_dock("layers", "Layers", panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        session = Session(client, bridge, feed, window, canvas, panel, layers)
        panels = install_timeline_panels(session)  # type: ignore[arg-type]
        window.finish_layout()
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        canvas.home()
        try:
            yield session, panels, ids
        finally:
            panels.close()
            client.stop()
            window.close()
            window.deleteLater()


def test_the_timeline_lists_the_window_and_a_click_shows_the_entity(
    qtbot: QtBot, console: tuple[Session, TimelinePanels, dict]
) -> None:
    session, panels, ids = console
    w = panels.widget
    assert "timeline" in session.window.docks
    qtbot.waitUntil(lambda: len(w.shown_entries()) >= 4, timeout=15000)
    job = ids["job"]
    rows = w.row_texts()
    assert f"⚒ Job {job} assigned to South" in rows
    assert f"⚒ Job {job} crew en route" in rows
    assert "➤ South status → en route" in rows
    assert any(r.startswith("☎ Issue") and r.endswith("reported") for r in rows)
    assert w.filters["crew"].text() == "➤ Crews (1)"

    # Filter: crews off.
    w.filters["crew"].setChecked(False)
    assert not any(r.startswith("➤") for r in w.row_texts())
    w.filters["crew"].setChecked(True)

    # A click on the job's entry selects its issue and centres the map on it.
    canvas = session.canvas
    canvas.zoom_by(0.3)
    canvas.pan_by(0.4, 0.4)
    row = w.row_texts().index(f"⚒ Job {job} assigned to South")
    item = w.list.topLevelItem(row)
    assert item is not None
    w.list.scrollToItem(item)
    rect = w.list.visualItemRect(item)
    qtbot.mouseClick(w.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert canvas.selection == ("issues", [ids["issue"]])
    bounds = session.layers["issues"].bounds([ids["issue"]])
    assert bounds is not None
    centre = canvas.view.viewRect().center()
    assert abs(centre.x() - bounds[0]) < 1 and abs(centre.y() - bounds[1]) < 1

    # The crew's entry selects the crew.
    crew_row = w.row_texts().index("➤ South status → en route")
    crew_entry = w.shown_entries()[crew_row]
    assert panels.show_entry(crew_entry) == ("crews", ids["South"])
    assert canvas.selection == ("crews", [ids["South"]])


def test_ctrl_t_toggles_the_timeline(
    qtbot: QtBot, console: tuple[Session, TimelinePanels, dict]
) -> None:
    session, _panels, _ = console
    dock = session.window.docks["timeline"]
    action = session.window.action("timeline.toggle")
    assert action.shortcut().toString() == "Ctrl+T"
    dock.raise_()
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=5000)
    action.trigger()
    assert not dock.isVisible()
    action.trigger()
    assert dock.isVisible()


def test_replay_shows_the_window_at_the_play_head_and_back_to_live_restores(
    qtbot: QtBot, console: tuple[Session, TimelinePanels, dict]
) -> None:
    session, panels, ids = console
    w, layer = panels.widget, panels.replay_layer
    qtbot.waitUntil(lambda: len(w.shown_entries()) >= 4, timeout=15000)
    job, south = ids["job"], ids["South"]
    when = {e.type: e.ts for e in w.model.entries if e.topic == f"job/{job}"}
    assert not w.replaying and len(layer) == 0

    def shown() -> dict[tuple[str, int], str]:
        return {layer.entity_of(int(fid)): str(rec["status"]) for fid, rec in layer.records.items()}

    # Before the assignment: the job is new, South stands at its newest track point then
    # (its status unknown: the log says nothing of it before its first change).
    w.seek(when["job.assigned"] - timedelta(milliseconds=1))
    qtbot.waitUntil(lambda: len(layer) > 0, timeout=15000)  # the tracks came
    assert shown()[("job", job)] == "new"
    assert shown()[("crew", south)] == "unknown"
    assert ("issue", ids["issue"]) in shown()
    crew = layer.record(feature_id("crew", south))
    assert crew["lon"] == pytest.approx(ll(60, 0)[0])
    assert w.time_label.text().startswith("REPLAY")
    for name in ("issues", "crews"):
        assert session.layers[name].opacity == pytest.approx(0.25)  # live layers dim
    assert len(session.canvas.renderers["replay"].items()) == 2  # a few items, not one each

    w.seek(when["job.en_route"])
    assert shown()[("job", job)] == "en_route" and shown()[("crew", south)] == "en_route"
    # The list follows: the last event at that time (the command's third) is current.
    assert w.list.currentItem().text(1) == f"☎ Issue {ids['issue']} in progress"

    # Play from the start at 60x: one second of wall time is a minute of the window.
    w.seek(w.model.since)
    w.toggle_play()
    assert w.replay is not None and w.replay.playing
    w.step(1.0)
    assert w.replay.at == w.model.since + MIN
    assert layer.at == pytest.approx((w.model.since + MIN).timestamp())
    session.window.action("timeline.play").trigger()  # Ctrl+Shift+P pauses
    assert not w.replay.playing

    session.window.action("timeline.live").trigger()  # Ctrl+Shift+L: back to live
    assert not w.replaying and len(layer) == 0 and w.time_label.text() == "LIVE"
    for name in ("issues", "crews"):
        assert session.layers[name].opacity == 1.0
