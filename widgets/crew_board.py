"""The crew board dock: crews and their queued jobs, a drop target for jobs.

Drop a job (``application/x-cityops-job``) on a crew, or on any job row under
it, to assign it; drag a job row from one crew to another to reassign; right
click a job row to take it back. While a job is being placed, crews that can
take it come first and are numbered 1–9 for the keyboard; the others are
dimmed with their reason in the tooltip. Refusals (a conflict names who
changed the job and when) show in the strip under the board.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QIcon,
    QKeyEvent,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.dispatch.common import ModelChange, format_duration
from console.dispatch.controller import CommandOutcome, DispatchController
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.mime import MIME_TYPE, JobRef
from layers import palette
from widgets.column_fit import ColumnFitter
from widgets.job_queue import STATUS_TEXT, armed_key, job_mime_data, job_ref_from_mime, undo_key
from widgets.view_keys import KeyedViewWidget

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("number", "crew", "status", "skills", "job", "eta", "seen")
HEADERS = ("#", "Crew", "Status", "Skills", "Job", "ETA", "Seen")
#: Role carrying a row's crew id (job rows: the crew they belong to).
CREW_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 11
#: Role carrying a job row's job id (None on crew rows).
JOB_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 12
ELIGIBLE_TINT = QColor(0, 158, 115, 55)  # bluish green, faint: readable text on top
REFUSED_COLOUR = palette.OKABE_ITO["orange"]


def _status_icon(status: str) -> QIcon:
    """A filled (or hollow, off shift) square in the status colour, as in the map legend."""
    style = palette.crew_status_style(status)
    pix = QPixmap(12, 12)
    pix.fill(QColor(0, 0, 0, 0))
    p = QPainter(pix)
    colour = QColor(style.colour)
    p.setPen(QPen(colour, 2))
    p.setBrush(QBrush(colour) if style.filled else QBrush(QColor(palette.BACKGROUND)))
    p.drawRect(1, 1, 10, 10)
    p.end()
    return QIcon(pix)


class GuiThreadPoster(QObject):
    """Runs callables on the thread this object lives in (the GUI thread).

    The dispatch controller's ``post``: command replies resolve on the live
    client's I/O thread, and a queued signal hands each outcome to Qt code.
    """

    _run = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run.connect(self._call, Qt.ConnectionType.QueuedConnection)

    def __call__(self, fn: Callable[[], None]) -> None:
        """Queue ``fn`` for the GUI thread (safe from any thread)."""
        self._run.emit(fn)

    def _call(self, fn: Callable[[], None]) -> None:
        fn()


class CrewTreeModel(QAbstractItemModel):
    """Crews (top level) and their jobs (children: current first, then the queue)."""

    def __init__(self, board: CrewBoardModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.board = board
        self._ids = board.visible_ids()
        self._icons = {s: _status_icon(s) for s in palette.CREW_STATUSES}
        self._children = {c: len(board.row(c).job_ids) for c in self._ids}
        board.changed.connect(self._on_change)

    # -- structure ----------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        crew_id = self._ids[parent.row()]
        return self.createIndex(row, column, crew_id)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not child.isValid() or child.internalId() == 0:
            return QModelIndex()
        crew_id = int(child.internalId())
        try:
            return self.createIndex(self._ids.index(crew_id), 0, 0)
        except ValueError:
            return QModelIndex()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._ids)
        if parent.internalId() != 0 or parent.column() != 0:
            return 0
        return len(self.board.row(self._ids[parent.row()]).job_ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def crew_index(self, crew_id: int) -> QModelIndex:
        """The row of a crew (invalid when not on the board)."""
        try:
            return self.index(self._ids.index(crew_id), 0)
        except ValueError:
            return QModelIndex()

    def job_index(self, crew_id: int, job_id: int) -> QModelIndex:
        """The row of a job under its crew (invalid when not there)."""
        parent = self.crew_index(crew_id)
        if not parent.isValid():
            return QModelIndex()
        jobs = self.board.row(crew_id).job_ids
        return self.index(jobs.index(job_id), 0, parent) if job_id in jobs else QModelIndex()

    def crew_id_of(self, index: Index) -> int | None:
        """The crew a row belongs to (a job row's crew), or None."""
        if not index.isValid():
            return None
        if index.internalId() != 0:
            return int(index.internalId())
        return self._ids[index.row()] if index.row() < len(self._ids) else None

    def job_id_of(self, index: Index) -> int | None:
        """The job of a job row, or None for a crew row."""
        if not index.isValid() or index.internalId() == 0:
            return None
        jobs = self.board.row(int(index.internalId())).job_ids
        return jobs[index.row()] if index.row() < len(jobs) else None

    def _on_change(self, change: ModelChange) -> None:
        new = self.board.visible_ids()
        if change.structure or new != self._ids or self._children_changed(change.ids):
            self.beginResetModel()
            self._ids = new
            self.endResetModel()
            return
        self.refresh(change.ids)

    def _children_changed(self, crew_ids: frozenset[int]) -> bool:
        # Qt needs row insert/remove notices for children; a reset is simpler and the
        # board is small (tens of crews), so any change in a queue's length resets.
        return any(
            c in self.board.crews and self._children.get(c) != len(self.board.row(c).job_ids)
            for c in crew_ids
        )

    def endResetModel(self) -> None:
        self._children = {c: len(self.board.row(c).job_ids) for c in self._ids}
        super().endResetModel()

    def refresh(self, crew_ids: frozenset[int] | set[int] | None = None) -> None:
        """Repaint some crews' rows (all when None), children included.

        The crew rows are announced as one span (a position batch names every
        crew); job rows, per crew, only for crews that have them.
        """
        last = len(COLUMNS) - 1
        if crew_ids is None:
            rows = list(range(len(self._ids)))
        else:
            row_of = {c: r for r, c in enumerate(self._ids)}
            rows = sorted(row_of[c] for c in crew_ids if c in row_of)
        if not rows:
            return
        self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], last))
        for row in rows:
            parent = self.index(row, 0)
            n = self.rowCount(parent)
            if n:
                self.dataChanged.emit(self.index(0, 0, parent), self.index(n - 1, last, parent))

    # -- cells -------------------------------------------------------------------------

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        crew_id = self.crew_id_of(index)
        if crew_id is None or crew_id not in self.board.crews:
            return None
        if role == CREW_ID_ROLE:
            return crew_id
        job_id = self.job_id_of(index)
        if role == JOB_ID_ROLE:
            return job_id
        column = COLUMNS[index.column()]
        if job_id is not None:
            return self._job_data(job_id, column, role)
        return self._crew_data(crew_id, column, role)

    def _crew_data(self, crew_id: int, column: str, role: int) -> Any:
        board = self.board
        r = board.row(crew_id)
        verdict = board.eligibility(crew_id)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "number":
                n = board.number_of(crew_id)
                return "" if n is None else str(n)
            if column == "crew":
                return r.name
            if column == "status":
                style = palette.crew_status_style(r.status)
                return f"{style.letter} {style.label}"
            if column == "skills":
                return ", ".join(r.skills) or "—"
            if column == "job":
                if r.current_job is not None:
                    text = self._job_title(r.current_job)
                    more = len(r.queue)
                    return text + (f"  (+{more} queued)" if more else "")
                return f"{len(r.queue)} queued" if r.queue else "idle"
            if column == "eta":
                eta = board.eta_s(crew_id)
                return "—" if eta is None else format_duration(eta)
            if column == "seen":
                age = board.position_age_s(crew_id)
                text = "never" if age is None else format_duration(max(age, 0.0)) + " ago"
                return ("◌ " + text) if board.is_stale(crew_id) else text
        if role == Qt.ItemDataRole.DecorationRole and column == "status":
            return self._icons.get(r.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{r.name}: {', '.join(r.members) or 'no members listed'}"]
            if verdict is not None:
                lines.append(verdict.explain())
            return "\n".join(lines)
        if role == Qt.ItemDataRole.ForegroundRole:
            if verdict is not None and not verdict.allowed:
                return QBrush(QColor(theme.MUTED))
            if column == "seen" and board.is_stale(crew_id):
                return QBrush(QColor(palette.OKABE_ITO["yellow"]))
        if role == Qt.ItemDataRole.BackgroundRole and verdict is not None and verdict.ok:
            return QBrush(ELIGIBLE_TINT)
        if role == Qt.ItemDataRole.FontRole and column in ("number", "crew"):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _job_title(self, job_id: int) -> str:
        job = self.board.job(job_id) or {}
        return f"#{job_id} {job.get('title') or ''}".strip()

    def _job_data(self, job_id: int, column: str, role: int) -> Any:
        job = self.board.job(job_id) or {}
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "crew":
                return self._job_title(job_id)
            if column == "status":
                return STATUS_TEXT.get(str(job.get("status")), str(job.get("status")))
            if column == "skills":
                return ", ".join(job.get("skills") or ()) or "any"
            if column == "job":
                return f"P{job.get('priority', 3)}"
            return ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Drag to another crew to reassign; right click to unassign (job {job_id})"
        return None

    # -- drag and drop --------------------------------------------------------------------

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base
        base |= Qt.ItemFlag.ItemIsDropEnabled
        if self.job_id_of(index) is not None:
            base |= Qt.ItemFlag.ItemIsDragEnabled
        return base

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeData(self, indexes: Any) -> QMimeData:
        """A job row dragged to another crew: job id, version, the crew it leaves."""
        for index in indexes:
            job_id = self.job_id_of(index)
            job = None if job_id is None else self.board.job(job_id)
            if job_id is not None and job is not None:
                ref = JobRef(job_id, int(job.get("version") or 1), self.crew_id_of(index))
                return job_mime_data(ref)
        return QMimeData()


class CrewTreeView(QTreeView):
    """The board's tree: accepts job drops on crews and job rows, offers the unassign menu."""

    #: (job id, version seen, crew id): a job was dropped on a crew.
    job_dropped = Signal(int, int, int)
    #: (job id, version seen): unassign chosen from the context menu.
    unassign_chosen = Signal(int, int)
    #: A job row started being dragged to another crew; and that drag ended.
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

    def crew_at(self, pos: QPoint) -> int | None:
        """The crew under a point of the viewport (a job row counts as its crew)."""
        model = self.model()
        assert isinstance(model, CrewTreeModel)
        return model.crew_id_of(self.indexAt(pos))

    def _drop_target(self, event: QDragMoveEvent | QDropEvent) -> tuple[JobRef, int] | None:
        ref = job_ref_from_mime(event.mimeData())
        crew_id = self.crew_at(event.position().toPoint())
        if ref is None or crew_id is None or crew_id == ref.from_crew_id:
            return None
        return ref, crew_id

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if job_ref_from_mime(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        target = self._drop_target(event)
        if target is None:
            event.ignore()
            return
        self.setCurrentIndex(self.indexAt(event.position().toPoint()))
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        target = self._drop_target(event)
        if target is None:
            event.ignore()
            return
        ref, crew_id = target
        event.setDropAction(Qt.DropAction.CopyAction)  # the board redraws from the delta
        event.accept()
        self.job_dropped.emit(ref.job_id, ref.version, crew_id)

    def context_menu_for(self, index: QModelIndex) -> QMenu | None:
        """The right-click menu of a row: unassign for a job row (None for a crew row)."""
        model = self.model()
        assert isinstance(model, CrewTreeModel)
        job_id = model.job_id_of(index)
        job = None if job_id is None else model.board.job(job_id)
        if job_id is None or job is None:
            return None
        menu = QMenu(self)
        crew = model.board.row(int(job["crew_id"])).name
        action = menu.addAction(f"Unassign job {job_id} from {crew}")
        action.setObjectName("unassign")
        version = int(job.get("version") or 1)
        action.triggered.connect(lambda: self.unassign_chosen.emit(job_id, version))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu_for(self.indexAt(event.pos()))
        if menu is not None:
            menu.exec(event.globalPos())


class CrewBoardWidget(KeyedViewWidget):
    """The crew board panel: the crews tree and a message strip for outcomes.

    Keys on the board: **1–9** picks a crew for the armed job, **Esc** cancels,
    **U** or **Delete** unassigns the selected job row, **Ctrl+Z** undoes.
    """

    #: A crew row was selected (-1: none).
    crew_selected = Signal(int)
    #: An outcome or hint worth showing in the status bar.
    message = Signal(str)

    def __init__(
        self,
        model: CrewBoardModel,
        controller: DispatchController | None = None,
        parent: QWidget | None = None,
        tick_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.controller = controller
        self.tree_model = CrewTreeModel(model, self)
        view = CrewTreeView(self)
        view.setModel(self.tree_model)
        view.setUniformRowHeights(True)
        view.setAlternatingRowColors(True)
        view.setRootIsDecorated(True)
        view.setDragEnabled(True)
        view.setAcceptDrops(True)
        view.setDropIndicatorShown(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        view.setDefaultDropAction(Qt.DropAction.MoveAction)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = view.header()
        header.setSectionResizeMode(COLUMNS.index("job"), QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        # Fitted once per turn: a crew-position batch refreshes every crew's row.
        self.fitter = ColumnFitter(view, [i for i, c in enumerate(COLUMNS) if c != "job"])
        self.watch_keys(view)
        self.view = view
        self.tree_model.modelReset.connect(view.expandAll)
        view.expandAll()
        view.selectionModel().currentRowChanged.connect(self._on_current)

        self.strip = QLabel("", self)
        self.strip.setWordWrap(True)
        self.strip.setObjectName("dispatchMessage")
        self.strip.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(view, 1)
        layout.addWidget(self.strip)

        if controller is not None:
            view.job_dropped.connect(controller.assign)
            view.unassign_chosen.connect(controller.unassign)
            view.drag_started.connect(controller.begin_drag)
            view.drag_finished.connect(controller.end_drag)
            controller.outcome.connect(self.show_outcome)

        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        if tick_ms > 0:
            self.timer.start()

    def tick(self) -> None:
        """Ages of positions move with the clock; crews going stale are re-judged."""
        self.model.tick()
        self.tree_model.refresh()

    def show_outcome(self, outcome: CommandOutcome) -> None:
        """Show how an intent ended: refusals stay until the next outcome."""
        colour = theme.TEXT if outcome.ok else REFUSED_COLOUR
        self.strip.setStyleSheet(f"color: {colour}; padding: 4px;")
        self.strip.setText(outcome.message)
        self.strip.show()
        self.message.emit(outcome.message)

    def selected_crew_id(self) -> int | None:
        """The crew whose row (or one of whose job rows) is selected."""
        return self.tree_model.crew_id_of(self.view.currentIndex())

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        crew_id = self.tree_model.crew_id_of(current)
        self.crew_selected.emit(-1 if crew_id is None else crew_id)

    def handle_key(self, event: QKeyEvent) -> bool:
        """Dispatch keys on the board (1–9, Esc, U/Delete, Ctrl+Z); True when handled."""
        c = self.controller
        if c is None:
            return False
        if undo_key(c, event) or armed_key(c, event):
            return True
        key = Qt.Key(event.key())
        if key in (Qt.Key.Key_U, Qt.Key.Key_Delete):
            job_id = self.tree_model.job_id_of(self.view.currentIndex())
            job = None if job_id is None else self.model.job(job_id)
            if job_id is not None and job is not None:
                c.unassign(job_id, int(job.get("version") or 1))
                return True
        return False
