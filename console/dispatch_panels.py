"""Dispatch in the console: job queue, crew board, recommendation panel and routes on the map.

:func:`install_dispatch_panels` adds them to a running console session and
wires them together:

* the live replica's job, issue and crew changes feed the queue and board models (the
  panels are a follower of the session's frame feed: one replica read per frame, shared
  with the map, and only the kinds they follow);
* the DispatchController sends the dispatcher's intents; its ``eta_source``
  hook gets road ETAs from the backend (``crew_etas``), so a dragged job marks
  the eligible crews on the map with their ETA by road;
* selecting a job (queue) selects its issue on the map, and selecting an issue
  on the map selects its open job in the queue; the selected job gets the top
  crews by road in the recommendation panel and their routes on the map;
* keys: Ctrl+Z undoes the last assignment anywhere in the window, Ctrl+F
  searches the queue, 1–3 in the queue (no job armed) or the panel assign a
  recommended crew.

Nothing here edits a model on its own: assignments come back as deltas.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent

from console.dispatch.controller import CommandOutcome, DispatchController
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.eligibility import EligibilityRule
from console.dispatch.job_queue import JobQueueModel
from console.dispatch.recommend import DispatchRouting, RecommendationView
from console.main_window import ConsoleMainWindow
from layers.base import LayerInputError, LayerModel
from layers.routes.model import RouteLayerModel
from widgets.crew_board import CrewBoardWidget, GuiThreadPoster
from widgets.job_queue import JobQueueWidget
from widgets.layer_panel import LayerPanelWidget
from widgets.map_canvas import MapCanvas
from widgets.map_drop import MapDropHelper, install_map_drop
from widgets.recommend_panel import RecommendPanelWidget

log = logging.getLogger(__name__)

Area = Qt.DockWidgetArea
#: While a job is selected, its recommendation is refreshed at most this often (ms) as crews move.
REFRESH_MS = 2000


class DispatchSession(Protocol):
    """What the panels need from a console session (``console.app.ConsoleSession`` has it all)."""

    window: ConsoleMainWindow
    canvas: MapCanvas
    layers: dict[str, LayerModel]
    layer_panel: LayerPanelWidget
    client: Any  # LiveClient: command(name, args) -> Future

    def add_follower(
        self, follower: Any, entities: dict[str, dict[str, Any]] | None = None
    ) -> None:
        """Load a panel from the replica now and feed it each frame's changes."""

    def remove_follower(self, follower: Any) -> None:
        """Stop feeding a panel."""


class DispatchPanels(QObject):
    """The dispatch docks, the routes layer and the wiring between them and the map."""

    #: What the queue and board follow (see :class:`console.frames.Follower`).
    kinds = ("crew", "issue", "job")

    def __init__(self, session: DispatchSession, tick_ms: int = 500) -> None:
        super().__init__(session.window)
        self.session = session
        window, canvas = session.window, session.canvas
        self.poster = GuiThreadPoster(window)
        self.jobs = JobQueueModel()
        self.crews = CrewBoardModel()
        send = session.client.command
        self.controller = DispatchController(send, self.jobs, self.crews, post=self.poster)
        self.routing = DispatchRouting(send, self.controller, post=self.poster)
        self.controller.eta_source = self.routing.eta_source

        self.queue = JobQueueWidget(self.jobs, self.controller, tick_ms=tick_ms)
        self.board = CrewBoardWidget(self.crews, self.controller, tick_ms=max(tick_ms, 1000))
        self.panel = RecommendPanelWidget(self.routing.model, self.controller)
        window.add_dock("jobs", "Job queue", self.queue, Area.RightDockWidgetArea)
        window.add_dock("crews", "Crew board", self.board, Area.RightDockWidgetArea)
        window.add_dock("recommend", "Recommended crews", self.panel, Area.RightDockWidgetArea)

        self.routes = RouteLayerModel(canvas.projection)
        session.layers["routes"] = self.routes
        canvas.add_layer(self.routes)
        session.layer_panel.add_layer(self.routes)
        self.map_drop: MapDropHelper = install_map_drop(canvas, self.controller)

        self._syncing = False
        self._dirty = False
        self._wire()
        session.add_follower(self)

    # -- wiring ---------------------------------------------------------------------------

    def _wire(self) -> None:
        w = self.session.window
        self.queue.job_selected.connect(self._on_queue_selection)
        self.session.canvas.selection_changed.connect(self._on_map_selection)
        self.routing.model.changed.connect(self._on_recommendation)
        self.routing.etas_arrived.connect(self.map_drop.show_placing)
        self.routing.zone_seen.connect(self._on_zone)
        self.controller.outcome.connect(self._on_outcome)
        for widget in (self.queue, self.board, self.panel):
            widget.message.connect(lambda text: w.status.showMessage(text, 8000))
        w.action("dispatch.undo").triggered.connect(self.controller.undo)
        w.action("dispatch.search").triggered.connect(self.focus_search)
        # Before the queue's own key filter (filters run newest first): 1–3 with no job armed.
        self.queue.view.installEventFilter(self)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh_if_dirty)
        self._refresh_timer.start()

    def eventFilter(self, obj: QObject, event: Any) -> bool:
        """Keys 1–9 in the queue pick a recommended crew when no job is armed."""
        if (
            obj is self.queue.view
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and self.controller.armed_job_id is None
            and self.queue.selected_job_id() == self.routing.selected_job_id
        ):
            return self.panel.handle_key(event)
        return False

    def load(self, entities: dict[str, dict[str, Any]]) -> None:
        """Fill the queue and board from a full replica copy."""
        self.jobs.load(entities)
        self.crews.load(entities)

    def apply(self, items: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        """Changed entities of one frame: the models update, the recommendation goes stale."""
        items = list(items)
        self.jobs.apply_many(items)
        self.crews.apply_many(items)
        selected = self.routing.selected_job_id
        if selected is None:
            return
        if any(t.startswith("crew/") or t == f"job/{selected}" for t, _ in items):
            self._dirty = True

    def _refresh_if_dirty(self) -> None:
        if self._dirty and self.routing.selected_job_id is not None:
            self._dirty = False
            self.routing.refresh()

    # -- selection both ways ----------------------------------------------------------------------

    def _on_queue_selection(self, job_id: int) -> None:
        selected = None if job_id < 0 else job_id
        self.routing.select_job(selected)
        if self._syncing:
            return
        job = None if selected is None else self.jobs.jobs.get(selected)
        issue_id = None if job is None else job.get("issue_id")
        issues = self.session.layers.get("issues")
        self._syncing = True
        try:
            if issue_id is not None and issues is not None and int(issue_id) in issues.records:
                self.session.canvas.select("issues", [int(issue_id)])
            elif self.session.canvas.selection[0] == "issues":
                self.session.canvas.clear_selection()
        finally:
            self._syncing = False

    def _on_map_selection(self, layer: str, ids: list[int]) -> None:
        if self._syncing or layer != "issues" or len(ids) != 1:
            return
        issue_id = int(ids[0])
        open_jobs = sorted(
            (int(j["id"]) for j in self.jobs.jobs.values() if j.get("issue_id") == issue_id),
        )
        if not open_jobs:
            return
        self._syncing = True
        try:
            self.queue.select_job(open_jobs[0])
        finally:
            self._syncing = False

    def select_job(self, job_id: int | None) -> None:
        """Select a job in the queue (and so on the map and in the panel)."""
        self.queue.select_job(job_id)

    # -- answers ----------------------------------------------------------------------------

    def _on_recommendation(self, view: RecommendationView) -> None:
        if view.job_id is None:
            self.routes.clear()
        elif view.state in ("ready", "error") or view.raw_choices:
            try:
                self.routes.show_recommendation(view.job_id, view.raw_choices)
            except LayerInputError as exc:  # the good routes are drawn; a bad one is logged
                log.warning("routes: %s", exc)

    def _on_zone(self, name: str) -> None:
        """Shift times are local to the city: judge them in the zone the backend names."""
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown time zone from the backend: %r", name)
            return
        rule = self.crews.rule
        self.crews.rule = EligibilityRule(zone=zone, stale_after_s=rule.stale_after_s)
        self.crews.set_candidate(self.crews.candidate)

    def _on_outcome(self, outcome: CommandOutcome) -> None:
        self.session.window.status.showMessage(outcome.message, 8000)
        if outcome.ok and outcome.job_id == self.routing.selected_job_id:
            self._dirty = True  # workloads changed: rank again on the next refresh

    def focus_search(self) -> None:
        """Ctrl+F: the queue's search box."""
        dock = self.session.window.docks["jobs"]
        dock.show()
        dock.raise_()
        self.queue.focus_search()

    def close(self) -> None:
        """Stop the timers and following the replica."""
        self._refresh_timer.stop()
        self.queue.timer.stop()
        self.board.timer.stop()
        self.session.remove_follower(self)


def install_dispatch_panels(session: DispatchSession, tick_ms: int = 500) -> DispatchPanels:
    """Add the dispatch docks and the routes layer to a console session and wire them up.

    Call it before ``window.finish_layout()`` so the saved layout knows the new docks.
    """
    return DispatchPanels(session, tick_ms)
