"""The alarm dock: active alarms by severity and age, grouped, with acknowledge and shelve.

A thin Qt adapter over :class:`console.alarms.model.AlarmListModel`: grouping,
sorting, filtering and time live in the model; this module turns them into a
tree (a group row per ``group_key`` with two or more alarms), severity chips
(colour backed by a shape and a word), a blinking flash and a sound for new
critical alarms (with a Mute toggle), and acknowledge/shelve intents sent
through :class:`console.alarms.commands.AlarmController`. The tree's item
model is :class:`widgets.alarm_tree.AlarmTreeModel`.

Keys with the list focused: **K** acknowledge, **S** shelve…, **Enter** show
the asset (``asset_selected``), **Left/Right** collapse/expand a group.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from console.alarms.commands import AlarmController, Outcome
from console.alarms.model import (
    SEVERITY_ORDER,
    STATE_FILTERS,
    AlarmCounts,
    AlarmGroupRow,
    AlarmListModel,
)
from layers.palette import alarm_severity_style
from widgets.alarm_tree import (
    ALARM_ID_ROLE,
    ASSET_ID_ROLE,
    COLUMNS,
    FLASH_COLOUR,
    GROUP_KEY_ROLE,
    AlarmTreeModel,
)
from widgets.column_fit import ColumnFitter
from widgets.form_dialog import RequiredTextDialog
from widgets.view_keys import KeyedViewWidget

__all__ = [
    "ALARM_ID_ROLE",
    "ASSET_ID_ROLE",
    "COLUMNS",
    "FLASH_COLOUR",
    "GROUP_KEY_ROLE",
    "AlarmListWidget",
    "AlarmSound",
    "AlarmTreeModel",
    "ShelveDialog",
]


#: Shelve durations offered, in minutes.
SHELVE_CHOICES = (15, 30, 60, 120, 240, 480, 1440)
SHELVE_REASONS = (
    "Maintenance in progress",
    "Known fault, job raised",
    "Sensor fault suspected",
    "Nuisance alarm: under review",
)


def _duration_text(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


class ShelveDialog(RequiredTextDialog):
    """Asks how long to shelve and why (a reason is required: the next shift reads it)."""

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shelve alarm" if count == 1 else f"Shelve {count} alarms")
        self.duration = QComboBox(self)
        for minutes in SHELVE_CHOICES:
            self.duration.addItem(_duration_text(minutes), minutes)
        self.duration.setCurrentIndex(SHELVE_CHOICES.index(60))
        self.reason = QComboBox(self)
        self.reason.setEditable(True)
        self.reason.addItems(SHELVE_REASONS)
        self.reason.setCurrentText("")
        line = self.reason.lineEdit()
        assert line is not None
        line.setPlaceholderText("Why? (required)")
        form = QFormLayout()
        form.addRow("Shelve for", self.duration)
        form.addRow("Reason", self.reason)
        self.finish_form(form, self.reason.currentTextChanged, self.reason.currentText)

    def values(self) -> tuple[int, str]:
        """(minutes, reason) as chosen."""
        return int(self.duration.currentData()), self.reason.currentText().strip()


class AlarmSound(QObject):
    """The new-critical sound: ``QApplication.beep`` unless told otherwise; mutable.

    ``beep`` is injectable so a console can play a sound file (``QSoundEffect``
    where QtMultimedia works) and tests can count; ``plays`` counts the sounds made.
    """

    muted_changed = Signal(bool)

    def __init__(
        self, beep: Callable[[], None] | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.beep = beep or QApplication.beep
        self.muted = False
        self.plays = 0

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute."""
        if muted != self.muted:
            self.muted = muted
            self.muted_changed.emit(muted)

    def play(self) -> bool:
        """Sound once unless muted; True when a sound was made."""
        if self.muted:
            return False
        self.beep()
        self.plays += 1
        return True


class AlarmListWidget(KeyedViewWidget):
    """The alarm dock's panel: filters, acknowledge/shelve buttons, mute, and the alarm tree."""

    #: An alarm (or an asset's group) was activated: show this asset on the map.
    asset_selected = Signal(int)
    #: An outcome or hint for the status bar.
    message = Signal(str)
    #: :class:`AlarmCounts` whenever they change (for the status bar).
    counts_changed = Signal(object)

    def __init__(
        self,
        model: AlarmListModel,
        controller: AlarmController | None = None,
        parent: QWidget | None = None,
        tick_ms: int = 500,
        beep: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.controller = controller
        self.tree_model = AlarmTreeModel(model, self)
        self.sound = AlarmSound(beep, self)
        self.dock: QDockWidget | None = None
        self.dock_title = "Alarms"

        self.state_filter = QComboBox(self)
        for preset in STATE_FILTERS:
            self.state_filter.addItem(preset.title(), preset)
        self.state_filter.currentIndexChanged.connect(
            lambda _i: model.set_state_filter(str(self.state_filter.currentData()))
        )
        self.severity_filter = QComboBox(self)
        for severity in SEVERITY_ORDER:
            style = alarm_severity_style(severity)
            text = "All severities" if severity == "info" else f"{style.glyph} {style.label}+"
            self.severity_filter.addItem(text, severity)
        self.severity_filter.currentIndexChanged.connect(
            lambda _i: model.set_min_severity(str(self.severity_filter.currentData()))
        )
        self.ack_button = QPushButton("Acknowledge (K)", self)
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.shelve_button = QPushButton("Shelve… (S)", self)
        self.shelve_button.clicked.connect(lambda: self.shelve_selected())
        self.mute_button = QPushButton(self)
        self.mute_button.setCheckable(True)
        self.mute_button.toggled.connect(self.sound.set_muted)
        self.sound.muted_changed.connect(self._show_mute)
        self._show_mute(False)

        view = QTreeView(self)
        view.setModel(self.tree_model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setAlternatingRowColors(True)
        view.setUniformRowHeights(True)
        view.setAllColumnsShowFocus(True)
        view.setWordWrap(False)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        header = view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COLUMNS.index("message"), QHeaderView.ResizeMode.Stretch)
        # Fitted once per turn: an alarm storm announces its rows one by one.
        self.fitter = ColumnFitter(view, [i for i, c in enumerate(COLUMNS) if c != "message"])
        view.activated.connect(self._on_activated)
        view.expanded.connect(lambda i: self._remember_expansion(i, True))
        view.collapsed.connect(lambda i: self._remember_expansion(i, False))
        self.watch_keys(view)
        self.view = view
        self.tree_model.modelAboutToBeReset.connect(self._remember_selection)
        self.tree_model.modelReset.connect(self._restore_view)
        self._kept: list[int | str] = []

        top = QHBoxLayout()
        top.addWidget(self.state_filter)
        top.addWidget(self.severity_filter)
        top.addStretch(1)
        top.addWidget(self.ack_button)
        top.addWidget(self.shelve_button)
        top.addWidget(self.mute_button)
        self.summary = QLabel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(view)
        layout.addWidget(self.summary)

        model.new_critical.connect(self._on_new_critical)
        model.counts_changed.connect(self._on_counts)
        if controller is not None:
            controller.runner.outcome.connect(self._on_outcome)
        self._on_counts(model.counts())

        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        if tick_ms > 0:
            self.timer.start()

    # -- dock, counts, flash, sound -------------------------------------------------------

    def attach_dock(self, dock: QDockWidget, title: str = "Alarms") -> None:
        """Let this panel keep ``dock``'s title current (counts) and flash it for new criticals."""
        self.dock = dock
        self.dock_title = title
        self._update_title()

    def title_text(self) -> str:
        """The dock title now: counts, and a warning while a new critical alarm flashes."""
        c = self.model.counts()
        text = f"{self.dock_title} · {c.active} active"
        if c.critical_unacknowledged:
            text += f" · {c.critical_unacknowledged} critical unacked"
        if self.model.flashing_ids() and self.tree_model.blink_on:
            text = "■ NEW CRITICAL ■  " + text
        return text

    def _update_title(self) -> None:
        self.setWindowTitle(self.title_text())
        if self.dock is not None:
            self.dock.setWindowTitle(self.title_text())

    def _on_counts(self, counts: AlarmCounts) -> None:
        bits = [f"{counts.active} active", f"{counts.unacknowledged} unacknowledged"]
        bits.append(f"{counts.shelved} shelved")
        worst = [
            f"{alarm_severity_style(s).glyph} {counts.by_severity[s]} {s}"
            for s in reversed(SEVERITY_ORDER)
            if counts.by_severity.get(s)
        ]
        self.summary.setText(" · ".join(bits) + ("   " + "  ".join(worst) if worst else ""))
        self._update_title()
        self.counts_changed.emit(counts)

    def _on_new_critical(self, alarm_ids: list[int]) -> None:
        self.sound.play()
        self.tree_model.blink_on = True
        for alarm_id in alarm_ids:
            index = self.tree_model.alarm_index(alarm_id)
            if index.isValid():
                if index.parent().isValid():
                    self.view.expand(index.parent())
                self.view.scrollTo(index)
        self._update_title()
        names = ", ".join(self.model.row(i).asset_name or f"alarm {i}" for i in alarm_ids)
        self.message.emit(f"New critical alarm: {names}")

    def _show_mute(self, muted: bool) -> None:
        self.mute_button.setText("Sound off" if muted else "Sound on")
        self.mute_button.setToolTip("Unmute new-critical sound" if muted else "Mute the sound")
        if self.mute_button.isChecked() != muted:
            self.mute_button.setChecked(muted)

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the new-critical sound (the flash still shows)."""
        self.sound.set_muted(muted)

    def toggle_mute(self) -> None:
        """Flip the mute (for a window-wide shortcut)."""
        self.sound.set_muted(not self.sound.muted)

    def tick(self) -> None:
        """Advance ages, shelve countdowns and the flash (the timer calls this)."""
        flashing = self.model.flashing_ids()
        self.model.tick()
        self.tree_model.blink_on = not self.tree_model.blink_on if flashing else True
        self.tree_model.refresh()
        self._update_title()

    # -- selection and intents -----------------------------------------------------------

    def selected_alarm_ids(self) -> list[int]:
        """The selected alarms in list order (a selected group stands for all its alarms)."""
        ids: list[int] = []
        for index in self.view.selectionModel().selectedRows(0):
            entry = self.tree_model.entry_at(index)
            members = entry.alarm_ids if isinstance(entry, AlarmGroupRow) else (entry,)
            ids.extend(i for i in members if i is not None and i not in ids)
        order = {a: n for n, a in enumerate(self.model.visible_ids())}
        return sorted(ids, key=lambda a: order.get(a, len(order)))

    def select_alarm(self, alarm_id: int) -> bool:
        """Select one alarm (expanding its group); False when it is not shown."""
        index = self.tree_model.alarm_index(alarm_id)
        if not index.isValid():
            return False
        if index.parent().isValid():
            self.view.expand(index.parent())
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        return True

    def select_group(self, key: str) -> bool:
        """Select a group row; False when it is not a visible group."""
        index = self.tree_model.group_index(key)
        if not index.isValid():
            return False
        self.view.setCurrentIndex(index)
        return True

    def acknowledge_selected(self) -> list[Outcome | None]:
        """Acknowledge the selected alarms (each with the version this console holds)."""
        ids = [
            i for i in self.selected_alarm_ids() if self.model.row(i).state in ("raised", "shelved")
        ]
        if self.controller is None or not ids:
            self.message.emit("Nothing to acknowledge in the selection")
            return []
        return self.controller.acknowledge(ids)

    def shelve_selected(
        self, minutes: int | None = None, reason: str | None = None
    ) -> list[Outcome | None]:
        """Shelve the selected alarms; asks duration and reason when not given."""
        ids = [i for i in self.selected_alarm_ids() if self.model.row(i).state != "cleared"]
        if self.controller is None or not ids:
            self.message.emit("Nothing to shelve in the selection")
            return []
        if minutes is None or reason is None:
            dialog = ShelveDialog(len(ids), self)
            self.shelve_dialog = dialog  # reachable while open (tests, automation)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return []
            minutes, reason = dialog.values()
        return self.controller.shelve(ids, minutes, reason)

    def _on_outcome(self, outcome: Outcome) -> None:
        self.message.emit(outcome.message)

    def _on_activated(self, index: QModelIndex) -> None:
        asset_id = index.data(ASSET_ID_ROLE)
        if asset_id is not None:
            self.asset_selected.emit(int(asset_id))
        elif index.model() is not None and self.tree_model.rowCount(index.siblingAtColumn(0)):
            first = index.siblingAtColumn(0)
            self.view.setExpanded(first, not self.view.isExpanded(first))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        menu = self.context_menu(index)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def context_menu(self, index: QModelIndex) -> QMenu:
        """The right-click menu of a row: acknowledge, shelve, show asset."""
        menu = QMenu(self)
        menu.addAction("Acknowledge\tK", self.acknowledge_selected)
        menu.addAction("Shelve…\tS", lambda: self.shelve_selected())
        asset_id = index.data(ASSET_ID_ROLE)
        if asset_id is not None:
            menu.addAction("Show asset\tEnter", lambda: self.asset_selected.emit(int(asset_id)))
        return menu

    def handle_key(self, event: QKeyEvent) -> bool:
        """Alarm keys on the list (K, S); True when handled."""
        mods = event.modifiers()
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        key = Qt.Key(event.key())
        if key == Qt.Key.Key_K:
            self.acknowledge_selected()
            return True
        if key == Qt.Key.Key_S:
            self.shelve_selected()
            return True
        return False

    # -- keeping selection and expansion across resets -------------------------------------

    def _remember_expansion(self, index: QModelIndex, expanded: bool) -> None:
        key = index.data(GROUP_KEY_ROLE)
        if key is None or index.internalId() != 0:
            return
        if expanded:
            self.model.expanded.add(str(key))
        else:
            self.model.expanded.discard(str(key))

    def _remember_selection(self) -> None:
        kept: list[int | str] = []
        for index in self.view.selectionModel().selectedRows(0):
            alarm_id = index.data(ALARM_ID_ROLE)
            kept.append(int(alarm_id) if alarm_id is not None else str(index.data(GROUP_KEY_ROLE)))
        self._kept = kept

    def _restore_view(self) -> None:
        for key in list(self.model.expanded):
            index = self.tree_model.group_index(key)
            if index.isValid():
                self.view.blockSignals(True)  # re-expanding is not the operator's new choice
                self.view.expand(index)
                self.view.blockSignals(False)
        selection = self.view.selectionModel()
        for item in self._kept:
            index = (
                self.tree_model.alarm_index(item)
                if isinstance(item, int)
                else self.tree_model.group_index(item)
            )
            if index.isValid():
                flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
                selection.select(index, flags)
                if self.view.currentIndex() != index and item == self._kept[0]:
                    selection.setCurrentIndex(index, selection.SelectionFlag.NoUpdate)
