"""The crew board: drops from the queue, reassigning by drag, unassign menu, keys, undo, marks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from backend.protocol.client import CommandFailed
from console.dispatch.controller import DispatchController
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.job_queue import JobQueueModel
from console.dispatch.mime import JobRef
from console.theme import MUTED
from tests.console.dispatch.recorder import RecordingSend
from tests.console.dispatch.wire import T0, FixedClock, crew, job, topics
from tests.widgets.dnd import drag_over, drop
from widgets.crew_board import COLUMNS, CREW_ID_ROLE, ELIGIBLE_TINT, CrewBoardWidget
from widgets.job_queue import JobQueueWidget, job_mime_data


class Desk:
    """Queue and board sharing one controller over a recording send_command."""

    def __init__(self, qtbot: QtBot) -> None:
        self.clock = FixedClock()
        self.send = RecordingSend()
        self.city = topics(
            ("crew", crew(1, name="Alpha")),
            ("crew", crew(2, name="Bravo")),
            ("crew", crew(3, name="Charlie", skills=("electrical",))),
            ("crew", crew(4, name="Delta", seen=T0 - timedelta(minutes=30))),
            ("job", job(10, skills=("pump",), version=4, title="Fix pump")),
            ("job", job(11, status="assigned", crew_id=1, version=2, title="Valve")),
            ("job", job(12, status="assigned", crew_id=1, version=6, title="Hydrant")),
        )
        self.jobs = JobQueueModel(self.clock)
        self.crews = CrewBoardModel(self.clock)
        self.jobs.load(self.city)
        self.crews.load(self.city)
        self.controller = DispatchController(self.send, self.jobs, self.crews)
        self.queue = JobQueueWidget(self.jobs, self.controller, tick_ms=0)
        self.board = CrewBoardWidget(self.crews, self.controller, tick_ms=0)
        for w in (self.queue, self.board):
            qtbot.addWidget(w)
            w.resize(800, 320)
            w.show()
        qtbot.waitExposed(self.board)

    def crew_point(self, crew_id: int) -> QPoint:
        """The centre of a crew's row on the board's viewport."""
        index = self.board.tree_model.crew_index(crew_id)
        return self.board.view.visualRect(index).center()

    def job_point(self, crew_id: int, job_id: int) -> QPoint:
        """The centre of a job row under its crew."""
        index = self.board.tree_model.job_index(crew_id, job_id)
        assert index.isValid()
        return self.board.view.visualRect(index).center()

    def echo(self, entity: dict[str, Any]) -> None:
        """The delta the bus brings back after a command."""
        for m in (self.jobs, self.crews):
            m.apply(f"job/{entity['id']}", entity)


def test_queue_to_crew_drop_sends_assign_with_id_and_version(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    m = d.queue.table_model
    mime = m.mimeData([m.index(m.row_of(10), 0)])  # type: ignore[arg-type]
    assert drop(d.board.view.viewport(), mime, d.crew_point(2))
    assert d.send.calls == [("assign_job", {"job_id": 10, "crew_id": 2, "version": 4})]
    assert d.board.strip.text() == "Job 10 assigned to Bravo"


def test_a_drop_on_a_job_row_goes_to_that_rows_crew(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    mime = job_mime_data(JobRef(10, 4))
    assert drop(d.board.view.viewport(), mime, d.job_point(1, 11))
    assert d.send.calls == [("assign_job", {"job_id": 10, "crew_id": 1, "version": 4})]


def test_drag_between_crews_reassigns(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    tm = d.board.tree_model
    mime = tm.mimeData([tm.job_index(1, 12)])
    # Back onto its own crew: refused by the drop handler, nothing sent.
    assert not drag_over(d.board.view.viewport(), mime, d.crew_point(1))
    assert drop(d.board.view.viewport(), mime, d.crew_point(2))
    assert d.send.calls == [("assign_job", {"job_id": 12, "crew_id": 2, "version": 6})]
    assert d.board.strip.text() == "Job 12 assigned to Bravo (was Alpha)"


def test_foreign_drags_are_ignored(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    mime = job_mime_data(JobRef(10, 4))
    mime.removeFormat("application/x-cityops-job")
    assert not drop(d.board.view.viewport(), mime, d.crew_point(2))
    assert d.send.calls == []


def test_context_menu_unassigns(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    tm = d.board.tree_model
    assert d.board.view.context_menu_for(tm.crew_index(1)) is None
    menu = d.board.view.context_menu_for(tm.job_index(1, 11))
    assert menu is not None
    (action,) = [a for a in menu.actions() if a.objectName() == "unassign"]
    assert action.text() == "Unassign job 11 from Alpha"
    action.trigger()
    assert d.send.calls == [("unassign_job", {"job_id": 11, "version": 2})]


def test_keyboard_path_select_press_a_pick_number(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    d.queue.view.setFocus()
    assert d.queue.select_job(10)
    qtbot.keyClick(d.queue.view, Qt.Key.Key_A)
    assert d.controller.armed_job_id == 10
    # Who can take job 10 (pump) with a fresh position comes first, numbered.
    tm = d.board.tree_model
    numbers = {
        tm.index(r, 0).data(CREW_ID_ROLE): tm.index(r, 0).data() for r in range(tm.rowCount())
    }
    # Bravo (idle) before Alpha (two jobs queued); Delta is stale; Charlie lacks pump.
    assert numbers == {2: "1", 1: "2", 4: "3", 3: "4"}
    eligible = tm.index(0, COLUMNS.index("crew"))
    assert eligible.data(Qt.ItemDataRole.BackgroundRole).color() == ELIGIBLE_TINT
    blocked = tm.crew_index(3).siblingAtColumn(COLUMNS.index("crew"))
    assert blocked.data(Qt.ItemDataRole.ForegroundRole).color() == QColor(MUTED)
    assert "lacks pump" in blocked.data(Qt.ItemDataRole.ToolTipRole)
    qtbot.keyClick(d.queue.view, Qt.Key.Key_2)
    assert d.send.calls == [("assign_job", {"job_id": 10, "crew_id": 1, "version": 4})]
    assert d.controller.armed_job_id is None


def test_escape_cancels_and_u_unassigns(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    d.queue.select_job(10)
    qtbot.keyClick(d.queue.view, Qt.Key.Key_A)
    qtbot.keyClick(d.queue.view, Qt.Key.Key_Escape)
    assert d.controller.armed_job_id is None and d.crews.candidate is None
    qtbot.keyClick(d.queue.view, Qt.Key.Key_5)
    assert d.send.calls == []
    d.board.view.setCurrentIndex(d.board.tree_model.job_index(1, 12))
    qtbot.keyClick(d.board.view, Qt.Key.Key_Delete)
    assert d.send.calls == [("unassign_job", {"job_id": 12, "version": 6})]


def test_ctrl_z_undoes_the_last_assignment(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    mime = job_mime_data(JobRef(10, 4))
    drop(d.board.view.viewport(), mime, d.crew_point(2))
    d.echo(job(10, skills=("pump",), status="assigned", crew_id=2, version=5))
    tm = d.board.tree_model
    mime = tm.mimeData([tm.job_index(2, 10)])
    drop(d.board.view.viewport(), mime, d.crew_point(1))  # reassign Bravo → Alpha, v6
    d.echo(job(10, skills=("pump",), status="assigned", crew_id=1, version=6))
    qtbot.keyClick(d.board.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert d.send.calls[-1] == ("assign_job", {"job_id": 10, "crew_id": 2, "version": 6})
    assert d.board.strip.text() == "Undone: job 10 back with Bravo"
    d.echo(job(10, skills=("pump",), status="assigned", crew_id=2, version=7))
    qtbot.keyClick(d.queue.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert d.send.calls[-1] == ("unassign_job", {"job_id": 10, "version": 5})


def test_a_conflict_is_shown_with_who_and_when(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    d.send.errors.append(
        CommandFailed(
            "conflict",
            "job 10 was changed",
            {
                "changed_by": "dave",
                "changed_at": "2026-03-01T08:03:11.000000Z",
                "entity": job(10, status="assigned", crew_id=1, version=5),
            },
        )
    )
    drop(d.board.view.viewport(), job_mime_data(JobRef(10, 4)), d.crew_point(2))
    assert d.board.strip.text() == (
        "Refused: job 10 was changed by dave at 08:03:11 UTC; it is now assigned with Alpha."
    )


def test_board_cells_show_status_job_queue_eta_and_age(qtbot: QtBot) -> None:
    d = Desk(qtbot)
    tm = d.board.tree_model
    alpha = tm.crew_index(1)

    def cell(index_row: object, name: str) -> object:
        return tm.index(alpha.row(), COLUMNS.index(name)).data()

    assert cell(alpha, "status") == "AV Available"
    assert cell(alpha, "job") == "2 queued"
    d.echo(job(11, status="en_route", crew_id=1, version=3, title="Valve"))
    alpha = tm.crew_index(1)
    assert cell(alpha, "job") == "#11 Valve  (+1 queued)"
    d.crews.set_etas(10, {1: 420.0})
    alpha = tm.crew_index(1)
    assert cell(alpha, "eta") == "7m"
    d.clock.advance(150)
    d.board.tick()
    assert cell(alpha, "seen") == "◌ 2m ago"
    delta = tm.crew_index(4)
    assert tm.index(delta.row(), COLUMNS.index("seen")).data() == "◌ 32m ago"
    assert tm.rowCount(tm.crew_index(1)) == 2


def test_async_replies_from_another_thread_reach_the_board(qtbot: QtBot) -> None:
    """A Future of an ``error`` Envelope (the live client's answer) becomes a refusal on screen."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from backend.protocol import envelope as proto
    from backend.protocol.envelope import Envelope
    from widgets.crew_board import GuiThreadPoster

    d = Desk(qtbot)
    pool = ThreadPoolExecutor(max_workers=1)
    details = {"changed_by": "dave", "changed_at": "2026-03-01T08:03:11.000000Z"}
    replies = [
        Envelope(proto.REPLY, {"result": {"job_id": 10, "version": 5, "crew_id": 2}}),
        Envelope(proto.ERROR, {"code": "conflict", "message": "x", "details": details}),
    ]

    def submit(name: str, args: dict[str, Any]) -> Future[Envelope]:
        return pool.submit(replies.pop, 0)

    d.controller.send_command = submit
    d.controller.post = GuiThreadPoster(d.board)
    drop(d.board.view.viewport(), job_mime_data(JobRef(10, 4)), d.crew_point(2))
    qtbot.waitUntil(lambda: d.board.strip.text() == "Job 10 assigned to Bravo", timeout=3000)
    assert len(d.controller.undo_stack) == 1
    drop(d.board.view.viewport(), job_mime_data(JobRef(10, 4)), d.crew_point(1))
    qtbot.waitUntil(lambda: d.board.strip.text().startswith("Refused: job 10"), timeout=3000)
    assert "dave at 08:03:11 UTC" in d.board.strip.text()
    pool.shutdown()
