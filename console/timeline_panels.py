"""The shift lead's incident timeline in the console: a bottom tab beside the inspector.

:func:`install_timeline_panels` adds the panel to a running console session:

* it fetches its window through the session's command path (``get_timeline``,
  like the asset history) and follows the replica for crew names;
* a click on an entry selects the entity on the map and centres the map on it;
* the replay: the first move of the play head fetches the crews' tracks for the
  window (``get_crew_tracks``), then every move draws the state at that time
  (:class:`console.timeline.replay.ReplayModel`) in the replay layer, above
  the live layers, which dim; **Back to live** clears it and restores them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from backend.protocol.columns import ColumnError
from console.alarms.commands import CommandRunner, Outcome
from console.timeline.model import TimelineEntry, map_target
from console.timeline.replay import ReplayModel, Tracks
from layers.replay.model import ReplayLayerModel
from widgets.crew_board import GuiThreadPoster
from widgets.incident_timeline import IncidentTimelineWidget

if TYPE_CHECKING:
    from console.app import ConsoleSession

log = logging.getLogger(__name__)

Area = Qt.DockWidgetArea
#: Live layers' opacity while the replay is shown over them.
DIM_OPACITY = 0.25
#: Track resolution asked for: one position per crew per this many seconds.
TRACK_STEP_S = 10.0


class TimelinePanels:
    """The incident timeline tab, its link to the map, and the replay layer."""

    #: Crews for their names; jobs, issues and alarms to find what an entry points at.
    kinds = ("alarm", "crew", "issue", "job")

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.poster = GuiThreadPoster(session.window)
        self.runner = CommandRunner(session.client.command, post=self.poster)
        self.widget = IncidentTimelineWidget(self.runner)
        self.entities: dict[str, dict[str, Any]] = {}
        self.replay_layer = ReplayLayerModel(session.canvas.projection)
        session.canvas.add_layer(self.replay_layer)
        self.replay: ReplayModel | None = None
        self._tracks_asked = False
        self._pending: datetime | None = None
        self._dimmed: dict[str, float] = {}
        session.window.add_dock(
            "timeline",
            "Incident timeline",
            self.widget,
            Area.BottomDockWidgetArea,
            tab_with="inspector",
        )
        self.widget.entry_activated.connect(self.show_entry)
        self.widget.replay_time_changed.connect(self.show_replay)
        self.widget.live_requested.connect(self.back_to_live)
        self.runner.outcome.connect(self._on_outcome)
        window = session.window
        window.action("timeline.toggle").triggered.connect(self.toggle)
        window.action("timeline.play").triggered.connect(self.play_pause)
        window.action("timeline.live").triggered.connect(self.widget.back_to_live)
        session.add_follower(self)
        self.widget.refresh()

    # -- following the replica ----------------------------------------------------------------

    def load(self, entities: dict[str, dict[str, Any]]) -> None:
        """Keep the followed kinds of a full replica copy."""
        self.entities = {t: e for t, e in entities.items() if t.partition("/")[0] in self.kinds}
        self._names()

    def apply(self, items: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        """Changed entities of one frame."""
        crews = False
        for t, e in items:
            if e is None:
                self.entities.pop(t, None)
            else:
                self.entities[t] = e
            crews = crews or t.startswith("crew/")
        if crews:
            self._names()

    def _crews(self) -> dict[int, dict[str, Any]]:
        return {
            int(e["id"]): e for t, e in self.entities.items() if t.startswith("crew/") and "id" in e
        }

    def _names(self) -> None:
        self.widget.model.set_crew_names(
            {cid: str(e.get("name") or f"Crew {cid}") for cid, e in self._crews().items()}
        )

    # -- the map link ---------------------------------------------------------------------------

    def show_entry(self, entry: TimelineEntry) -> tuple[str, int] | None:
        """Select what the entry is about on the map and centre the map on it."""
        target = map_target(entry, self.entities)
        canvas = self.session.canvas
        if target is None:
            return None
        layer, fid = target
        canvas.select(layer, [fid])
        if not canvas.centre_on_selection():
            # Not drawn (a closed issue leaves the map): centre on where the entity was.
            state = {**self.entities.get(entry.topic, {}), **entry.entity}
            lon, lat = state.get("lon"), state.get("lat")
            if isinstance(lon, float | int) and isinstance(lat, float | int):
                x, y = canvas.projection.forward([float(lon)], [float(lat)])
                canvas.centre_on(float(x[0]), float(y[0]))
        return target

    def toggle(self) -> None:
        """Show the timeline tab (and fetch it afresh), or hide it when it is in front."""
        dock = self.session.window.docks["timeline"]
        if dock.isVisible() and not dock.visibleRegion().isEmpty():
            dock.hide()
            return
        dock.show()
        dock.raise_()
        if not self.widget.replaying:
            self.widget.refresh()
        self.widget.list.setFocus()

    # -- replay ---------------------------------------------------------------------------------

    def play_pause(self) -> None:
        """Play or pause the replay (the timeline tab comes to the front)."""
        dock = self.session.window.docks["timeline"]
        dock.show()
        dock.raise_()
        self.widget.toggle_play()

    def show_replay(self, at: datetime) -> None:
        """Draw the map as it was at ``at`` (fetching the crews' tracks the first time)."""
        self._dim(True)
        if self.replay is None:
            self._pending = at
            self._ask_tracks()
            return
        frame = self.replay.frame(at)
        self.replay_layer.show(frame.at.timestamp(), frame.markers)

    def _ask_tracks(self) -> None:
        model = self.widget.model
        if self._tracks_asked or model.since is None or model.until is None:
            return
        self._tracks_asked = True
        args = {"since": model.since, "until": model.until, "step_s": TRACK_STEP_S}
        self.runner.run("tracks", 0, "get_crew_tracks", args, "", self._got_tracks)

    def _got_tracks(self, result: Any) -> None:
        try:
            tracks = Tracks.from_reply(result.get("tracks") or {"n": 0})
        except (ColumnError, ValueError) as exc:
            log.warning("crew tracks unreadable: %s", exc)
            tracks = Tracks.empty()
        self._build(tracks)

    def _on_outcome(self, outcome: Outcome) -> None:
        if outcome.intent == "tracks" and not outcome.ok:
            self.session.window.statusBar().showMessage(
                f"Crew tracks not loaded: {outcome.message}", 8000
            )
            self._build(Tracks.empty())  # the statuses still replay

    def _build(self, tracks: Tracks) -> None:
        model = self.widget.model
        if not self.widget.replaying or model.since is None or model.until is None:
            return  # back to live before the tracks came
        self.replay = ReplayModel(
            model.since,
            model.until,
            model.entries,
            model.before,
            tracks,
            crews=self._crews(),
            asset_positions=self._alarm_assets(),
        )
        if self._pending is not None:
            self.show_replay(self._pending)

    def _alarm_assets(self) -> dict[int, tuple[float, float]]:
        """Where the assets of the window's alarms are (assets do not move)."""
        model = self.widget.model
        states = [e.entity for e in model.entries if e.kind == "alarm"]
        states += [s for t, s in model.before.items() if t.startswith("alarm/")]
        states += [s for t, s in self.entities.items() if t.startswith("alarm/")]
        ids = {s.get("asset_id") for s in states if isinstance(s.get("asset_id"), int)}
        assets = self.session.canvas.renderers.get("assets")
        out: dict[int, tuple[float, float]] = {}
        if assets is None:
            return out
        for aid in ids:
            rec = assets.model.records.get(int(aid))  # type: ignore[arg-type]
            if rec and rec.get("lon") is not None and rec.get("lat") is not None:
                out[int(aid)] = (float(rec["lon"]), float(rec["lat"]))  # type: ignore[arg-type]
        return out

    def _dim(self, on: bool) -> None:
        """Dim the live layers under the replay (on), or restore their opacity (off)."""
        canvas = self.session.canvas
        if on and not self._dimmed:
            for model in canvas.models():
                if model is not self.replay_layer and model.name != "roads":
                    self._dimmed[model.name] = model.opacity
                    model.set_opacity(model.opacity * DIM_OPACITY)
        elif not on:
            for name, opacity in self._dimmed.items():
                if name in canvas.renderers:
                    canvas.model(name).set_opacity(opacity)
            self._dimmed = {}

    def back_to_live(self) -> None:
        """The replay ended: clear it and bring the live layers back."""
        self.replay = None
        self._tracks_asked = False
        self._pending = None
        self.replay_layer.clear()
        self._dim(False)

    def close(self) -> None:
        """Stop following the replica."""
        self.session.remove_follower(self)


def install_timeline_panels(session: ConsoleSession) -> TimelinePanels:
    """Add the incident timeline to a console session."""
    return TimelinePanels(session)
