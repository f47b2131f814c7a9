"""The console application: connect to a backend, build the map and panels, keep them live.

:class:`ConsoleSession` owns the live client (ZeroMQ on its own thread), the
layer models, the map and the main window, and tears them down in order so
the process exits cleanly. It changes nothing on its own: user intents go out
as commands and come back as deltas like everyone else's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from backend.protocol import envelope as proto
from backend.protocol.envelope import Envelope
from backend.protocol.roads import road_pages
from console.frames import Follower, FrameFeed
from console.live.client import LinkHealth, LiveClient
from console.live.qt_adapter import LiveBridge
from console.main_window import ConsoleMainWindow
from console.map_sync import LiveLayerSync
from layers.assets.model import AssetLayerModel
from layers.base import LayerModel
from layers.crews.model import CrewLayerModel
from layers.issues.model import IssueLayerModel
from layers.projection import LocalProjection
from layers.roads.model import RoadLayerModel
from widgets.inspector import InspectorWidget
from widgets.layer_panel import LayerPanelWidget
from widgets.map_canvas import MapCanvas

log = logging.getLogger(__name__)

Area = Qt.DockWidgetArea
#: How long start-up waits for the first snapshot before showing an empty, "connecting" map.
FIRST_SNAPSHOT_WAIT_S = 15.0
OPEN_JOB_STATUSES = frozenset({"new", "assigned", "en_route", "on_site"})


def wait_reply(future: Future[Envelope], timeout: float) -> dict[str, Any] | None:
    """The ``result`` of a command reply, or None on error or timeout (logged)."""
    try:
        reply = future.result(timeout)
    except Exception as exc:  # a timeout or a dead link is not fatal at start-up
        log.warning("request failed: %r", exc)
        return None
    if reply.type == proto.ERROR:
        log.warning("request refused: %s", reply.body)
        return None
    result = reply.body.get("result")
    return result if isinstance(result, dict) else None


def fetch_roads(client: LiveClient, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every road of the city, page by page, for the basemap (empty if the backend is away)."""
    return list(road_pages(lambda args: wait_reply(client.command("get_roads", args), timeout)))


class OpenJobs:
    """The jobs still open, followed from the replica for the status bar's count.

    Kept from each frame's job items rather than counted over the replica, so a
    job change costs a set update, not a walk over every entity of the city.
    """

    kinds = ("job",)

    def __init__(self) -> None:
        self.topics: set[str] = set()

    def load(self, entities: dict[str, dict[str, Any]]) -> None:
        """Every open job of a full replica copy."""
        self.topics = {
            t
            for t, e in entities.items()
            if t.startswith("job/") and e.get("status") in OPEN_JOB_STATUSES
        }

    def apply(self, items: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        """Job changes of one frame."""
        for t, e in items:
            if e is not None and e.get("status") in OPEN_JOB_STATUSES:
                self.topics.add(t)
            else:
                self.topics.discard(t)

    def __len__(self) -> int:
        return len(self.topics)


class ConsoleSession:
    """One console: live client, layer models, map canvas and main window."""

    def __init__(
        self,
        connect: str,
        user: str,
        settings_key: str | None = "default",
        clock: Callable[[], float] = time.monotonic,
        feed: str | None = None,
    ) -> None:
        self.user = user
        self.client = LiveClient(connect, user=user, feed_endpoint=feed)
        self.bridge = LiveBridge(self.client)
        self._clock = clock
        self.role = "?"
        self.client.start()
        roads = fetch_roads(self.client)
        self._wait_for_snapshot()
        seq, entities = self.client.replica.copy()
        self.bridge.discard_through(seq)  # the snapshot's change is this copy
        projection = self._projection(roads, entities)
        self.layers: dict[str, LayerModel] = {
            "roads": RoadLayerModel(projection),
            "assets": AssetLayerModel(projection),
            "issues": IssueLayerModel(projection),
            "crews": CrewLayerModel(projection),
        }
        self.canvas = MapCanvas(projection)
        for model in self.layers.values():
            self.canvas.add_layer(model)
        self.layers["roads"].replace_all(roads)
        self.sync = LiveLayerSync(self.client.replica, self.layers)
        self.sync.load_all(entities)
        #: One replica read per frame for the map and every panel (see console.frames).
        self.feed = FrameFeed(self.client.replica, self.sync)
        self.window = ConsoleMainWindow(self.canvas, settings_key=settings_key)
        self.layer_panel = LayerPanelWidget()
        for name in ("crews", "issues", "assets", "roads"):
            self.layer_panel.add_layer(self.layers[name])
        self.inspector = InspectorWidget()
        self.inspector.bind(self.canvas)
        self.window.add_dock("layers", "Layers", self.layer_panel, Area.LeftDockWidgetArea)
        self.window.add_dock("inspector", "Inspector", self.inspector, Area.BottomDockWidgetArea)
        self.layer_panel.setMinimumWidth(280)
        self._wire_map_actions()
        self.extensions: list[Any] = []  # panels installed by open_session
        self.alarm_count = 0
        self.open_jobs = OpenJobs()
        self.add_follower(self.open_jobs, entities)
        from console.monitor_panels import MonitorPanels

        self.monitor = MonitorPanels(self)
        self.add_follower(self.monitor, entities)
        self.bridge.changed.connect(self._on_changed)
        self.bridge.health_changed.connect(self._on_health)
        self._whoami()
        self.window.status.set_user(user, self.role)
        self.refresh_counts()
        self.window.status.set_seq(self.client.replica.seq)
        self._on_health(self.client.health)
        self.canvas.home()
        # Health changes while nothing else happens (a dead link) still show.
        self._health_timer = QTimer(self.window)
        self._health_timer.timeout.connect(lambda: self._on_health(self.client.health))
        self._health_timer.start(1000)

    # -- start-up ---------------------------------------------------------------------------
    def _wait_for_snapshot(self) -> None:
        deadline = self._clock() + FIRST_SNAPSHOT_WAIT_S
        while not self.client.replica.loaded and self._clock() < deadline:
            time.sleep(0.05)

    @staticmethod
    def _projection(
        roads: list[dict[str, Any]], entities: dict[str, dict[str, Any]]
    ) -> LocalProjection:
        points = [e for e in entities.values() if e.get("lon") is not None]
        if points:
            return LocalProjection.for_records(points)
        if roads:
            from layers.roads.model import road_parts

            lons: list[float] = []
            lats: list[float] = []
            for road in roads[:2000]:
                for part in road_parts(road["geom"]):
                    lons.extend(part[:, 0].tolist())
                    lats.extend(part[:, 1].tolist())
            return LocalProjection.for_points(lons, lats)
        return LocalProjection(0.0, 0.0)

    def _whoami(self) -> None:
        result = wait_reply(self.client.command("whoami", {}), 5.0)
        if result:
            self.role = str(result.get("role", "?"))

    def _wire_map_actions(self) -> None:
        w, c = self.window, self.canvas
        w.action("map.home").triggered.connect(c.home)
        w.action("map.zoom_in").triggered.connect(lambda: c.zoom_by(1 / 1.4))
        w.action("map.zoom_out").triggered.connect(lambda: c.zoom_by(1.4))
        w.action("map.zoom_selection").triggered.connect(c.zoom_to_selection)
        w.action("map.clear_selection").triggered.connect(c.clear_selection)

    def add_follower(
        self, follower: Follower, entities: dict[str, dict[str, Any]] | None = None
    ) -> None:
        """Feed a panel from the replica: everything now, then each frame's changes.

        Add panels before :meth:`finish` so saved layouts find their docks.
        """
        if entities is None:
            _, entities = self.client.replica.copy()
        self.feed.add(follower, entities)

    def remove_follower(self, follower: Follower) -> None:
        """Stop feeding a panel (it is closing)."""
        self.feed.remove(follower)

    @property
    def followers(self) -> list[Follower]:
        """The panels fed each frame, in the order they were added."""
        return self.feed.followers

    # -- live -----------------------------------------------------------------------------------
    def _on_changed(self, topics: frozenset[str], seq: int) -> None:
        jobs_before = len(self.open_jobs)
        self.feed.deliver(topics)
        self.window.status.set_seq(seq)
        if len(self.open_jobs) != jobs_before:
            self.refresh_counts()

    def refresh_counts(self) -> None:
        """Show active alarms (alarm list) and open jobs in the status bar."""
        self.window.status.set_counts(self.alarm_count, len(self.open_jobs))

    def _on_health(self, health: LinkHealth) -> None:
        self.window.status.set_link(health.state.value, health.silent_s)
        self.canvas.setProperty("stale", health.state.value != "live")

    def finish(self) -> None:
        """All panels are in: restore the user's saved layout over the built-in one."""
        # The built-in layout gives the map most of the screen.
        docks = self.window.docks
        bottom = [d for k, d in docks.items() if k in ("inspector", "history")]
        left = [d for k, d in docks.items() if k in ("layers", "alarms")]
        right = [d for k, d in docks.items() if k in ("jobs", "crews", "recommend", "risk")]
        self.window.resizeDocks(bottom, [240] * len(bottom), Qt.Orientation.Vertical)
        self.window.resizeDocks(left, [340] * len(left), Qt.Orientation.Horizontal)
        for key in ("recommend", "inspector"):  # the first tab of each stack in front
            if key in docks:
                docks[key].raise_()
        self.window.resizeDocks(right, [460] * len(right), Qt.Orientation.Horizontal)
        self.window.finish_layout()
        self.canvas.home()

    # -- shutdown -------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the live client and delete the window, in that order."""
        self._health_timer.stop()
        for extension in reversed(self.extensions):
            if hasattr(extension, "close"):
                extension.close()
        self.bridge.changed.disconnect(self._on_changed)
        self.bridge.health_changed.disconnect(self._on_health)
        self.client.stop()
        self.window.close()
        self.window.deleteLater()
        QApplication.processEvents()


#: Panels added to every console, in order: (module, function taking the session).
PANEL_INSTALLERS: tuple[tuple[str, str], ...] = (
    ("console.dispatch_panels", "install_dispatch_panels"),
    ("console.risk_panels", "install_risk_panels"),
    ("console.timeline_panels", "install_timeline_panels"),
)


def open_session(
    connect: str, user: str, settings_key: str | None = "default", feed: str | None = None
) -> ConsoleSession:
    """A console with every panel, its saved layout restored (``feed``: a relay's endpoint)."""
    import importlib

    session = ConsoleSession(connect, user, settings_key=settings_key, feed=feed)
    for module, function in PANEL_INSTALLERS:
        session.extensions.append(getattr(importlib.import_module(module), function)(session))
    session.finish()
    return session


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the control-room theme (reuses one if it exists)."""
    from console.theme import apply_dark_theme

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(argv or ["cityops"])
        app.setApplicationName("CityOps Console")
        app.setOrganizationName("cityops")
    apply_dark_theme(app)
    return app
