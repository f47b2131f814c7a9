"""The incident timeline panel: a window's events, filtered by kind; a click shows the entity;
a time slider with play, pause and speed replays the window on the map.

A thin Qt adapter over :class:`console.timeline.model.TimelineModel`. The
window ("last 4 hours", ending now) is fetched with ``get_timeline`` through
a :class:`console.alarms.commands.CommandRunner`, page by page, the way the
asset history panel fetches its history. Clicking (or Enter on) an entry
emits :attr:`IncidentTimelineWidget.entry_activated`; the console selects
and centres the entity on the map.

Replay: the slider, **Play** and the speed picker move a
:class:`console.timeline.replay.ReplayClock` over the window and emit
:attr:`IncidentTimelineWidget.replay_time_changed`; the console draws the
state at that time on the map. **Back to live** ends it
(:attr:`IncidentTimelineWidget.live_requested`).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.alarms.commands import CommandRunner, Outcome
from console.dispatch.common import Clock, utc_now
from console.timeline.model import KINDS, WINDOW_HOURS, TimelineEntry, TimelineModel, window_ending
from console.timeline.replay import SPEEDS, ReplayClock
from layers.palette import alarm_severity_style

#: A glyph per kind, so the list reads without colour.
KIND_GLYPHS = {"job": "⚒", "alarm": "⚠", "issue": "☎", "crew": "➤"}
#: Role carrying a row's index into the model's visible entries.
ENTRY_ROLE = int(Qt.ItemDataRole.UserRole) + 41
#: Slider steps across the window, and the replay's frame interval (ms).
SLIDER_STEPS = 1000
FRAME_MS = 100
DEFAULT_SPEED = 60.0


def local_clock_text(ts: datetime) -> str:
    """A time as the operator's local ``HH:MM:SS`` (dated when not today)."""
    local = ts.astimezone()
    today = datetime.now().astimezone().date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%m-%d %H:%M:%S")


class IncidentTimelineWidget(QWidget):
    """Window picker, kind filters, the entries list; replay controls sit below it."""

    #: An entry was clicked or activated (the :class:`TimelineEntry`).
    entry_activated = Signal(object)
    #: A new window's entries are all in (since, until).
    window_loaded = Signal(object, object)
    #: The replay's play head moved (a datetime): show the map as it was then.
    replay_time_changed = Signal(object)
    #: Back to live: the replay ended.
    live_requested = Signal()

    def __init__(
        self,
        runner: CommandRunner | None = None,
        model: TimelineModel | None = None,
        clock: Clock = utc_now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.model = model or TimelineModel()
        self.clock = clock
        self._loading = 0  # generation of the window being fetched (a later fetch wins)
        self._shown: list[TimelineEntry] = []

        self.window_picker = QComboBox(self)
        for hours in WINDOW_HOURS:
            self.window_picker.addItem(f"Last {hours} h", hours)
        self.window_picker.setCurrentIndex(WINDOW_HOURS.index(4))
        self.window_picker.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Fetch the window again, ending now")
        self.refresh_button.clicked.connect(self.refresh)
        self.filters: dict[str, QCheckBox] = {}
        bar = QHBoxLayout()
        bar.addWidget(self.window_picker)
        bar.addWidget(self.refresh_button)
        for label, kind in KINDS.items():
            box = QCheckBox(f"{KIND_GLYPHS[kind]} {label.capitalize()}", self)
            box.setChecked(kind in self.model.shown_kinds)
            box.toggled.connect(lambda on, k=kind: self.model.set_kind_shown(k, on))
            self.filters[kind] = box
            bar.addWidget(box)
        bar.addStretch(1)
        self.status = QLabel("", self)
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        bar.addWidget(self.status)

        self.list = QTreeWidget(self)
        self.list.setHeaderLabels(["When", "What", "Details", "By"])
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.setUniformRowHeights(True)
        self.list.itemClicked.connect(self._on_item)
        self.list.itemActivated.connect(self._on_item)

        #: The replay's play head (None: live).
        self.replay: ReplayClock | None = None
        self._last_tick = 0.0
        self.play_button = QPushButton("▶ Replay", self)
        self.play_button.setToolTip("Replay the window on the map (Ctrl+Shift+P)")
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Drag to see the map at that time")
        self.slider.valueChanged.connect(self._on_slider)
        self.speed_picker = QComboBox(self)
        for speed in SPEEDS:
            self.speed_picker.addItem(f"{speed:g}×", speed)
        self.speed_picker.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed_picker.setToolTip("Replay speed: window time per second")
        self.speed_picker.currentIndexChanged.connect(self._on_speed)
        self.time_label = QLabel("LIVE", self)
        self.live_button = QPushButton("Back to live", self)
        self.live_button.setToolTip("End the replay (Ctrl+Shift+L)")
        self.live_button.clicked.connect(self.back_to_live)
        self.live_button.setEnabled(False)
        replay_bar = QHBoxLayout()
        replay_bar.addWidget(self.play_button)
        replay_bar.addWidget(self.slider, 1)
        replay_bar.addWidget(self.speed_picker)
        replay_bar.addWidget(self.time_label)
        replay_bar.addWidget(self.live_button)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)

        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(4, 4, 4, 4)
        self.body.addLayout(bar)
        self.body.addWidget(self.list, 1)
        self.body.addLayout(replay_bar)

        self.model.changed.connect(self._on_model_changed)
        if runner is not None:
            runner.outcome.connect(self._on_outcome)

    # -- fetching ---------------------------------------------------------------------------

    def window_hours(self) -> float:
        """The picked window length."""
        return float(self.window_picker.currentData())

    def refresh(self) -> None:
        """Fetch the picked window, ending now."""
        since, until = window_ending(self.clock(), self.window_hours())
        self.load_window(since, until)

    def load_window(self, since: datetime, until: datetime) -> None:
        """Fetch the events of ``[since, until]`` (every page); the list fills as they come.

        A replay running on the old window ends first (back to live).
        """
        if self.replay is not None:
            self.back_to_live()
        self._loading += 1
        generation = self._loading
        args = self.model.start(since, until)
        self.status.setText("Loading…")
        self._fetch(args, generation)

    def _fetch(self, args: dict[str, Any], generation: int) -> None:
        if self.runner is None:
            return

        def got(result: Any) -> None:
            if generation != self._loading:
                return  # a newer window was asked for
            following = self.model.add_page(result)
            if following is not None:
                self._fetch(following, generation)
            else:
                self.window_loaded.emit(self.model.since, self.model.until)

        self.runner.run("timeline", generation, "get_timeline", args, "", got)

    def _on_outcome(self, outcome: Outcome) -> None:
        if outcome.intent == "timeline" and not outcome.ok and outcome.target == self._loading:
            self.status.setText(f"Timeline not loaded: {outcome.message}")

    # -- drawing ----------------------------------------------------------------------------

    def _on_model_changed(self, what: str) -> None:
        if what in ("entries", "filter", "window"):
            self._fill()

    def _fill(self) -> None:
        self._shown = self.model.visible()
        self.list.clear()
        items = []
        for i, e in enumerate(self._shown):
            item = QTreeWidgetItem(
                [
                    local_clock_text(e.ts),
                    f"{KIND_GLYPHS[e.kind]} {e.title}",
                    e.detail,
                    e.actor or "",
                ]
            )
            item.setData(0, ENTRY_ROLE, i)
            item.setToolTip(1, f"{e.type} · {e.topic} · seq {e.seq}")
            severity = e.entity.get("severity") if e.kind == "alarm" else None
            if isinstance(severity, str):
                item.setForeground(1, QColor(alarm_severity_style(severity).colour))
            items.append(item)
        self.list.addTopLevelItems(items)
        for col in (0, 1, 3):
            self.list.resizeColumnToContents(col)
        counts = self.model.counts()
        for kind, box in self.filters.items():
            label = next(k for k, v in KINDS.items() if v == kind)
            box.setText(f"{KIND_GLYPHS[kind]} {label.capitalize()} ({counts[kind]})")
        more = " (more not shown)" if self.model.truncated else ""
        self.status.setText(f"{len(self._shown)} of {len(self.model.entries)} events{more}")

    def shown_entries(self) -> list[TimelineEntry]:
        """The listed entries, top to bottom."""
        return list(self._shown)

    def row_texts(self) -> list[str]:
        """The "What" text of each listed row (tests)."""
        out = []
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            assert item is not None
            out.append(item.text(1))
        return out

    def select_entry(self, entry: TimelineEntry | None) -> None:
        """Highlight an entry's row (the replay's current event) without activating it."""
        if entry is None or entry not in self._shown:
            self.list.clearSelection()
            return
        item = self.list.topLevelItem(self._shown.index(entry))
        if item is not None:
            self.list.setCurrentItem(item)
            self.list.scrollToItem(item)

    def _on_item(self, item: QTreeWidgetItem, _column: int) -> None:
        index = item.data(0, ENTRY_ROLE)
        if isinstance(index, int) and 0 <= index < len(self._shown):
            self.entry_activated.emit(self._shown[index])

    # -- replay ---------------------------------------------------------------------------------

    @property
    def replaying(self) -> bool:
        """True while the map shows the replay rather than live state."""
        return self.replay is not None

    def _ensure_replay(self) -> ReplayClock | None:
        if self.replay is None:
            since, until = self.model.since, self.model.until
            if since is None or until is None:
                return None
            self.replay = ReplayClock(since, until, float(self.speed_picker.currentData()))
            self.live_button.setEnabled(True)
        return self.replay

    def toggle_play(self) -> None:
        """Play or pause the replay (starting it from the window's start)."""
        clock = self._ensure_replay()
        if clock is None:
            return
        if clock.playing:
            clock.pause()
            self.timer.stop()
        else:
            clock.play()
            self._last_tick = time.monotonic()
            self.timer.start()
        self._show_time()

    def seek(self, at: datetime) -> None:
        """Show the map at ``at`` (entering the replay if live)."""
        clock = self._ensure_replay()
        if clock is not None:
            clock.seek(at)
            self._show_time()

    def step(self, wall_seconds: float) -> None:
        """Advance a playing replay by this much wall time (the timer's tick, tests)."""
        if self.replay is not None:
            self.replay.advance(wall_seconds)
            if not self.replay.playing:
                self.timer.stop()
            self._show_time()

    def _tick(self) -> None:
        now = time.monotonic()
        wall, self._last_tick = now - self._last_tick, now
        self.step(wall)

    def _on_slider(self, value: int) -> None:
        clock = self._ensure_replay()
        if clock is not None:
            clock.seek_fraction(value / SLIDER_STEPS)
            self._show_time(move_slider=False)

    def _on_speed(self, _index: int) -> None:
        if self.replay is not None:
            self.replay.speed = float(self.speed_picker.currentData())

    def _show_time(self, move_slider: bool = True) -> None:
        clock = self.replay
        if clock is None:
            return
        if move_slider:
            self.slider.blockSignals(True)
            self.slider.setValue(round(clock.fraction * SLIDER_STEPS))
            self.slider.blockSignals(False)
        self.play_button.setText("⏸ Pause" if clock.playing else "▶ Play")
        self.time_label.setText(f"REPLAY {local_clock_text(clock.at)}")
        self.select_entry(self.model.nearest(clock.at))
        self.replay_time_changed.emit(clock.at)

    def back_to_live(self) -> None:
        """End the replay: the map shows live state again."""
        if self.replay is None:
            return
        self.timer.stop()
        self.replay = None
        self.live_button.setEnabled(False)
        self.play_button.setText("▶ Replay")
        self.time_label.setText("LIVE")
        self.slider.blockSignals(True)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.live_requested.emit()
