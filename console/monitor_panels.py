"""The operator's panels beside the map: the alarm list and the asset history.

Both follow the live replica; both send their intents (acknowledge, shelve,
create a job, fetch a history) as commands through the live client, and their
replies come back on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from console.alarms.commands import AlarmController, CommandRunner
from console.alarms.model import AlarmListModel
from widgets.alarm_list import AlarmListWidget
from widgets.asset_history import AssetHistoryWidget
from widgets.crew_board import GuiThreadPoster

if TYPE_CHECKING:
    from console.app import ConsoleSession

Area = Qt.DockWidgetArea


class MonitorPanels:
    """Alarm list (left) and asset history (bottom, tabbed with the inspector)."""

    #: What the panels follow (see :class:`console.frames.Follower`): alarms, asset names
    #: and readings, and the jobs and crew names an asset's history shows.
    kinds = ("alarm", "asset", "crew", "job")

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.poster = GuiThreadPoster(session.window)
        self.runner = CommandRunner(session.client.command, post=self.poster)
        self.alarms = AlarmListModel()
        self.alarm_list = AlarmListWidget(self.alarms, AlarmController(self.runner, self.alarms))
        self.history = AssetHistoryWidget(self.runner)
        window = session.window
        dock = window.add_dock("alarms", "Alarms", self.alarm_list, Area.LeftDockWidgetArea)
        self.alarm_list.attach_dock(dock)
        window.add_dock(
            "history",
            "Asset history",
            self.history,
            Area.BottomDockWidgetArea,
            tab_with="inspector",
        )
        window.action("alarms.focus").triggered.connect(self._focus_alarms)
        window.action("alarms.mute").triggered.connect(self.alarm_list.toggle_mute)
        window.action("history.search").triggered.connect(self._focus_history_search)
        self.alarm_list.asset_selected.connect(self.show_asset)
        self.alarm_list.counts_changed.connect(self._on_counts)
        session.canvas.selection_changed.connect(self._on_map_selection)

    def load(self, entities: dict[str, dict[str, Any]]) -> None:
        """Fill both panels from a full replica copy."""
        self.alarms.load(entities)
        self.history.set_assets(
            [
                (int(e["id"]), str(e.get("name") or f"{e.get('kind')} {e['id']}"), str(e["kind"]))
                for t, e in entities.items()
                if t.startswith("asset/")
            ]
        )

    def apply(self, items: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        """Changed entities of one frame."""
        items = list(items)
        self.alarms.apply_many(items)
        self.history.apply_many(items)

    def show_asset(self, asset_id: int) -> None:
        """Select the asset on the map and open its history."""
        self.session.canvas.select("assets", [asset_id])
        self.history.show_asset(asset_id)
        dock = self.session.window.docks["history"]
        dock.show()
        dock.raise_()

    def _on_map_selection(self, layer: str, ids: list[int]) -> None:
        if layer == "assets" and len(ids) == 1:
            self.history.show_asset(int(ids[0]))

    def _on_counts(self, counts: Any) -> None:
        self.session.alarm_count = int(getattr(counts, "active", 0))
        self.session.refresh_counts()

    def _focus_alarms(self) -> None:
        dock = self.session.window.docks["alarms"]
        dock.show()
        dock.raise_()
        self.alarm_list.setFocus()

    def _focus_history_search(self) -> None:
        dock = self.session.window.docks["history"]
        dock.show()
        dock.raise_()
        self.history.focus_search()
