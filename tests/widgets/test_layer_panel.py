"""The layer panel drives the models: visibility, opacity, legend rows as filters."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore
from pytestqt.qtbot import QtBot

from tests.widgets.conftest import Scene
from widgets.layer_panel import LayerPanelWidget


def test_panel_controls_change_the_model(qtbot: QtBot, scene: Scene) -> None:
    panel = LayerPanelWidget()
    qtbot.addWidget(panel)
    for m in (scene.crews, scene.issues, scene.assets, scene.roads):
        panel.add_layer(m)
    panel.show()
    alarm = panel.legend_item("assets", "status", "alarm")
    n_alarm = sum(1 for r in scene.assets.records.values() if r["status"] == "alarm")
    assert alarm.text(0) == "Alarm" and alarm.text(1) == str(n_alarm)
    assert not alarm.icon(0).isNull()
    alarm.setCheckState(0, QtCore.Qt.CheckState.Unchecked)
    assert scene.assets.hidden["status"] == {"alarm"}
    panel.layer_item("crews").setCheckState(0, QtCore.Qt.CheckState.Unchecked)
    assert not scene.crews.visible
    panel.sliders["issues"].setValue(30)
    assert scene.issues.opacity == 0.3
    # Model changes flow back into the panel (counts, checks), coalesced.
    scene.assets.upsert(
        [{"id": 1, "status": "alarm"}]
        if scene.assets.record(1)["status"] != "alarm"
        else [{"id": 1, "status": "ok"}]
    )
    scene.assets.set_hidden("status", set())
    qtbot.waitUntil(lambda: alarm.checkState(0) == QtCore.Qt.CheckState.Checked, timeout=2000)
    n_alarm = sum(1 for r in scene.assets.records.values() if r["status"] == "alarm")
    assert alarm.text(1) == str(n_alarm)
    crews_row = panel.legend_item("crews", "status", "en_route")
    assert "En route" in crews_row.text(0)
