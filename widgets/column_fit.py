"""Columns sized to their contents once per event-loop turn, not once per changed row.

In ``ResizeToContents`` mode a header measures every row of its columns again
on each ``dataChanged`` (Qt 6.11: about 1,500 ``data()`` calls, 27 ms, on a
14-crew board), so a model announcing its rows one by one pays that per row:
a crew board refresh after one crew-position batch took 250 ms of the GUI
thread, and the job queue's half-second clock tick 68 ms. :class:`ColumnFitter`
puts the columns in ``Interactive`` mode and fits them itself, once after the
changes of a turn settled, and only the columns those changes named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QTimer
from PySide6.QtWidgets import QHeaderView, QTableView, QTreeView

Index = QModelIndex | QPersistentModelIndex


class ColumnFitter(QObject):
    """Keeps some columns of a tree or table view as wide as their contents, lazily."""

    def __init__(self, view: QTreeView | QTableView, columns: Sequence[int]) -> None:
        super().__init__(view)
        self.view = view
        self.columns = tuple(columns)
        header = view.header() if isinstance(view, QTreeView) else view.horizontalHeader()
        for column in self.columns:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self._pending: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.fit)
        self.fits = 0
        model = view.model()
        model.dataChanged.connect(self._on_data_changed)
        for signal in (model.modelReset, model.layoutChanged, model.rowsInserted):
            signal.connect(self._on_structure)
        model.rowsRemoved.connect(self._on_structure)
        if isinstance(view, QTreeView):
            view.expanded.connect(self._on_structure)
        self.request(self.columns)
        self.fit()

    def request(self, columns: Iterable[int]) -> None:
        """Fit ``columns`` (those of them this fitter keeps) when the event loop is next idle."""
        wanted = set(columns) & set(self.columns)
        if wanted:
            self._pending |= wanted
            self._timer.start()

    def fit(self) -> None:
        """Fit the pending columns now."""
        pending, self._pending = self._pending, set()
        self._timer.stop()
        for column in sorted(pending):
            self.view.resizeColumnToContents(column)
        if pending:
            self.fits += 1

    def _on_data_changed(self, top_left: Index, bottom_right: Index, _roles: object = None) -> None:
        self.request(range(top_left.column(), bottom_right.column() + 1))

    def _on_structure(self, *_args: object) -> None:
        self.request(self.columns)
