"""The job queue dock: a table of open jobs with an SLA countdown, search, filters and drag.

A thin Qt adapter over :class:`console.dispatch.job_queue.JobQueueModel`:
sorting, filtering and time live in the model; this module turns them into
cells, colours, a blinking new-job flash and ``application/x-cityops-job``
drags (job id + the version the dispatcher saw).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.dispatch.common import ModelChange, format_duration
from console.dispatch.controller import DispatchController
from console.dispatch.job_queue import COLUMNS, STATUS_FILTERS, JobQueueModel
from console.dispatch.mime import MIME_TYPE, BadJobPayload, JobRef, decode_job, encode_job
from layers.palette import OKABE_ITO
from widgets.column_fit import ColumnFitter
from widgets.view_keys import KeyedViewWidget

Index = QModelIndex | QPersistentModelIndex

HEADERS = {
    "priority": "P",
    "category": "Category",
    "address": "Address",
    "age": "Age",
    "skills": "Skills",
    "status": "Status",
    "due": "Due in",
}
#: SLA colours with a shape that backs each (never colour alone), and dark text to read on them.
SLA_LOOK = {
    "amber": (OKABE_ITO["orange"], "▲ "),
    "red": (OKABE_ITO["vermillion"], "■ over "),
}
#: The new-job flash: bright, and unlike the selection colour (accent blue).
FLASH_COLOUR = theme.TEXT
STATUS_TEXT = {
    "new": "New",
    "assigned": "Assigned",
    "en_route": "En route",
    "on_site": "On site",
    "done": "Done",
    "cancelled": "Cancelled",
}
#: Role carrying a row's job id (for the view, tests and the map link).
JOB_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
#: Role carrying a row's SLA state (``none``/``ok``/``amber``/``red``).
SLA_ROLE = int(Qt.ItemDataRole.UserRole) + 2
TIME_COLUMNS = (COLUMNS.index("age"), COLUMNS.index("due"))


def job_mime_data(ref: JobRef) -> QMimeData:
    """The drag payload of one job as QMimeData (also readable as plain text ``job 12``)."""
    mime = QMimeData()
    mime.setData(MIME_TYPE, encode_job(ref))
    mime.setText(f"job {ref.job_id}")
    return mime


def job_ref_from_mime(mime: QMimeData | None) -> JobRef | None:
    """The job a drag carries, or None when it carries no (valid) job."""
    if mime is None or not mime.hasFormat(MIME_TYPE):
        return None
    try:
        return decode_job(bytes(mime.data(MIME_TYPE).data()))
    except BadJobPayload:
        return None


def undo_key(controller: DispatchController, event: QKeyEvent) -> bool:
    """Ctrl+Z: undo the last assignment change (True when it was that key)."""
    key = Qt.Key(event.key())
    if key == Qt.Key.Key_Z and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        controller.undo()
        return True
    return False


def armed_key(controller: DispatchController, event: QKeyEvent) -> bool:
    """With a job armed: 1–9 gives it to that crew, Esc disarms (True when handled)."""
    if controller.armed_job_id is None:
        return False
    key = Qt.Key(event.key())
    if Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
        controller.pick(int(key) - int(Qt.Key.Key_0))
        return True
    if key == Qt.Key.Key_Escape:
        controller.disarm()
        return True
    return False


class JobTableModel(QAbstractTableModel):
    """Rows of a :class:`JobQueueModel` as a Qt table; drags carry the job id and version."""

    def __init__(self, model: JobQueueModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = model
        self.blink_on = True
        self._ids = model.visible_ids()
        self._row_of = {j: r for r, j in enumerate(self._ids)}
        model.changed.connect(self._on_change)

    # -- structure -------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def job_id_at(self, row: int) -> int:
        """The job shown on a row."""
        return self._ids[row]

    def row_of(self, job_id: int) -> int | None:
        """The row showing a job, or None when it is filtered out."""
        return self._row_of.get(job_id)

    def _on_change(self, change: ModelChange) -> None:
        new = self.queue.visible_ids()
        if change.structure or new != self._ids:
            if set(new) == set(self._ids):
                self._reorder(new)
            else:
                self.beginResetModel()
                self._set_ids(new)
                self.endResetModel()
            return
        last = len(COLUMNS) - 1
        for job_id in change.ids:
            row = self._row_of.get(job_id)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))

    def _set_ids(self, ids: list[int]) -> None:
        self._ids = ids
        self._row_of = {j: r for r, j in enumerate(ids)}

    def _reorder(self, ids: list[int]) -> None:
        """Same jobs, new order: keep the selection and current cell on their jobs."""
        self.layoutAboutToBeChanged.emit()
        old_ids = self._ids
        self._set_ids(ids)
        for old in self.persistentIndexList():
            job_id = old_ids[old.row()] if 0 <= old.row() < len(old_ids) else None
            row = None if job_id is None else self._row_of.get(job_id)
            new_index = QModelIndex() if row is None else self.index(row, old.column())
            self.changePersistentIndex(old, new_index)
        self.layoutChanged.emit()

    def refresh_times(self) -> None:
        """Age and countdown cells move with the clock; flashing rows blink."""
        if not self._ids:
            return
        self.blink_on = not self.blink_on
        bottom = len(self._ids) - 1
        for col in TIME_COLUMNS:
            self.dataChanged.emit(self.index(0, col), self.index(bottom, col))
        last = len(COLUMNS) - 1
        for job_id in self.queue.flashing_ids():
            row = self._row_of.get(job_id)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))

    # -- cells ------------------------------------------------------------------------------

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[COLUMNS[section]]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return "Priority (1 most urgent)" if COLUMNS[section] == "priority" else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        job_id = self._ids[index.row()]
        column = COLUMNS[index.column()]
        if role == JOB_ID_ROLE:
            return job_id
        if role == SLA_ROLE:
            return self.queue.sla_state(job_id)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(job_id, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            r = self.queue.row(job_id)
            due = r.due_at.strftime("%Y-%m-%d %H:%M UTC") if r.due_at else "no due time"
            return f"#{r.id} {r.title}\n{r.address or 'no address'}\nDue: {due}"
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(job_id, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if self._background(job_id, column) is not None:
                return QBrush(QColor("#000000"))
            return None
        if role == Qt.ItemDataRole.FontRole and column in ("priority", "due"):
            font = QFont()
            font.setBold(column == "due" or self.queue.row(job_id).priority <= 2)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("priority", "age", "due"):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _text(self, job_id: int, column: str) -> str:
        r = self.queue.row(job_id)
        if column == "priority":
            return f"P{r.priority}"
        if column == "category":
            return r.category
        if column == "address":
            return r.address or "—"
        if column == "age":
            age = self.queue.age_s(job_id)
            return "—" if age is None else format_duration(max(age, 0.0))
        if column == "skills":
            return ", ".join(r.skills) or "any"
        if column == "status":
            return STATUS_TEXT.get(r.status, r.status)
        left = self.queue.countdown_s(job_id)
        if left is None or self.queue.sla_state(job_id) == "none":
            return "—"
        state = self.queue.sla_state(job_id)
        if state == "red":
            return SLA_LOOK["red"][1] + format_duration(-left)
        return SLA_LOOK.get(state, ("", ""))[1] + format_duration(left)

    def _background(self, job_id: int, column: str) -> QBrush | None:
        if column == "due":
            look = SLA_LOOK.get(self.queue.sla_state(job_id))
            if look is not None:
                return QBrush(QColor(look[0]))
        if self.blink_on and self.queue.is_flashing(job_id):
            return QBrush(QColor(FLASH_COLOUR))
        return None

    # -- sorting and dragging --------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Header clicks sort in the pure model."""
        self.queue.set_sort(COLUMNS[column], order == Qt.SortOrder.DescendingOrder)

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeData(self, indexes: Any) -> QMimeData:
        """The dragged job: the first selected row's job id and its version now."""
        rows = sorted({i.row() for i in indexes if i.isValid()})
        if not rows:
            return QMimeData()
        r = self.queue.row(self._ids[rows[0]])
        return job_mime_data(JobRef(r.id, r.version, r.crew_id))


class JobTableView(QTableView):
    """The queue's table; announces drags so the board and the map can mark eligible crews."""

    drag_started = Signal(int)
    drag_finished = Signal()

    def startDrag(self, supported_actions: Qt.DropAction) -> None:
        index = self.currentIndex()
        job_id = index.data(JOB_ID_ROLE) if index.isValid() else None
        if job_id is not None:
            self.drag_started.emit(int(job_id))
        try:
            super().startDrag(supported_actions)
        finally:
            if job_id is not None:
                self.drag_finished.emit()


class JobQueueWidget(KeyedViewWidget):
    """The job queue panel: search, status and priority filters, and the job table.

    Keyboard path (with the table focused): **A** arms the selected job, then
    **1–9** picks a crew by its number on the crew board, **Esc** cancels;
    **U** takes the selected job back from its crew; **Ctrl+Z** undoes.
    """

    #: The selected job changed (-1: none).
    job_selected = Signal(int)
    #: A dispatcher intent or outcome worth showing in the status bar.
    message = Signal(str)

    def __init__(
        self,
        model: JobQueueModel,
        controller: DispatchController | None = None,
        parent: QWidget | None = None,
        tick_ms: int = 500,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.controller = controller
        self.table_model = JobTableModel(model, self)
        self._selected: int | None = None

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search jobs (id, address, category, skill…)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(model.set_search)
        self.status_filter = QComboBox(self)
        for preset in STATUS_FILTERS:
            self.status_filter.addItem(preset.title(), preset)
        self.status_filter.currentIndexChanged.connect(
            lambda _i: model.set_status_filter(str(self.status_filter.currentData()))
        )
        self.priority_filter = QComboBox(self)
        for p in range(5, 0, -1):
            self.priority_filter.addItem("All priorities" if p == 5 else f"P1–P{p}", p)
        self.priority_filter.currentIndexChanged.connect(
            lambda _i: model.set_max_priority(int(self.priority_filter.currentData()))
        )

        view = JobTableView(self)
        view.setModel(self.table_model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setDragEnabled(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        view.setDefaultDropAction(Qt.DropAction.MoveAction)
        view.setSortingEnabled(True)
        view.sortByColumn(COLUMNS.index(model.sort_key), Qt.SortOrder.AscendingOrder)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.verticalHeader().setVisible(False)
        header = view.horizontalHeader()
        header.setSectionResizeMode(COLUMNS.index("address"), QHeaderView.ResizeMode.Stretch)
        # Fitted once per turn: the clock tick announces the age and due columns every 500 ms.
        self.fitter = ColumnFitter(view, [i for i, c in enumerate(COLUMNS) if c != "address"])
        self.watch_keys(view)
        self.view = view
        view.selectionModel().currentRowChanged.connect(self._on_current)
        self.table_model.modelAboutToBeReset.connect(self._remember_selection)
        self.table_model.modelReset.connect(self._restore_selection)
        if controller is not None:
            view.drag_started.connect(controller.begin_drag)
            view.drag_finished.connect(controller.end_drag)

        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.status_filter)
        filters.addWidget(self.priority_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(view)

        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        if tick_ms > 0:
            self.timer.start()

    def focus_search(self) -> None:
        """Ctrl+F: put the cursor in the search box."""
        self.search.setFocus()
        self.search.selectAll()

    def tick(self) -> None:
        """Advance countdowns, ages and flashes (the timer calls this)."""
        self.model.tick()
        self.table_model.refresh_times()

    # -- selection -------------------------------------------------------------------------

    def selected_job_id(self) -> int | None:
        """The job the dispatcher has selected, if any."""
        index = self.view.currentIndex()
        if not index.isValid() or not self.view.selectionModel().isRowSelected(index.row()):
            return None
        return int(index.data(JOB_ID_ROLE))

    def select_job(self, job_id: int | None) -> bool:
        """Select a job (e.g. picked on the map); False when it is not in the table."""
        row = None if job_id is None else self.table_model.row_of(job_id)
        if row is None:
            self.view.clearSelection()
            return False
        self.view.selectRow(row)
        self.view.scrollTo(self.table_model.index(row, 0))
        return True

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        job_id = int(current.data(JOB_ID_ROLE)) if current.isValid() else None
        if job_id != self._selected:
            self._selected = job_id
            self.job_selected.emit(-1 if job_id is None else job_id)

    def _remember_selection(self) -> None:
        self._kept = self.selected_job_id()

    def _restore_selection(self) -> None:
        kept = getattr(self, "_kept", None)
        if kept is not None:
            self.select_job(kept)

    # -- keyboard path ---------------------------------------------------------------------

    def handle_key(self, event: QKeyEvent) -> bool:
        """Dispatch keys on the table (A, 1–9, Esc, U, Ctrl+Z); True when handled."""
        c = self.controller
        if c is None:
            return False
        if undo_key(c, event):
            return True
        if event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        ):
            return False
        key = Qt.Key(event.key())
        job_id = self.selected_job_id()
        if key == Qt.Key.Key_A and job_id is not None:
            c.arm(job_id)
            self.message.emit(f"Job {job_id}: press a crew's number (1–9), Esc to cancel")
            return True
        if armed_key(c, event):
            return True
        if key == Qt.Key.Key_U and job_id is not None:
            c.unassign(job_id, self.model.row(job_id).version)
            return True
        return False
