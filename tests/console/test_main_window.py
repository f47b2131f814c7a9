"""The main window: docks, saved layout, full-screen map, Help lists every shortcut."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from console.main_window import SETTINGS_APP, SETTINGS_ORG, ConsoleMainWindow, ShortcutsDialog
from console.shortcuts import SHORTCUTS
from console.theme import font_point_size


@pytest.fixture
def settings_key(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    key = f"test-{tmp_path.name}"
    yield key
    QSettings(SETTINGS_ORG, SETTINGS_APP).remove(key)


def _window(qtbot: QtBot, key: str) -> ConsoleMainWindow:
    window = ConsoleMainWindow(QLabel("map"), settings_key=key)
    qtbot.addWidget(window)
    window.add_dock("layers", "Layers", QLabel("layers"), Qt.DockWidgetArea.LeftDockWidgetArea)
    window.add_dock("inspector", "Inspector", QLabel("i"), Qt.DockWidgetArea.BottomDockWidgetArea)
    window.finish_layout()
    return window


def test_layout_is_saved_and_restored(qtbot: QtBot, settings_key: str) -> None:
    window = _window(qtbot, settings_key)
    window.show()
    window.docks["layers"].hide()
    window.close()
    again = _window(qtbot, settings_key)
    again.show()
    assert not again.docks["layers"].isVisible()
    assert again.docks["inspector"].isVisible()
    again.reset_layout()
    assert again.docks["layers"].isVisible()


def test_fullscreen_map_hides_and_restores_panels(qtbot: QtBot, settings_key: str) -> None:
    window = _window(qtbot, settings_key)
    window.show()
    window.action("window.fullscreen").trigger()
    assert window.map_is_fullscreen
    assert not any(d.isVisible() for d in window.docks.values())
    window.action("window.fullscreen").trigger()
    assert not window.map_is_fullscreen
    assert all(d.isVisible() for d in window.docks.values())


def test_help_lists_every_shortcut(qtbot: QtBot) -> None:
    dialog = ShortcutsDialog()
    qtbot.addWidget(dialog)
    listed = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert listed == {s.keys for s in SHORTCUTS}


def test_status_bar_shows_link_health(qtbot: QtBot, settings_key: str) -> None:
    window = _window(qtbot, settings_key)
    window.status.set_link("stale", 12.4)
    assert window.status.link_label.text() == "▲ STALE for 12 s"
    window.status.set_link("live")
    assert "LIVE" in window.status.link_label.text()
    window.status.set_user("ana", "dispatcher")
    assert window.status.user_label.text() == "dispatcher: ana"


def test_fonts_grow_on_wall_screens() -> None:
    assert font_point_size(1080) == pytest.approx(11.0)
    assert font_point_size(2160) > font_point_size(1440) > font_point_size(1080)
    assert font_point_size(2160, 2.0) == font_point_size(1080)
