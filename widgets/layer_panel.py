"""The layer panel: per layer visibility, opacity, and a legend whose rows are filters."""

from __future__ import annotations

import functools

from pyqtgraph.Qt import QtCore, QtWidgets

from layers.base import LayerChange, LayerModel
from widgets.legend_icons import legend_icon

_FIELD_TITLES = {
    "kind": "Kind",
    "status": "Status",
    "category": "Category",
    "road_class": "Road class",
}
_ROLE = QtCore.Qt.ItemDataRole.UserRole


class LayerPanelWidget(QtWidgets.QWidget):
    """A tree of layers: a checkbox and an opacity slider each, then legend rows.

    Unticking a legend row (a kind, a status) hides those features: the legend
    is the filter. Counts refresh at most a few times a second.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setRootIsDecorated(True)
        # Names take the room; counts and opacity sliders only what they need.
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemChanged.connect(self._on_item_changed)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.models: dict[str, LayerModel] = {}
        self.sliders: dict[str, QtWidgets.QSlider] = {}
        self._tops: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self._updating = False
        self._refresh = QtCore.QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(250)
        self._refresh.timeout.connect(self.refresh)
        self._dirty: set[str] = set()

    def add_layer(self, model: LayerModel) -> None:
        """List a layer (topmost first is up to the caller's order)."""
        self.models[model.name] = model
        top = QtWidgets.QTreeWidgetItem([model.title, ""])
        top.setData(0, _ROLE, (model.name, None, None))
        top.setFlags(top.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        self._updating = True
        top.setCheckState(0, _check(model.visible))
        self._updating = False
        self.tree.addTopLevelItem(top)
        slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        slider.setRange(0, 100)
        slider.setValue(round(model.opacity * 100))
        slider.setToolTip(f"{model.title} opacity")
        slider.setMaximumWidth(110)
        slider.valueChanged.connect(lambda v, m=model: m.set_opacity(v / 100))
        self.tree.setItemWidget(top, 1, slider)
        self.sliders[model.name] = slider
        self._tops[model.name] = top
        model.changed.connect(functools.partial(self._on_model_change, model.name))
        self._fill(model)
        top.setExpanded(True)

    def _on_model_change(self, name: str, change: LayerChange) -> None:
        self._dirty.add(name)
        if not self._refresh.isActive():
            self._refresh.start()

    def refresh(self) -> None:
        """Bring legends, counts and controls up to date with the models."""
        for name in list(self._dirty or self.models):
            self._fill(self.models[name])
        self._dirty.clear()

    def _fill(self, model: LayerModel) -> None:
        top = self._tops[model.name]
        self._updating = True
        try:
            top.setCheckState(0, _check(model.visible))
            slider = self.sliders[model.name]
            if slider.value() != round(model.opacity * 100):
                slider.blockSignals(True)
                slider.setValue(round(model.opacity * 100))
                slider.blockSignals(False)
            groups: dict[str, QtWidgets.QTreeWidgetItem] = {}
            for i in range(top.childCount()):
                g = top.child(i)
                groups[g.data(0, _ROLE)[1]] = g
            for entry in model.legend():
                g = groups.get(entry.field)
                if g is None:
                    g = QtWidgets.QTreeWidgetItem([_FIELD_TITLES.get(entry.field, entry.field)])
                    g.setData(0, _ROLE, (model.name, entry.field, None))
                    top.addChild(g)
                    g.setExpanded(entry.field == "status")
                    groups[entry.field] = g
                row = None
                for j in range(g.childCount()):
                    if g.child(j).data(0, _ROLE)[2] == entry.value:
                        row = g.child(j)
                        break
                if row is None:
                    row = QtWidgets.QTreeWidgetItem()
                    row.setData(0, _ROLE, (model.name, entry.field, entry.value))
                    row.setFlags(row.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                    row.setIcon(0, legend_icon(entry))
                    g.addChild(row)
                row.setText(0, entry.label)
                row.setText(1, str(entry.count))
                row.setCheckState(0, _check(not entry.hidden))
        finally:
            self._updating = False

    def _on_item_changed(self, item: QtWidgets.QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 0:
            return
        name, field, value = item.data(0, _ROLE)
        model = self.models[name]
        shown = item.checkState(0) == QtCore.Qt.CheckState.Checked
        if field is None:
            model.set_visible(shown)
        elif value is not None:
            model.set_value_shown(field, value, shown)

    def legend_item(self, layer: str, field: str, value: str) -> QtWidgets.QTreeWidgetItem:
        """The legend row of one value (for tests and keyboard navigation)."""
        top = self._tops[layer]
        for i in range(top.childCount()):
            g = top.child(i)
            for j in range(g.childCount()):
                row = g.child(j)
                if row.data(0, _ROLE) == (layer, field, value):
                    return row
        raise KeyError((layer, field, value))

    def layer_item(self, layer: str) -> QtWidgets.QTreeWidgetItem:
        """The top row of a layer."""
        return self._tops[layer]


def _check(on: bool) -> QtCore.Qt.CheckState:
    return QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked
