"""Keyboard scaffolding the list docks share: an item view's key presses go to ``handle_key``.

The crew board, the job queue and the alarm list each act on single keys
typed in their item view (K, S, A, 1–9, Esc, U, Ctrl+Z).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget


class KeyedViewWidget(QWidget):
    """A dock widget whose item view sends key presses to :meth:`handle_key` first."""

    _key_view: QObject | None = None

    def watch_keys(self, view: QObject) -> None:
        """Filter ``view``'s key presses through :meth:`handle_key`."""
        self._key_view = view
        view.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: Any) -> bool:
        """Key presses on the watched view go to :meth:`handle_key`; the rest to Qt."""
        if (
            obj is self._key_view
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
        ):
            return self.handle_key(event)
        return super().eventFilter(obj, event)

    def handle_key(self, event: QKeyEvent) -> bool:
        """True when the key was one of this dock's actions and has been handled."""
        return False
