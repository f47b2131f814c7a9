"""Dispatch end to end: real widgets, real drop handlers, the real backend over real ZeroMQ.

Two consoles (dana and dave) each load a snapshot from one running backend
service, drag the same job onto different crews, and exactly one wins: the
other's drop is refused naming who changed the job and when. After a fresh
snapshot both boards show the truth, and Ctrl+Z on the winner's board puts
the job back. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select

from backend.db.engine import make_sessionmaker
from backend.db.models import Crew, Issue, Job, User
from backend.protocol.client import CommandClient
from console.dispatch.controller import DispatchController
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.job_queue import JobQueueModel
from tests.console.dispatch.block_city import running_service
from tests.widgets.dnd import drop
from widgets.crew_board import CrewBoardWidget
from widgets.job_queue import JobQueueWidget


def _seed(engine: Engine) -> None:
    now = datetime.now(UTC)
    with make_sessionmaker(engine).begin() as s:
        s.add_all([User(name="dana", role="dispatcher"), User(name="dave", role="dispatcher")])
        for name in ("Alpha", "Bravo"):
            # A 24-hour shift: the test must not depend on the hour it runs at.
            s.add(
                Crew(
                    name=name,
                    skills=["pump"],
                    shift_start="00:00",
                    shift_end="00:00",
                    last_lon=24.94,
                    last_lat=60.17,
                    last_seen_at=now,
                )
            )
        s.flush()
        issue = Issue(
            source="test",
            source_id="1",
            category="Pump failure",
            address="1 Quay",
            requested_at=now,
        )
        s.add(issue)
        s.flush()
        s.add(Job(issue_id=issue.id, title="Fix pump", skills=["pump"], created_at=now))


@pytest.fixture
def router_endpoint(engine: Engine) -> Iterator[str]:
    """A running backend service on a fresh, seeded database."""
    _seed(engine)
    with running_service(engine) as service:
        yield service.router_endpoint


class Console:
    """One dispatcher's queue and board, fed from snapshots, sending over a real client."""

    def __init__(self, qtbot: QtBot, endpoint: str, user: str) -> None:
        self.client = CommandClient(endpoint, user=user, timeout_s=5.0)
        self.jobs, self.crews = JobQueueModel(), CrewBoardModel()
        self.controller = DispatchController(self.client.command, self.jobs, self.crews)
        self.queue = JobQueueWidget(self.jobs, self.controller, tick_ms=0)
        self.board = CrewBoardWidget(self.crews, self.controller, tick_ms=0)
        for w in (self.queue, self.board):
            qtbot.addWidget(w)
            w.resize(700, 300)
            w.show()
        qtbot.waitExposed(self.board)
        self.refresh()

    def refresh(self) -> None:
        """Load the current truth from the backend (what the live replica would hold)."""
        _seq, entities = self.client.snapshot()
        self.jobs.load(entities)
        self.crews.load(entities)

    def crew_id(self, name: str) -> int:
        return next(i for i, c in self.crews.crews.items() if c["name"] == name)

    def drop_job_on_crew(self, job_id: int, crew_name: str) -> bool:
        """Drag the job's row out of the queue and drop it on the crew's board row."""
        m = self.queue.table_model
        row = m.row_of(job_id)
        assert row is not None
        mime = m.mimeData([m.index(row, 0)])
        index = self.board.tree_model.crew_index(self.crew_id(crew_name))
        return drop(self.board.view.viewport(), mime, self.board.view.visualRect(index).center())


def _job_row(engine: Engine) -> Job:
    with make_sessionmaker(engine)() as s:
        job = s.scalars(select(Job)).one()
        s.expunge(job)
        return job


def test_two_dispatchers_one_job_one_wins_and_undo(
    qtbot: QtBot, engine: Engine, router_endpoint: str
) -> None:
    dana = Console(qtbot, router_endpoint, "dana")
    dave = Console(qtbot, router_endpoint, "dave")
    job_id = next(iter(dana.jobs.jobs))
    alpha, bravo = dana.crew_id("Alpha"), dana.crew_id("Bravo")

    assert dana.drop_job_on_crew(job_id, "Bravo")
    assert dana.board.strip.text() == f"Job {job_id} assigned to Bravo"
    stored = _job_row(engine)
    assert (stored.crew_id, stored.status, stored.version, stored.assigned_by) == (
        bravo,
        "assigned",
        2,
        "dana",
    )

    # Dave still sees version 1 and drops the job on Alpha: refused, naming dana and when.
    assert dave.drop_job_on_crew(job_id, "Alpha")
    text = dave.board.strip.text()
    when = stored.assigned_at
    assert when is not None
    assert text == (
        f"Refused: job {job_id} was changed by dana at {when:%H:%M:%S} UTC;"
        " it is now assigned with Bravo."
    )
    assert _job_row(engine).crew_id == bravo

    # Every view shows the truth once the state arrives.
    for console in (dana, dave):
        console.refresh()
        assert console.crews.row(bravo).job_ids == (job_id,)
        assert console.crews.row(alpha).job_ids == ()
        assert console.jobs.row(job_id).status == "assigned"

    # Ctrl+Z on dana's board unassigns with the version her command produced.
    qtbot.keyClick(dana.board.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dana.board.strip.text() == f"Undone: job {job_id} back in the queue"
    stored = _job_row(engine)
    assert (stored.crew_id, stored.status, stored.version) == (None, "new", 3)
    # Dave's undo stack is empty: his refused drop left nothing to undo.
    qtbot.keyClick(dave.board.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dave.board.strip.text() == "Nothing to undo"
    for console in (dana, dave):
        console.client.close()
