"""The "Most at risk" dock: assets ranked by 30-day failure probability, with reasons in words.

A thin Qt adapter over :class:`console.risk.model.RiskListModel`. Selecting a
row announces the asset (the console selects it on the map); **Inspect**
(button, or I, Ctrl+I or Insert in the list) turns the selected asset into an inspection job
with ``create_job``. The list asks ``get_risk`` for its rows (the scores are
recomputed by the backend daily, not streamed); nothing here edits a model on
its own: a new job comes back as a delta like any other.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.alarms.commands import CommandRunner, Outcome, create_job_args
from console.risk.model import RiskListModel, RiskRow, inspection_draft
from layers.risk.model import band_of

#: Rows asked of the backend: more than a shift can inspect, few enough to list at once.
LIST_LIMIT = 500
COLUMNS = ("#", "Asset", "30-day risk", "Why")


def ranked_tree(parent: QWidget, columns: tuple[str, ...], fit: int) -> QTreeWidget:
    """A flat, striped list of ranked rows; the first ``fit`` columns sized to their contents."""
    tree = QTreeWidget(parent)
    tree.setColumnCount(len(columns))
    tree.setHeaderLabels(list(columns))
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setAlternatingRowColors(True)
    header = tree.header()
    header.setStretchLastSection(True)
    for col in range(fit):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
    return tree


class RiskListWidget(QWidget):
    """Ranked risky assets; select to show on the map, Inspect to open a job."""

    #: An asset was chosen in the list (asset id).
    asset_selected = Signal(int)
    #: A line for the operator (the outcome of a command).
    message = Signal(str)

    def __init__(
        self,
        runner: CommandRunner | None = None,
        model: RiskListModel | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.model = model or RiskListModel()
        self.kind_picker = QComboBox(self)
        self.kind_picker.setToolTip("Show one kind of asset")
        self.kind_picker.currentIndexChanged.connect(self._on_kind)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Ask the backend for the latest scores")
        self.refresh_button.clicked.connect(lambda: self.refresh())
        self.inspect_button = QPushButton("Inspect (I)", self)
        self.inspect_button.setToolTip("Create an inspection job for the selected asset")
        self.inspect_button.clicked.connect(lambda: self.inspect_selected())
        self.inspect_button.setEnabled(False)
        self.tree = ranked_tree(self, COLUMNS, fit=3)
        self.tree.currentItemChanged.connect(self._on_current)
        self.status = QLabel("No scores yet", self)
        self.status.setWordWrap(True)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Kind", self))
        bar.addWidget(self.kind_picker, 1)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.inspect_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.status)
        self.tree.installEventFilter(self)
        self.model.changed.connect(lambda _none: self._fill())
        if runner is not None:
            runner.outcome.connect(self._on_outcome)
        self._fill()

    # -- data ------------------------------------------------------------------------------------
    def refresh(self) -> Outcome | None:
        """Ask ``get_risk`` for the riskiest assets (the reply refills the list)."""
        if self.runner is None:
            return None
        return self.runner.run(
            "risk", 0, "get_risk", {"limit": LIST_LIMIT}, "Risk scores updated", self.set_reply
        )

    def set_reply(self, result: Any) -> None:
        """Show a ``get_risk`` reply."""
        self.model.set_reply(result or {})

    def _fill(self) -> None:
        current = self.selected_asset()
        self._fill_kinds()
        self.tree.blockSignals(True)
        self.tree.clear()
        keep: QTreeWidgetItem | None = None
        for row in self.model.rows():
            item = self._item(row)
            self.tree.addTopLevelItem(item)
            if row.asset_id == current:
                keep = item
        self.tree.blockSignals(False)
        if keep is not None:
            self.tree.setCurrentItem(keep)
        self.inspect_button.setEnabled(
            self.selected_asset() is not None and self.runner is not None
        )
        m = self.model
        when = (m.scored_at or "")[:16].replace("T", " ")
        self.status.setText(
            f"{len(m.rows())} of {m.total} scored assets · scored {when} UTC"
            if m.assets
            else "No scores yet: the backend scores assets at start and daily"
        )

    def _fill_kinds(self) -> None:
        kinds = self.model.kinds()
        wanted = ["", *kinds]
        have = [self.kind_picker.itemData(i) for i in range(self.kind_picker.count())]
        if have == wanted:
            return
        self.kind_picker.blockSignals(True)
        self.kind_picker.clear()
        self.kind_picker.addItem("All kinds", "")
        for kind in kinds:
            self.kind_picker.addItem(kind.replace("_", " ").capitalize(), kind)
        index = self.kind_picker.findData(self.model.kind or "")
        self.kind_picker.setCurrentIndex(max(index, 0))
        self.kind_picker.blockSignals(False)

    @staticmethod
    def _item(row: RiskRow) -> QTreeWidgetItem:
        band = band_of(row.p30)
        item = QTreeWidgetItem([str(row.rank), row.label, f"● {row.percent}", row.why])
        item.setData(0, Qt.ItemDataRole.UserRole, row.asset_id)
        # The dot carries the map's band colour; the number beside it says the same in text.
        item.setForeground(2, QBrush(QColor(band.colour)))
        item.setToolTip(2, f"{band.label}: {row.percent} chance of a failure in the next 30 days")
        item.setToolTip(3, row.why)
        return item

    # -- selection and intents -------------------------------------------------------------------
    def selected_asset(self) -> int | None:
        """The asset of the current row, if any."""
        item = self.tree.currentItem()
        return None if item is None else int(item.data(0, Qt.ItemDataRole.UserRole))

    def select_asset(self, asset_id: int) -> bool:
        """Make an asset's row current (e.g. chosen on the map); False when it is not listed."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == asset_id:
                self.tree.blockSignals(True)
                self.tree.setCurrentItem(item)
                self.tree.blockSignals(False)
                self.inspect_button.setEnabled(self.runner is not None)
                return True
        return False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """I, Ctrl+I or Insert in the list: inspect the selected asset."""
        if obj is self.tree and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_I, Qt.Key.Key_Insert):
                self.inspect_selected()
                return True
        return super().eventFilter(obj, event)

    def _on_current(self, item: QTreeWidgetItem | None, _previous: Any) -> None:
        self.inspect_button.setEnabled(item is not None and self.runner is not None)
        if item is not None:
            self.asset_selected.emit(int(item.data(0, Qt.ItemDataRole.UserRole)))

    def _on_kind(self, _index: int) -> None:
        self.model.set_kind(self.kind_picker.currentData() or None)

    def inspect_selected(self) -> Outcome | None:
        """Send ``create_job`` for an inspection of the selected asset."""
        asset_id = self.selected_asset()
        row = None if asset_id is None else self.model.find(asset_id)
        if self.runner is None or row is None:
            return None
        draft = inspection_draft(row)
        args = create_job_args(row.asset_id, draft.title, draft.priority, draft.skills)
        done = f"Inspection job created for {row.label}"
        return self.runner.run("create_job", row.asset_id, "create_job", args, done)

    def _on_outcome(self, outcome: Outcome) -> None:
        if outcome.intent in ("create_job", "risk"):
            self.message.emit(outcome.message)
            if outcome.intent == "create_job" or not outcome.ok:
                self.status.setText(outcome.message)
