"""Failure risk in a console: the risk map layer, the "Most at risk" dock and the renewal view.

:func:`install_risk_panels` adds them to a :class:`console.app.ConsoleSession`
(add ``("console.risk_panels", "install_risk_panels")`` to
``console.app.PANEL_INSTALLERS``). Risk scores are not live entities: the
backend recomputes them at start and daily, so the panels ask ``get_risk``
when installed, every :data:`REFRESH_MS`, and on **Refresh**; the layer and
the list are filled from the same reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer

from console.alarms.commands import CommandRunner, Outcome
from layers.risk.model import RiskLayerModel
from widgets.crew_board import GuiThreadPoster
from widgets.renewal_view import RenewalViewWidget
from widgets.risk_list import LIST_LIMIT, RiskListWidget

if TYPE_CHECKING:
    from console.app import ConsoleSession

Area = Qt.DockWidgetArea
#: How often the panels re-read the scores (they change daily; a restart rescored them).
REFRESH_MS = 15 * 60 * 1000
#: The map layer shows every scored asset, not only the list's top rows.
MAP_LIMIT = 5000


class RiskPanels:
    """The risk layer, list and renewal view of one console, and the refresh that feeds them."""

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.poster = GuiThreadPoster(session.window)
        self.runner = CommandRunner(session.client.command, post=self.poster)
        self.layer = RiskLayerModel(session.canvas.projection)
        self.layer.set_visible(False)  # an analysis overlay: the operator turns it on
        session.layers["risk"] = self.layer
        session.canvas.add_layer(self.layer)
        session.layer_panel.add_layer(self.layer)
        self.risk_list = RiskListWidget(self.runner)
        self.renewal = RenewalViewWidget(self.runner)
        window = session.window
        # Tabbed with the recommendation panel: a right-hand column of three stacks fits
        # a 720-line screen; the operator can pull any tab out to a screen of its own.
        tab = "recommend" if "recommend" in window.docks else None
        window.add_dock("risk", "Most at risk", self.risk_list, Area.RightDockWidgetArea, tab)
        window.add_dock("renewal", "Renewal", self.renewal, Area.RightDockWidgetArea, "risk")
        self.risk_list.asset_selected.connect(self.show_asset)
        self.renewal.asset_selected.connect(self.show_asset)
        self.risk_list.refresh_button.clicked.disconnect()
        self.risk_list.refresh_button.clicked.connect(lambda: self.refresh())
        session.canvas.selection_changed.connect(self._on_map_selection)
        self._timer = QTimer(window)
        self._timer.timeout.connect(lambda: self.refresh())
        self._timer.start(REFRESH_MS)
        self.refresh()
        self.renewal.request()

    def refresh(self) -> Outcome | None:
        """Ask for the scores once; the reply fills both the map layer and the list."""
        return self.runner.run(
            "risk", 0, "get_risk", {"limit": MAP_LIMIT}, "Risk scores updated", self._on_scores
        )

    def _on_scores(self, result: Any) -> None:
        assets = list((result or {}).get("assets") or [])
        self.layer.replace_all(RiskLayerModel.records_from_reply(assets))
        self.risk_list.set_reply({**(result or {}), "assets": assets[:LIST_LIMIT]})

    def show_asset(self, asset_id: int) -> None:
        """Select an asset on the map (on the risk layer when it is shown, else on assets)."""
        canvas = self.session.canvas
        layer = "risk" if self.layer.visible and asset_id in self.layer.table else "assets"
        canvas.select(layer, [asset_id])
        canvas.zoom_to_selection()

    def _on_map_selection(self, layer: str, ids: list[int]) -> None:
        if layer in ("risk", "assets") and len(ids) == 1:
            self.risk_list.select_asset(ids[0])


def install_risk_panels(session: ConsoleSession) -> RiskPanels:
    """Add the risk layer, the "Most at risk" dock and the renewal view to a console."""
    panels = RiskPanels(session)
    session.risk_panels = panels  # type: ignore[attr-defined]
    return panels
