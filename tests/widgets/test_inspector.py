"""The inspector follows the canvas selection: one feature's fields, or a list."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tests.widgets.conftest import Scene
from widgets.inspector import InspectorWidget


def test_inspector_shows_one_or_many(qtbot: QtBot, scene: Scene) -> None:
    inspector = InspectorWidget()
    qtbot.addWidget(inspector)
    inspector.bind(scene.canvas)
    scene.canvas.select("assets", [12])
    rows = inspector.field_rows()
    rec = scene.assets.record(12)
    assert rows["name"] == rec["name"] and rows["status"] == rec["status"]
    assert inspector.stack.currentWidget() is inspector.fields
    scene.canvas.select("issues", [1, 2, 3])
    assert inspector.stack.currentWidget() is inspector.list
    assert inspector.list.count() == 3 and "3 open issues selected" in inspector.title.text()
    inspector.list.itemDoubleClicked.emit(inspector.list.item(1))
    assert inspector.field_rows()["address"] == scene.issues.record(2)["address"]
    scene.canvas.clear_selection()
    assert inspector.title.text() == "Nothing selected"
