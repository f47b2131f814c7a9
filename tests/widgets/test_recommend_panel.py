"""The recommendation panel against the real backend over ZeroMQ (SQLite and PostgreSQL).

The panel asks ``recommend_crews`` through a real command client, shows the
top crews (stale marked), and key 1 / a click assign through the real
DispatchController: the database must show the assignment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from backend.db.engine import make_sessionmaker
from backend.db.models import Job
from backend.protocol.client import CommandClient
from console.dispatch.controller import DispatchController
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.job_queue import JobQueueModel
from console.dispatch.recommend import DispatchRouting
from tests.console.dispatch.block_city import RESIDENTIAL_MPS, running_service, seed_block
from widgets.recommend_panel import RecommendPanelWidget


class Desk:
    """One dispatcher's recommendation panel on a real client."""

    def __init__(self, qtbot: QtBot, endpoint: str) -> None:
        self.client = CommandClient(endpoint, user="dana", timeout_s=10.0)
        self.jobs, self.crews = JobQueueModel(), CrewBoardModel()
        self.controller = DispatchController(self.client.command, self.jobs, self.crews)
        self.routing = DispatchRouting(self.client.command, self.controller)
        self.panel = RecommendPanelWidget(self.routing.model, self.controller)
        qtbot.addWidget(self.panel)
        self.panel.resize(560, 220)
        self.panel.show()
        qtbot.waitExposed(self.panel)
        self.refresh()

    def refresh(self) -> None:
        _seq, entities = self.client.snapshot()
        self.jobs.load(entities)
        self.crews.load(entities)


@pytest.fixture
def desk(qtbot: QtBot, engine: Engine) -> Iterator[tuple[Desk, dict[str, int]]]:
    ids = seed_block(engine)
    with running_service(engine) as service:
        d = Desk(qtbot, service.router_endpoint)
        yield d, ids
        d.client.close()


def _crew_of(engine: Engine, job_id: int) -> int | None:
    with make_sessionmaker(engine)() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job.crew_id


def test_panel_shows_top_three_and_key_1_assigns(
    qtbot: QtBot, engine: Engine, desk: tuple[Desk, dict[str, int]], tmp_path: Path
) -> None:
    d, ids = desk
    d.routing.select_job(ids["job"])
    view = d.routing.model.view
    assert view.state == "ready"
    names = [row[1] for row in d.panel.row_texts]
    assert names == ["South", "North", "Stale"]
    south, north, stale = d.panel.row_texts
    assert south[2] == f"{int(200 / RESIDENTIAL_MPS)}s"  # 200 m: along the south side and up
    assert north[2] == "1m"  # 600 m round the block: the one-way forbids the short way down
    assert stale[3].startswith("◆ stale 1h")
    assert "Plumber (lacks pump)" in d.panel.note.text()
    assert "Off (off shift)" in d.panel.note.text()
    d.panel.grab().save(str(tmp_path / "recommend_panel.png"))

    d.panel.setFocus()
    qtbot.keyClick(d.panel, Qt.Key.Key_1)
    assert _crew_of(engine, ids["job"]) == ids["South"]
    assert d.panel.note.text() == f"Job {ids['job']} assigned to South"
    # Ctrl+Z through the same controller puts it back.
    d.controller.undo()
    assert _crew_of(engine, ids["job"]) is None


def test_click_assigns_the_second_crew_and_a_stale_view_is_refused(
    qtbot: QtBot, engine: Engine, desk: tuple[Desk, dict[str, int]]
) -> None:
    d, ids = desk
    d.routing.select_job(ids["job2"])
    assert [row[1] for row in d.panel.row_texts][:2] == ["South", "North"]
    qtbot.mouseClick(d.panel.buttons[1], Qt.MouseButton.LeftButton)
    assert _crew_of(engine, ids["job2"]) == ids["North"]
    # Without the delta, this console still holds version 1: assigning again is a conflict.
    qtbot.mouseClick(d.panel.buttons[0], Qt.MouseButton.LeftButton)
    assert d.panel.note.text().startswith(f"Refused: job {ids['job2']} was changed by dana")
    assert _crew_of(engine, ids["job2"]) == ids["North"]
    # With the truth loaded, North holds the job: it is left out and South leads.
    d.refresh()
    d.routing.refresh()
    assert [row[1] for row in d.panel.row_texts] == ["South", "Stale"]
    assert "North (has this job)" in d.panel.note.text()


def test_panel_without_a_job_and_with_a_refusal(
    qtbot: QtBot, desk: tuple[Desk, dict[str, int]]
) -> None:
    d, _ids = desk
    assert d.panel.buttons == [] and "Select a job" in d.panel.title.text()
    d.routing.select_job(999)
    assert d.routing.model.view.state == "error"
    assert "does not exist" in d.panel.note.text()
    assert not d.panel.assign(1)
