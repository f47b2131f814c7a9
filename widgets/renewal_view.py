"""The water-main renewal view: a length budget in, the pipes to renew and what they would avoid.

A spin box sets the budget in kilometres of main; after a short pause the
view asks ``get_renewal`` and lists the pipes chosen (most expected failures
per metre first), what they are expected to avoid in the next 30 days, and,
for the model's evaluation test period, how many real failures the same rule
would have avoided. Selecting a pipe announces it (the console shows it on
the map).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.alarms.commands import CommandRunner, Outcome
from console.risk.model import RenewalPlan
from widgets.risk_list import ranked_tree

DEFAULT_BUDGET_KM = 5.0
#: Typing a budget fires one request after this pause, not one per keystroke.
DEBOUNCE_MS = 350
COLUMNS = ("#", "Pipe", "Length", "30-day risk", "Why")


class RenewalViewWidget(QWidget):
    """Budget spin box, plan summary, backtest line and the list of pipes."""

    #: A pipe was chosen in the list (asset id).
    asset_selected = Signal(int)

    def __init__(self, runner: CommandRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.plan: RenewalPlan | None = None
        self.budget = QDoubleSpinBox(self)
        self.budget.setRange(0.1, 1000.0)
        self.budget.setDecimals(1)
        self.budget.setSingleStep(0.5)
        self.budget.setSuffix(" km")
        self.budget.setValue(DEFAULT_BUDGET_KM)
        self.budget.setToolTip("Length of water main the budget renews")
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.backtest = QLabel("", self)
        self.backtest.setWordWrap(True)
        self.tree = ranked_tree(self, COLUMNS, fit=4)
        self.tree.currentItemChanged.connect(self._on_current)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(lambda: self.request())
        self.budget.valueChanged.connect(lambda _v: self._debounce.start())

        form = QFormLayout()
        form.addRow("Renewal budget", self.budget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.backtest)
        layout.addWidget(self.tree, 1)
        if runner is not None:
            runner.outcome.connect(self._on_outcome)
        self.set_plan(None)

    def budget_m(self) -> float:
        """The budget in metres."""
        return round(self.budget.value() * 1000.0, 1)

    def request(self) -> Outcome | None:
        """Ask ``get_renewal`` for the current budget (the reply refills the view)."""
        self._debounce.stop()
        if self.runner is None:
            return None
        return self.runner.run(
            "renewal",
            0,
            "get_renewal",
            {"budget_m": self.budget_m()},
            "Renewal plan updated",
            self.set_reply,
        )

    def set_reply(self, result: Any) -> None:
        """Show a ``get_renewal`` reply."""
        self.set_plan(RenewalPlan.from_reply(result or {}))

    def set_plan(self, plan: RenewalPlan | None) -> None:
        """Show a plan (None: nothing asked yet)."""
        self.plan = plan
        self.tree.clear()
        if plan is None:
            self.summary.setText("Set a budget to see which water mains to renew first.")
            self.backtest.setText("")
            return
        self.summary.setText(plan.summary())
        self.backtest.setText(plan.backtest_text())
        for row in plan.pipes:
            length = f"{row.length_m:.0f} m" if row.length_m is not None else "?"
            item = QTreeWidgetItem([str(row.rank), row.label, length, row.percent, row.why])
            item.setData(0, Qt.ItemDataRole.UserRole, row.asset_id)
            item.setToolTip(4, row.why)
            self.tree.addTopLevelItem(item)

    def _on_current(self, item: QTreeWidgetItem | None, _previous: Any) -> None:
        if item is not None:
            self.asset_selected.emit(int(item.data(0, Qt.ItemDataRole.UserRole)))

    def _on_outcome(self, outcome: Outcome) -> None:
        if outcome.intent == "renewal" and not outcome.ok:
            self.summary.setText(outcome.message)
