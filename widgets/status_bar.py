"""The console's status line: link health, sequence, clock, user and role, counts."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

# Link states and how they look: text and shape carry the meaning, colour backs it.
LINK_STYLES = {
    "live": ("●", "LIVE", "#009e73"),
    "stale": ("▲", "STALE", "#e69f00"),
    "reconnecting": ("◆", "RECONNECTING", "#d55e00"),
    "connecting": ("○", "CONNECTING", "#8b95a3"),
}


class ConsoleStatusBar(QStatusBar):
    """``● LIVE seq 48211 · 14:02:11 · dispatcher: ana · 3 alarms · 41 open jobs``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link_label = QLabel()
        self.seq_label = QLabel()
        self.clock_label = QLabel()
        self.user_label = QLabel()
        self.counts_label = QLabel()
        for label in (
            self.link_label,
            self.seq_label,
            self.clock_label,
            self.user_label,
            self.counts_label,
        ):
            self.addWidget(label)
        self._link = "connecting"
        self._stale_for = 0.0
        self._seq = 0
        self.set_link("connecting")
        self.set_seq(0)
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)
        self._tick()

    @property
    def link_state(self) -> str:
        """The link state last shown."""
        return self._link

    def set_link(self, state: str, stale_for_s: float = 0.0) -> None:
        """Show the link health: live, stale (for N s), reconnecting or connecting."""
        symbol, text, colour = LINK_STYLES.get(state, LINK_STYLES["connecting"])
        self._link, self._stale_for = state, stale_for_s
        if state == "stale":
            text = f"STALE for {int(stale_for_s)} s"
        self.link_label.setText(f"{symbol} {text}")
        self.link_label.setStyleSheet(f"color: {colour}; font-weight: bold;")

    def set_seq(self, seq: int) -> None:
        """Show the newest sequence number applied."""
        self._seq = seq
        self.seq_label.setText(f"seq {seq}")

    def set_user(self, name: str, role: str) -> None:
        """Show who is signed in, and as what."""
        self.user_label.setText(f"{role}: {name}")

    def set_counts(self, alarms: int, open_jobs: int) -> None:
        """Show the number of active alarms and open jobs."""
        self.counts_label.setText(f"{alarms} alarms · {open_jobs} open jobs")

    def _tick(self) -> None:
        self.clock_label.setText(datetime.now().astimezone().strftime("%H:%M:%S"))
