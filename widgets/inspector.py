"""The inspector: the selected feature's fields, or a list of the selected features.

The fields follow the feature live: a layer change naming the shown feature
(new readings in an asset's ``latest``, a crew's new position) refreshes the
values in place, so what the operator reads is what the map draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pyqtgraph.Qt import QtCore, QtWidgets

from layers.base import LayerChange, LayerModel

#: Many-feature lists stop here: an inspector is for reading, not for 100k rows.
MAX_LIST_ROWS = 2000


def format_value(value: Any) -> str:
    """A field value as text for the table."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], list | tuple):
            return f"{len(value)} points"
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, bytes | bytearray | memoryview):
        return f"{len(value)} bytes"
    return str(value)


class InspectorWidget(QtWidgets.QWidget):
    """Shows one feature as a field/value table, or many as a list to pick from."""

    def __init__(
        self,
        lookup: Callable[[str], LayerModel] | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._lookup = lookup
        self.title = QtWidgets.QLabel("Nothing selected")
        self.title.setWordWrap(True)
        self.fields = QtWidgets.QTableWidget(0, 2)
        self.fields.setHorizontalHeaderLabels(["Field", "Value"])
        self.fields.horizontalHeader().setStretchLastSection(True)
        self.fields.verticalHeader().hide()
        self.fields.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list = QtWidgets.QListWidget()
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemDoubleClicked.connect(self._on_activated)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.fields)
        self.stack.addWidget(self.list)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.stack)
        self.model: LayerModel | None = None
        self.ids: list[int] = []
        #: The feature whose fields are shown (None: a list, or nothing).
        self.shown: int | None = None
        self._followed: LayerModel | None = None

    def bind(self, canvas: Any) -> None:
        """Follow a map canvas's selection."""
        self._lookup = canvas.model
        canvas.selection_changed.connect(self.show_selection)

    def show_selection(self, layer: str, ids: Sequence[int]) -> None:
        """Show what is selected on one layer."""
        if not layer or not ids or self._lookup is None:
            self.model, self.ids, self.shown = None, [], None
            self._follow(None)
            self.title.setText("Nothing selected")
            self.fields.setRowCount(0)
            self.list.clear()
            self.stack.setCurrentWidget(self.fields)
            return
        model = self._lookup(layer)
        present = [int(i) for i in ids if int(i) in model.records]
        self.model, self.ids = model, present
        self._follow(model)
        if len(present) == 1:
            self._show_one(model, present[0])
        else:
            self._show_many(model, present)

    def _follow(self, model: LayerModel | None) -> None:
        """Listen to the changes of the layer whose features are shown."""
        if model is self._followed:
            return
        if self._followed is not None:
            self._followed.changed.disconnect(self._on_layer_change)
        self._followed = model
        if model is not None:
            model.changed.connect(self._on_layer_change)

    def _on_layer_change(self, change: LayerChange) -> None:
        fid, model = self.shown, self.model
        if fid is None or model is None or fid not in change.ids or fid not in model.records:
            return
        self._show_one(model, fid)

    def _show_one(self, model: LayerModel, fid: int) -> None:
        rec = model.record(fid)
        self.title.setText(model.describe(fid))
        same = self.shown == fid and self.fields.rowCount() == len(rec)
        same = same and all(self.fields.item(r, 0).text() == str(k) for r, k in enumerate(rec))
        if same:  # a live update: values in place, the scroll position and selection stay
            for r, v in enumerate(rec.values()):
                text = format_value(v)
                item = self.fields.item(r, 1)
                if item.text() != text:
                    item.setText(text)
            return
        self.shown = fid
        self.fields.setRowCount(len(rec))
        for r, (k, v) in enumerate(rec.items()):
            self.fields.setItem(r, 0, QtWidgets.QTableWidgetItem(str(k)))
            self.fields.setItem(r, 1, QtWidgets.QTableWidgetItem(format_value(v)))
        self.fields.resizeColumnToContents(0)
        self.stack.setCurrentWidget(self.fields)

    def _show_many(self, model: LayerModel, ids: list[int]) -> None:
        self.shown = None
        more = len(ids) - MAX_LIST_ROWS
        self.title.setText(
            f"{len(ids)} {model.title.lower()} selected"
            + (f" (first {MAX_LIST_ROWS} listed)" if more > 0 else "")
        )
        self.list.clear()
        for fid in ids[:MAX_LIST_ROWS]:
            item = QtWidgets.QListWidgetItem(model.describe(fid))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, fid)
            self.list.addItem(item)
        self.stack.setCurrentWidget(self.list)

    def _on_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        if self.model is not None:
            self._show_one(self.model, int(item.data(QtCore.Qt.ItemDataRole.UserRole)))

    def field_rows(self) -> dict[str, str]:
        """The shown field table as a dict (for tests and copy)."""
        return {
            self.fields.item(r, 0).text(): self.fields.item(r, 1).text()
            for r in range(self.fields.rowCount())
        }
