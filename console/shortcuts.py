"""Every keyboard shortcut in one table: the actions are built from it, Help lists it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shortcut:
    """One key binding and what it does."""

    action: str  # stable id, used by the window to find the QAction
    keys: str  # Qt key sequence text
    text: str  # what it does, as Help shows it
    group: str  # Map, Window, Dispatch, Alarms...


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("map.home", "Home", "Zoom to the whole city", "Map"),
    Shortcut("map.zoom_in", "+", "Zoom in", "Map"),
    Shortcut("map.zoom_out", "-", "Zoom out", "Map"),
    Shortcut("map.pan", "Arrow keys", "Pan the map", "Map"),
    Shortcut("map.zoom_selection", "Z", "Zoom to the selection", "Map"),
    Shortcut("map.clear_selection", "Esc", "Clear the selection", "Map"),
    Shortcut("window.fullscreen", "F11", "Full-screen map (again to leave)", "Window"),
    Shortcut("window.reset_layout", "Ctrl+Shift+R", "Reset the panel layout", "Window"),
    Shortcut("window.help", "F1", "Show these shortcuts", "Window"),
    Shortcut("window.quit", "Ctrl+Q", "Quit the console", "Window"),
    Shortcut("dispatch.assign", "A", "Assign the selected job, then its crew's number", "Dispatch"),
    Shortcut("dispatch.pick_crew", "1-9", "Pick the crew numbered so on the board", "Dispatch"),
    Shortcut("dispatch.cancel", "Esc", "Stop picking a crew", "Dispatch"),
    Shortcut("dispatch.unassign", "U", "Take the selected job back from its crew", "Dispatch"),
    Shortcut("dispatch.undo", "Ctrl+Z", "Undo the last assignment", "Dispatch"),
    Shortcut("dispatch.search", "Ctrl+F", "Search the job queue", "Dispatch"),
    Shortcut("dispatch.drag", "Drag", "Drop a job on a crew row or marker: assign", "Dispatch"),
    # Alarms and History: "(alarm list)" / "(history panel)" keys work while that panel has
    # focus and are bound by the widget itself; the others are window-wide.
    Shortcut("alarms.ack", "K", "Acknowledge the selected alarms (alarm list)", "Alarms"),
    Shortcut("alarms.shelve", "S", "Shelve the selected alarms… (alarm list)", "Alarms"),
    Shortcut("alarms.show_asset", "Enter", "Show the alarm's asset (alarm list)", "Alarms"),
    Shortcut("alarms.focus", "Ctrl+Shift+A", "Go to the alarm list", "Alarms"),
    Shortcut("alarms.mute", "Ctrl+M", "Mute or unmute the new-critical alarm sound", "Alarms"),
    Shortcut("history.search", "Ctrl+Shift+F", "Find an asset by name or id", "History"),
    Shortcut(
        "history.create_job", "Ctrl+J", "Create a job for the asset (history panel)", "History"
    ),
    Shortcut("history.fit", "F", "Fit the chart to all readings (history panel)", "History"),
    Shortcut("history.next_metric", "M", "Chart the next metric (history panel)", "History"),
    Shortcut("timeline.toggle", "Ctrl+T", "Show or hide the incident timeline", "Timeline"),
    Shortcut("timeline.play", "Ctrl+Shift+P", "Play or pause the replay on the map", "Timeline"),
    Shortcut("timeline.live", "Ctrl+Shift+L", "End the replay: back to live", "Timeline"),
)


def by_action(action: str) -> Shortcut:
    """The shortcut with this action id."""
    for shortcut in SHORTCUTS:
        if shortcut.action == action:
            return shortcut
    raise KeyError(action)


def help_rows() -> list[tuple[str, str, str]]:
    """(group, keys, text) rows for the Help dialog and the README."""
    return [(s.group, s.keys, s.text) for s in SHORTCUTS]
