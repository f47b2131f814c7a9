"""Drive real drag-and-drop handlers: enter, move and drop events carrying real QMimeData."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

ACTIONS = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
NO_BUTTONS = Qt.MouseButton.LeftButton
NO_MODS = Qt.KeyboardModifier.NoModifier


def drag_over(target: QWidget, mime: QMimeData, pos: QPoint | QPointF) -> bool:
    """Enter and move over ``pos``; True when the target would take the drop there."""
    point = QPoint(int(pos.x()), int(pos.y()))
    enter = QDragEnterEvent(point, ACTIONS, mime, NO_BUTTONS, NO_MODS)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    move = QDragMoveEvent(point, ACTIONS, mime, NO_BUTTONS, NO_MODS)
    QApplication.sendEvent(target, move)
    return move.isAccepted()


def drop(target: QWidget, mime: QMimeData, pos: QPoint | QPointF) -> bool:
    """Enter, move and drop at ``pos``; True when the drop was accepted."""
    drag_over(target, mime, pos)
    event = QDropEvent(QPointF(pos), ACTIONS, mime, NO_BUTTONS, NO_MODS)
    QApplication.sendEvent(target, event)
    return event.isAccepted()
