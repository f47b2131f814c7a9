"""The alarm dock: tree of groups, severity chips, ack/shelve commands, flash, sound and mute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QDockWidget
from pytestqt.qtbot import QtBot

from console.alarms.commands import AlarmController, CommandRunner
from console.alarms.model import AlarmListModel
from layers.palette import ALARM_SEVERITIES
from tests.console.alarms.test_commands import Recorder
from tests.console.alarms.wire import T0, FixedClock, alarm, asset
from widgets.alarm_list import (
    ALARM_ID_ROLE,
    COLUMNS,
    FLASH_COLOUR,
    GROUP_KEY_ROLE,
    AlarmListWidget,
    ShelveDialog,
)

M = timedelta(minutes=1)


class Beeps:
    """Counts the sounds the widget makes."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _widget(qtbot: QtBot) -> tuple[AlarmListWidget, Recorder, Beeps, FixedClock]:
    clock = FixedClock(T0 + timedelta(hours=1))
    m = AlarmListModel(clock, flash_s=5.0)
    m.load(
        {
            "asset/1": asset(1, "Pump A"),
            "asset/2": asset(2, "Pump B"),
            "alarm/1": alarm(1, asset_id=1, severity="major", raised=T0 + 10 * M, version=3),
            "alarm/2": alarm(2, asset_id=1, severity="critical", raised=T0 + 5 * M, version=4),
            "alarm/3": alarm(3, asset_id=2, severity="minor", raised=T0 + 20 * M, version=1),
        }
    )
    send, beeps = Recorder(), Beeps()
    w = AlarmListWidget(m, AlarmController(CommandRunner(send), m), tick_ms=0, beep=beeps)
    qtbot.addWidget(w)
    w.resize(800, 300)
    w.show()
    qtbot.waitExposed(w)
    return w, send, beeps, clock


def _cell(w: AlarmListWidget, row: int, column: str, parent_row: int | None = None) -> Any:
    m = w.tree_model
    parent = m.index(parent_row, 0) if parent_row is not None else m.index(-1, -1)
    return m.index(row, COLUMNS.index(column), parent)


def test_tree_shows_groups_and_lone_alarms_with_severity_chips(qtbot: QtBot) -> None:
    w, _, _, _ = _widget(qtbot)
    m = w.tree_model
    assert m.rowCount() == 2
    group = _cell(w, 0, "asset")
    assert group.data(GROUP_KEY_ROLE) == "asset/1" and group.data(ALARM_ID_ROLE) is None
    assert group.data() == "Pump A: 2 alarms"
    assert _cell(w, 0, "message").data() == "2 alarms, 2 unacknowledged"
    assert m.rowCount(m.index(0, 0)) == 2
    assert [_cell(w, r, "asset", 0).data(ALARM_ID_ROLE) for r in range(2)] == [2, 1]
    sev = _cell(w, 0, "severity", 0)
    assert sev.data() == "■ CRITICAL"
    assert sev.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(
        ALARM_SEVERITIES["critical"].colour
    )
    assert _cell(w, 1, "severity").data() == "◆ MINOR"
    assert _cell(w, 1, "age").data() == "40m"
    assert _cell(w, 1, "state").data() == "UNACKED"
    assert _cell(w, 1, "severity").parent().isValid() is False
    assert m.parent(_cell(w, 1, "asset", 0)).row() == 0


def test_acknowledge_by_button_and_key_sends_versions(qtbot: QtBot) -> None:
    w, send, _, _ = _widget(qtbot)
    assert w.select_group("asset/1")
    qtbot.mouseClick(w.ack_button, Qt.MouseButton.LeftButton)
    assert send.calls == [
        ("ack_alarm", {"alarm_id": 2, "version": 4}),
        ("ack_alarm", {"alarm_id": 1, "version": 3}),
    ]
    assert w.select_alarm(3)
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_K)
    assert send.calls[-1] == ("ack_alarm", {"alarm_id": 3, "version": 1})
    # The delta comes back: acknowledged rows say by whom, and K has nothing left to do.
    w.model.apply(
        "alarm/3",
        alarm(
            3,
            asset_id=2,
            severity="minor",
            state="acknowledged",
            acked_by="ana",
            raised=T0 + 20 * M,
            version=2,
        ),
    )
    w.model.set_state_filter("all")
    assert w.select_alarm(3)
    assert _cell(w, 1, "state").data() == "Acked · ana"
    qtbot.keyClick(w.view, Qt.Key.Key_K)
    assert len(send.calls) == 3


def test_shelve_through_the_dialog_sends_minutes_and_reason(qtbot: QtBot) -> None:
    w, send, _, _ = _widget(qtbot)
    assert w.select_alarm(3)

    def fill() -> None:
        dialog = w.shelve_dialog
        assert isinstance(dialog, ShelveDialog)
        ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
        assert not ok.isEnabled()  # no reason yet
        dialog.duration.setCurrentIndex(dialog.duration.findData(240))
        dialog.reason.setCurrentText("Crew on site")
        assert ok.isEnabled()
        ok.click()

    QTimer.singleShot(0, fill)
    qtbot.keyClick(w.view, Qt.Key.Key_S)
    assert send.calls == [
        ("shelve_alarm", {"alarm_id": 3, "version": 1, "minutes": 240, "reason": "Crew on site"})
    ]
    w.shelve_selected(30, "Sensor fault")
    assert send.calls[-1][1]["minutes"] == 30


def test_new_critical_flashes_sounds_and_mute_silences(qtbot: QtBot) -> None:
    w, _, beeps, clock = _widget(qtbot)
    dock = QDockWidget("Alarms")
    qtbot.addWidget(dock)
    dock.setWidget(w)
    w.attach_dock(dock)
    assert dock.windowTitle() == "Alarms · 3 active · 1 critical unacked"
    messages: list[str] = []
    w.message.connect(messages.append)
    w.model.apply("alarm/9", alarm(9, asset_id=2, severity="critical", raised=clock.now))
    assert beeps.count == 1
    assert messages[-1] == "New critical alarm: Pump B"
    assert dock.windowTitle().startswith("■ NEW CRITICAL ■")
    index = w.tree_model.alarm_index(9)
    assert index.parent().isValid() and w.view.isExpanded(index.parent())
    name = index.siblingAtColumn(COLUMNS.index("asset"))
    # The row flashes; its severity chip keeps its colour.
    assert name.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(FLASH_COLOUR)
    assert index.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(
        ALARM_SEVERITIES["critical"].colour
    )
    w.tick()  # blink off
    name = w.tree_model.alarm_index(9).siblingAtColumn(COLUMNS.index("asset"))
    assert name.data(Qt.ItemDataRole.BackgroundRole) is None
    assert not dock.windowTitle().startswith("■")
    w.tick()  # blink on
    assert dock.windowTitle().startswith("■ NEW CRITICAL ■")
    clock.advance(5)
    w.tick()
    w.tick()
    name = w.tree_model.alarm_index(9).siblingAtColumn(COLUMNS.index("asset"))
    assert name.data(Qt.ItemDataRole.BackgroundRole) is None
    assert not dock.windowTitle().startswith("■")
    # Muted: the flash still comes, the sound does not.
    qtbot.mouseClick(w.mute_button, Qt.MouseButton.LeftButton)
    assert w.sound.muted and w.mute_button.text() == "Sound off"
    w.model.apply("alarm/10", alarm(10, asset_id=1, severity="critical", raised=clock.now))
    assert beeps.count == 1 and w.model.is_flashing(10)
    w.toggle_mute()
    assert not w.mute_button.isChecked()
    w.model.apply("alarm/11", alarm(11, asset_id=1, severity="critical", raised=clock.now))
    assert beeps.count == 2


def test_default_sound_is_safe_offscreen(qtbot: QtBot) -> None:
    m = AlarmListModel(FixedClock())
    m.load({})
    w = AlarmListWidget(m, tick_ms=0)
    qtbot.addWidget(w)
    assert w.sound.beep == QApplication.beep
    m.apply("alarm/1", alarm(1, severity="critical"))
    assert w.sound.plays == 1


def test_activating_an_alarm_selects_its_asset(qtbot: QtBot) -> None:
    w, _, _, _ = _widget(qtbot)
    assert w.select_alarm(3)
    with qtbot.waitSignal(w.asset_selected) as sig:
        qtbot.keyClick(w.view, Qt.Key.Key_Return)
    assert sig.args == [2]
    with qtbot.waitSignal(w.asset_selected) as sig:
        w.view.activated.emit(_cell(w, 0, "asset"))  # an asset's group stands for that asset
    assert sig.args == [1]


def test_selection_and_expansion_survive_new_alarms(qtbot: QtBot) -> None:
    w, _, _, clock = _widget(qtbot)
    w.view.expand(w.tree_model.index(0, 0))
    assert w.select_alarm(1)
    w.model.apply("alarm/12", alarm(12, asset_id=2, severity="major", raised=clock.now))
    assert w.tree_model.rowCount() == 2  # Pump B's two alarms now group
    assert w.selected_alarm_ids() == [1]
    assert w.view.isExpanded(w.tree_model.group_index("asset/1"))
    w.severity_filter.setCurrentIndex(w.severity_filter.findData("critical"))
    assert w.tree_model.rowCount() == 1
    w.state_filter.setCurrentIndex(w.state_filter.findData("shelved"))
    assert w.tree_model.rowCount() == 0
    assert w.summary.text().startswith("4 active · 4 unacknowledged · 0 shelved")
