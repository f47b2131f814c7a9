"""The console's main window: the live map in the middle, dockable panels around it."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFrame,
    QHeaderView,
    QMainWindow,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.shortcuts import SHORTCUTS, by_action, help_rows
from widgets.status_bar import ConsoleStatusBar

SETTINGS_ORG = "cityops"
SETTINGS_APP = "console"
LAYOUT_VERSION = 1  # bump when docks change so an old saved layout is not misapplied

Area = Qt.DockWidgetArea


class ShortcutsDialog(QDialog):
    """Help: every keyboard shortcut, grouped."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = help_rows()
        table = QTableWidget(len(rows), 3, self)
        table.setHorizontalHeaderLabels(["Area", "Keys", "Action"])
        for r, (group, keys, text) in enumerate(rows):
            for c, value in enumerate((group, keys, text)):
                table.setItem(r, c, QTableWidgetItem(value))
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table = table
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        self.resize(640, 480)


class ConsoleMainWindow(QMainWindow):
    """Map as the central widget; panels as docks that can float to a second screen.

    The dock layout is saved on close and restored at start (``QSettings``),
    keyed by ``settings_key`` so tests and several consoles keep their own;
    ``None`` keeps nothing (screenshots show the built-in layout).
    """

    closing = Signal()

    def __init__(self, map_widget: QWidget, settings_key: str | None = "default") -> None:
        super().__init__()
        self.setWindowTitle("CityOps Console")
        self.setObjectName("ConsoleMainWindow")
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.map_widget = map_widget
        self.setCentralWidget(map_widget)
        self.status = ConsoleStatusBar(self)
        self.setStatusBar(self.status)
        self.docks: dict[str, QDockWidget] = {}
        self.actions_by_id: dict[str, QAction] = {}
        self._settings = QSettings(SETTINGS_ORG, SETTINGS_APP)
        self._settings_key = settings_key
        self._default_state: QByteArray | None = None
        self._state_before_fullscreen: QByteArray | None = None
        self._build_menus()

    # -- docks --------------------------------------------------------------------------
    def add_dock(
        self, key: str, title: str, widget: QWidget, area: Area, tab_with: str | None = None
    ) -> QDockWidget:
        """Add a movable, floatable panel; ``key`` names it in the saved layout."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock.{key}")
        # A panel squeezed below its natural size scrolls instead of forcing the
        # window to grow: the map keeps its room on small screens.
        scroller = QScrollArea(dock)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setWidget(widget)
        scroller.setMinimumSize(60, 40)
        dock.setWidget(scroller)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        if tab_with and tab_with in self.docks:
            self.tabifyDockWidget(self.docks[tab_with], dock)
        else:
            self.addDockWidget(area, dock)
        self.docks[key] = dock
        self._panels_menu.addAction(dock.toggleViewAction())
        return dock

    def finish_layout(self) -> None:
        """Remember the built-in layout, then restore the user's saved one if any."""
        self._default_state = self.saveState(LAYOUT_VERSION)
        if self._settings_key is None:
            return
        geometry = self._settings.value(f"{self._settings_key}/geometry")
        state = self._settings.value(f"{self._settings_key}/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        """Store window geometry and dock layout for the next run."""
        if self._settings_key is None:
            return
        state = self._state_before_fullscreen or self.saveState(LAYOUT_VERSION)
        self._settings.setValue(f"{self._settings_key}/geometry", self.saveGeometry())
        self._settings.setValue(f"{self._settings_key}/state", state)
        self._settings.sync()

    def reset_layout(self) -> None:
        """Put every panel back where it started."""
        if self._default_state is not None:
            self.restoreState(self._default_state, LAYOUT_VERSION)
            for dock in self.docks.values():
                dock.show()

    # -- full screen --------------------------------------------------------------------
    def toggle_fullscreen_map(self) -> None:
        """F11: the map alone on the whole screen; again to bring the panels back."""
        if self._state_before_fullscreen is None:
            self._state_before_fullscreen = self.saveState(LAYOUT_VERSION)
            for dock in self.docks.values():
                dock.hide()
            self.statusBar().hide()
            self.menuBar().hide()
            self.showFullScreen()
        else:
            state, self._state_before_fullscreen = self._state_before_fullscreen, None
            self.showNormal()
            self.menuBar().show()
            self.statusBar().show()
            self.restoreState(state, LAYOUT_VERSION)

    @property
    def map_is_fullscreen(self) -> bool:
        """True while F11 full-screen map is on."""
        return self._state_before_fullscreen is not None

    # -- menus and actions --------------------------------------------------------------
    def action(self, action_id: str) -> QAction:
        """The QAction for a shortcut id (creates it with its key from the shortcut table)."""
        if action_id not in self.actions_by_id:
            shortcut = by_action(action_id)
            act = QAction(shortcut.text, self)
            act.setObjectName(action_id)
            if "Arrow" not in shortcut.keys:
                act.setShortcut(QKeySequence(shortcut.keys))
            act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            self.addAction(act)  # works even while the menu bar is hidden (F11)
            self.actions_by_id[action_id] = act
        return self.actions_by_id[action_id]

    def _build_menus(self) -> None:
        bar = self.menuBar()
        view = bar.addMenu("&View")
        fullscreen = self.action("window.fullscreen")
        fullscreen.triggered.connect(self.toggle_fullscreen_map)
        view.addAction(fullscreen)
        reset = self.action("window.reset_layout")
        reset.triggered.connect(self.reset_layout)
        view.addAction(reset)
        self._panels_menu = view.addMenu("Panels")
        quit_action = self.action("window.quit")
        quit_action.triggered.connect(self.close)
        view.addSeparator()
        view.addAction(quit_action)
        help_menu = bar.addMenu("&Help")
        shortcuts = self.action("window.help")
        shortcuts.setText("Keyboard shortcuts")
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(shortcuts)

    def show_shortcuts(self) -> None:
        """Open the Help dialog listing every shortcut."""
        ShortcutsDialog(self).exec()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.closing.emit()
        super().closeEvent(event)


__all__ = ["SHORTCUTS", "ConsoleMainWindow", "ShortcutsDialog"]
