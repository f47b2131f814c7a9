"""Job drops onto crew markers on the real map canvas and crews layer, and eligibility marks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QPointF
from pytestqt.qtbot import QtBot

from console.dispatch.controller import DispatchController
from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.job_queue import JobQueueModel
from console.dispatch.mime import JobRef
from layers.crews.model import CrewLayerModel
from layers.projection import LocalProjection
from tests.console.dispatch.recorder import RecordingSend
from tests.console.dispatch.wire import T0, FixedClock, crew, job, topics
from tests.widgets.dnd import drag_over, drop
from widgets.job_queue import JobQueueWidget, job_mime_data
from widgets.map_canvas import MapCanvas
from widgets.map_drop import CanvasCrewHitTest, MapDropHelper, install_map_drop


class MapDesk:
    """A map with a crews layer fed the same crew entities as the board."""

    def __init__(self, qtbot: QtBot) -> None:
        self.clock = FixedClock()
        crews = [
            crew(1, name="Alpha", lon=24.930, lat=60.170),
            crew(2, name="Bravo", lon=24.950, lat=60.170),
            crew(3, name="Charlie", lon=24.940, lat=60.176, skills=("electrical",)),
            crew(4, name="Delta", lon=24.940, lat=60.164, seen=T0 - timedelta(minutes=9)),
        ]
        city = topics(*(("crew", c) for c in crews), ("job", job(10, skills=("pump",), version=3)))
        self.jobs, self.board = JobQueueModel(self.clock), CrewBoardModel(self.clock)
        self.jobs.load(city)
        self.board.load(city)
        self.send = RecordingSend()
        self.controller = DispatchController(self.send, self.jobs, self.board)
        projection = LocalProjection(24.94, 60.17)
        self.layer = CrewLayerModel(projection, clock=self.clock)
        self.layer.replace_all(crews)
        self.canvas = MapCanvas(projection, tick_interval_ms=0)
        qtbot.addWidget(self.canvas)
        self.canvas.add_layer(self.layer)
        self.canvas.resize(800, 600)
        self.canvas.show()
        qtbot.waitExposed(self.canvas)
        self.canvas.home()
        self.canvas.render_now()
        self.helper: MapDropHelper = install_map_drop(self.canvas, self.controller)
        self.hit = self.helper.hit_test
        assert isinstance(self.hit, CanvasCrewHitTest)
        self.surface = self.canvas.graphics.viewport()

    def marker(self, crew_id: int) -> QPointF:
        """Where the crew's marker is drawn on the viewport."""
        p = self.hit.surface_point(crew_id)  # type: ignore[attr-defined]
        assert p is not None
        return p


def test_drop_on_a_crew_marker_assigns_with_the_dragged_version(qtbot: QtBot) -> None:
    d = MapDesk(qtbot)
    queue = JobQueueWidget(d.jobs, d.controller, tick_ms=0)
    qtbot.addWidget(queue)
    m = queue.table_model
    mime = m.mimeData([m.index(m.row_of(10), 0)])  # type: ignore[arg-type]
    assert d.hit.crew_at(d.marker(2)) == 2
    with qtbot.waitSignal(d.helper.hovered_crew) as hover:
        assert drag_over(d.surface, mime, d.marker(2))
    assert hover.args == [2]
    assert drop(d.surface, mime, d.marker(2) + QPointF(6, -5))  # a few pixels off centre
    assert d.send.calls == [("assign_job", {"job_id": 10, "crew_id": 2, "version": 3})]


def test_drop_between_markers_does_nothing(qtbot: QtBot) -> None:
    d = MapDesk(qtbot)
    between = (d.marker(1) + d.marker(2)) / 2 + QPointF(0, 40)
    mime = job_mime_data(JobRef(10, 3))
    assert d.hit.crew_at(between) is None
    assert not drag_over(d.surface, mime, between)
    assert not drop(d.surface, mime, between)
    assert d.send.calls == []


def test_hidden_crews_take_no_drops(qtbot: QtBot) -> None:
    d = MapDesk(qtbot)
    d.layer.set_visible(False)
    assert d.hit.crew_at(d.marker(2)) is None


def test_dragging_a_job_marks_the_crews_that_can_take_it_with_eta(qtbot: QtBot) -> None:
    d = MapDesk(qtbot)
    d.controller.eta_source = lambda j: {1: 300.0, 2: 95.0, 4: 60.0}
    marks = d.helper.marks
    assert marks is not None
    d.controller.begin_drag(10)
    # Bravo and Alpha: pump and fresh. Charlie lacks pump; Delta's position is 9 min old.
    assert marks.shown == {2: "[1] ETA 1m", 1: "[2] ETA 5m"}
    assert len(marks.rings.data) == 2
    d.canvas.render_now()
    d.controller.end_drag()
    assert marks.shown == {} and len(marks.rings.data) == 0


def test_map_drop_png(qtbot: QtBot, tmp_path: Path) -> None:
    d = MapDesk(qtbot)
    d.controller.eta_source = lambda j: {1: 300.0, 2: 95.0}
    d.controller.begin_drag(10)
    d.canvas.render_now()
    image = d.canvas.grab_image()
    assert image.save(str(tmp_path / "map_drop.png"))
    # The ring is drawn: bluish-green pixels near Bravo's marker.
    p = d.marker(2)
    found = False
    for dx in range(-20, 21):
        c = image.pixelColor(int(p.x()) + dx, int(p.y()))
        if c.green() > 130 and c.red() < 60 and c.blue() > 80:
            found = True
    assert found
