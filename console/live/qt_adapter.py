"""The thin Qt side of the live client: changes and link health on the GUI thread, once per frame.

:class:`LiveClient` calls back on its I/O thread. :class:`LiveBridge` only
collects what changed (under a lock) there and, on the first change of a
frame, pokes the GUI thread through a queued signal; a single-shot timer then
delivers everything collected during that frame as one ``changed`` signal,
so a burst of a thousand deltas is one redraw.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from console.live.client import LinkHealth, LiveClient

#: Default coalescing window: about two frames at 60 Hz.
FRAME_MS = 25


class LiveBridge(QObject):
    """Delivers a :class:`LiveClient`'s changes and link health to Qt code on the GUI thread.

    Signals: ``changed(frozenset[str] topics, int seq)``, ``health_changed(LinkHealth)``.
    """

    changed = Signal(object, int)
    health_changed = Signal(object)
    _poke = Signal()

    def __init__(
        self, client: LiveClient, frame_ms: int = FRAME_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.frame_ms = frame_ms
        self._lock = threading.Lock()
        self._topics: set[str] = set()
        self._seq = 0
        self._health: LinkHealth | None = None
        self._scheduled = False
        self.deliveries = 0
        # Emitted from the I/O thread, run on this object's (the GUI) thread.
        self._poke.connect(self._schedule, Qt.ConnectionType.QueuedConnection)
        client.on_changes = self._collect_changes
        client.on_health = self._collect_health

    def _collect_changes(self, topics: frozenset[str], seq: int) -> None:
        with self._lock:
            self._topics |= topics
            self._seq = seq
            poke = not self._scheduled
            self._scheduled = True
        if poke:
            self._poke.emit()

    def discard_through(self, seq: int) -> bool:
        """Forget collected changes when all of them are in a copy of the replica at ``seq``.

        A console loads its panels from a copy taken after the first snapshot;
        the snapshot's own change (every topic) is already in that copy, and
        delivering it again would redo the whole load as one frame. When a
        later delta was collected too, everything stays (a superset is safe).
        True when something was dropped.
        """
        with self._lock:
            if not self._topics or self._seq > seq:
                return False
            self._topics.clear()
            return True

    def _collect_health(self, health: LinkHealth) -> None:
        with self._lock:
            self._health = health
            poke = not self._scheduled
            self._scheduled = True
        if poke:
            self._poke.emit()

    @Slot()
    def _schedule(self) -> None:
        QTimer.singleShot(self.frame_ms, self._flush)

    @Slot()
    def _flush(self) -> None:
        with self._lock:
            topics, self._topics = self._topics, set()
            health, self._health = self._health, None
            seq = self._seq
            self._scheduled = False
        if health is not None:
            self.health_changed.emit(health)
        if topics:
            self.deliveries += 1
            self.changed.emit(frozenset(topics), seq)
