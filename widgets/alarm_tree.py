"""The alarm list's Qt item model: groups (expandable) and lone alarms, with severity chips.

Read by :class:`widgets.alarm_list.AlarmListWidget`; all ordering, grouping,
filtering and time live in :class:`console.alarms.model.AlarmListModel`.
Severity cells are chips in the severity colour with dark ink, a glyph and a
word (never colour alone); unacknowledged rows read bold; new critical rows
blink in :data:`FLASH_COLOUR`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from console import theme
from console.alarms.model import AlarmGroupRow, AlarmListModel, TopEntry
from console.dispatch.common import ModelChange, format_duration
from layers.palette import alarm_severity_style

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("severity", "asset", "message", "age", "state")
HEADERS = ("Severity", "Asset", "Message", "Age", "State")
#: Role carrying an alarm row's id (None on group rows).
ALARM_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 21
#: Role carrying a row's group key (alarm rows: their group's).
GROUP_KEY_ROLE = int(Qt.ItemDataRole.UserRole) + 22
#: Role carrying the asset to show for a row (None for an area group).
ASSET_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 23
#: The new-critical flash: bright, and unlike the selection colour (accent blue).
FLASH_COLOUR = theme.TEXT
STATE_TEXT = {
    "raised": "UNACKED",
    "acknowledged": "Acked",
    "shelved": "Shelved",
    "cleared": "Cleared",
}


class AlarmTreeModel(QAbstractItemModel):
    """Groups (top level, expandable) and lone alarms of an :class:`AlarmListModel`.

    Internal ids: 0 for a top-level row, ``alarm id + 1`` for an alarm inside a group.
    """

    def __init__(self, alarms: AlarmListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.alarms = alarms
        self.blink_on = True
        self._set_top(alarms.top_level())
        alarms.changed.connect(self._on_change)

    def _set_top(self, top: list[TopEntry]) -> None:
        self._top = top
        self._parent_row: dict[int, int] = {}
        self._top_row_of_alarm: dict[int, int] = {}
        self._row_of_group: dict[str, int] = {}
        for row, entry in enumerate(top):
            if isinstance(entry, AlarmGroupRow):
                self._row_of_group[entry.key] = row
                for alarm_id in entry.alarm_ids:
                    self._parent_row[alarm_id] = row
            else:
                self._top_row_of_alarm[entry] = row

    # -- structure ----------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        entry = self._top[parent.row()]
        assert isinstance(entry, AlarmGroupRow)
        return self.createIndex(row, column, entry.alarm_ids[row] + 1)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not child.isValid() or child.internalId() == 0:
            return QModelIndex()
        row = self._parent_row.get(int(child.internalId()) - 1)
        return QModelIndex() if row is None else self.createIndex(row, 0, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._top)
        if parent.internalId() != 0 or parent.column() != 0:
            return 0
        entry = self._top[parent.row()]
        return len(entry.alarm_ids) if isinstance(entry, AlarmGroupRow) else 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def entry_at(self, index: Index) -> TopEntry | None:
        """A row's group (top-level group rows) or alarm id (alarm rows, lone or grouped)."""
        if not index.isValid():
            return None
        if index.internalId() != 0:
            return int(index.internalId()) - 1
        return self._top[index.row()] if index.row() < len(self._top) else None

    def alarm_index(self, alarm_id: int) -> QModelIndex:
        """The row showing an alarm (invalid when filtered out)."""
        if alarm_id in self._top_row_of_alarm:
            return self.index(self._top_row_of_alarm[alarm_id], 0)
        row = self._parent_row.get(alarm_id)
        if row is None:
            return QModelIndex()
        entry = self._top[row]
        assert isinstance(entry, AlarmGroupRow)
        return self.index(entry.alarm_ids.index(alarm_id), 0, self.index(row, 0))

    def group_index(self, key: str) -> QModelIndex:
        """The row of a group (invalid when the key is not a visible group)."""
        row = self._row_of_group.get(key)
        return QModelIndex() if row is None else self.index(row, 0)

    def _on_change(self, change: ModelChange) -> None:
        top = self.alarms.top_level()
        if change.structure or top != self._top:
            self.beginResetModel()
            self._set_top(top)
            self.endResetModel()
            return
        self.refresh(change.ids)

    def refresh(self, alarm_ids: frozenset[int] | set[int] | list[int] | None = None) -> None:
        """Repaint some alarms' rows (and their group rows); all rows when None."""
        last = len(COLUMNS) - 1
        if alarm_ids is None:
            for row, entry in enumerate(self._top):
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
                if isinstance(entry, AlarmGroupRow):
                    parent = self.index(row, 0)
                    n = len(entry.alarm_ids)
                    self.dataChanged.emit(self.index(0, 0, parent), self.index(n - 1, last, parent))
            return
        for alarm_id in alarm_ids:
            index = self.alarm_index(alarm_id)
            if index.isValid():
                self.dataChanged.emit(index, index.siblingAtColumn(last))
                group = index.parent()
                if group.isValid():
                    self.dataChanged.emit(group, group.siblingAtColumn(last))

    # -- cells --------------------------------------------------------------------------

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.entry_at(index)
        if entry is None:
            return None
        column = COLUMNS[index.column()]
        if isinstance(entry, AlarmGroupRow):
            return self._group_data(entry, column, role)
        if self.alarms.find(entry) is None:
            return None
        return self._alarm_data(entry, column, role)

    def _severity_cell(self, severity: str, role: int) -> Any:
        style = alarm_severity_style(severity)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{style.glyph} {style.label.upper()}"
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(style.colour))
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("#000000"))  # dark ink reads on every severity colour
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _group_data(self, g: AlarmGroupRow, column: str, role: int) -> Any:
        if role == GROUP_KEY_ROLE:
            return g.key
        if role == ASSET_ID_ROLE:
            return None if g.is_area or not g.asset_ids else min(g.asset_ids)
        if role == ALARM_ID_ROLE:
            return None
        if column == "severity":
            return self._severity_cell(g.severity, role)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "asset":
                return self.alarms.group_title(g)
            if column == "message":
                return f"{len(g.alarm_ids)} alarms, {g.unacked} unacknowledged"
            if column == "age":
                if g.newest is None:
                    return "—"
                return format_duration(max((self.alarms.clock() - g.newest).total_seconds(), 0))
            if column == "state":
                return f"{g.unacked} UNACKED" if g.unacked else "Acked"
        if role == Qt.ItemDataRole.FontRole and (g.unacked or column == "asset"):
            font = QFont()
            font.setBold(True)
            return font
        flashing = self.blink_on and any(self.alarms.is_flashing(i) for i in g.alarm_ids)
        if role == Qt.ItemDataRole.BackgroundRole and flashing:
            return QBrush(QColor(FLASH_COLOUR))
        if role == Qt.ItemDataRole.ForegroundRole and flashing:
            return QBrush(QColor("#000000"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{g.key}: {len(g.asset_ids)} asset(s). Expand to see each alarm."
        return None

    def _alarm_data(self, alarm_id: int, column: str, role: int) -> Any:
        r = self.alarms.row(alarm_id)
        if role == ALARM_ID_ROLE:
            return alarm_id
        if role == GROUP_KEY_ROLE:
            return r.group_key
        if role == ASSET_ID_ROLE:
            return r.asset_id
        if column == "severity":
            return self._severity_cell(r.severity, role)
        flashing = self.blink_on and self.alarms.is_flashing(alarm_id)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "asset":
                return r.asset_name or "—"
            if column == "message":
                return r.message
            if column == "age":
                age = self.alarms.age_s(alarm_id)
                return "—" if age is None else format_duration(max(age, 0.0))
            if column == "state":
                if r.state == "shelved":
                    left = self.alarms.shelved_left_s(alarm_id)
                    return "Shelved" + ("" if left is None else f" {format_duration(max(left, 0))}")
                if r.state == "acknowledged" and r.acked_by:
                    return f"Acked · {r.acked_by}"
                return STATE_TEXT.get(r.state, r.state)
        if role == Qt.ItemDataRole.BackgroundRole and flashing:
            return QBrush(QColor(FLASH_COLOUR))
        if role == Qt.ItemDataRole.ForegroundRole:
            if flashing:
                return QBrush(QColor("#000000"))
            if r.state in ("shelved", "cleared"):
                return QBrush(QColor(theme.MUTED))
        if role == Qt.ItemDataRole.FontRole and r.state == "raised":
            font = QFont()
            font.setBold(True)  # unacknowledged reads heavier, not only in another colour
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"Alarm {alarm_id}: {r.message}", f"{r.rule} on {r.metric or 'the asset'}"]
            if r.raised_at is not None:
                lines.append(f"Raised {r.raised_at:%Y-%m-%d %H:%M:%S} UTC")
            if r.acked_by:
                lines.append(f"Acknowledged by {r.acked_by}")
            if r.shelve_reason:
                lines.append(f"Shelved: {r.shelve_reason}")
            return "\n".join(lines)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "age":
            return int(Qt.AlignmentFlag.AlignCenter)
        return None
