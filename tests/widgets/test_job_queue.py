"""The job queue widget: cells, countdown colours, sorting, filters, search, flash and drag data."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from console.dispatch.job_queue import COLUMNS, JobQueueModel
from console.dispatch.mime import MIME_TYPE, JobRef
from layers.palette import OKABE_ITO
from tests.console.dispatch.wire import T0, FixedClock, issue, job, topics
from widgets.job_queue import (
    FLASH_COLOUR,
    JOB_ID_ROLE,
    SLA_ROLE,
    JobQueueWidget,
    job_mime_data,
    job_ref_from_mime,
)

H = timedelta(hours=1)
DUE = COLUMNS.index("due")


def _widget(qtbot: QtBot, clock: FixedClock) -> JobQueueWidget:
    q = JobQueueModel(clock)
    q.load(
        topics(
            ("issue", issue(1, "Pothole", "12 Main St")),
            ("issue", issue(2, "Streetlight out", "3 Elm Rd")),
            ("job", job(10, priority=3, issue_id=1, skills=("asphalt",), due=T0 + 8 * H)),
            ("job", job(11, priority=1, issue_id=2, skills=("electrical",), due=T0 + 2 * H)),
            ("job", job(12, priority=4, created=T0 - 3 * H)),
        )
    )
    w = JobQueueWidget(q, tick_ms=0)
    qtbot.addWidget(w)
    w.resize(900, 300)
    return w


def _column(w: JobQueueWidget, name: str, role: int = Qt.ItemDataRole.DisplayRole) -> list[object]:
    m = w.table_model
    return [m.index(r, COLUMNS.index(name)).data(role) for r in range(m.rowCount())]


def test_cells_show_priority_category_address_age_skills_status_due(qtbot: QtBot) -> None:
    w = _widget(qtbot, FixedClock(T0 + timedelta(minutes=30)))
    m = w.table_model
    assert [m.index(r, 0).data(JOB_ID_ROLE) for r in range(3)] == [11, 10, 12]
    assert _column(w, "priority") == ["P1", "P3", "P4"]
    assert _column(w, "category") == ["Streetlight out", "Pothole", "Job 12"]
    assert _column(w, "address") == ["3 Elm Rd", "12 Main St", "—"]
    assert _column(w, "age") == ["30m", "30m", "3h 30m"]
    assert _column(w, "skills") == ["electrical", "asphalt", "any"]
    assert _column(w, "status") == ["New", "New", "New"]
    assert _column(w, "due") == ["1h 30m", "7h 30m", "—"]


def test_countdown_turns_amber_then_red_with_shape_backing(qtbot: QtBot) -> None:
    clock = FixedClock()
    w = _widget(qtbot, clock)
    m = w.table_model
    cell = m.index(0, DUE)  # job 11, due T0+2h
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is None
    clock.advance(95 * 60)
    w.tick()
    assert cell.data(SLA_ROLE) == "amber"
    assert cell.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(OKABE_ITO["orange"])
    assert cell.data() == "▲ 25m"
    assert cell.data(Qt.ItemDataRole.ForegroundRole).color() == QColor("#000000")
    clock.advance(40 * 60)
    w.tick()
    assert cell.data(SLA_ROLE) == "red"
    assert cell.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(OKABE_ITO["vermillion"])
    assert cell.data() == "■ over 15m"


def test_header_click_sorts_and_keeps_the_selection(qtbot: QtBot) -> None:
    w = _widget(qtbot, FixedClock())
    w.show()
    assert w.select_job(10)
    w.view.sortByColumn(COLUMNS.index("age"), Qt.SortOrder.AscendingOrder)
    assert [w.table_model.job_id_at(r) for r in range(3)] == [12, 11, 10]
    assert w.selected_job_id() == 10
    w.view.sortByColumn(COLUMNS.index("priority"), Qt.SortOrder.DescendingOrder)
    assert [w.table_model.job_id_at(r) for r in range(3)] == [12, 10, 11]
    assert w.selected_job_id() == 10


def test_search_and_filters_from_the_widgets(qtbot: QtBot) -> None:
    w = _widget(qtbot, FixedClock())
    w.show()
    w.select_job(10)
    qtbot.keyClicks(w.search, "main")
    assert w.table_model.rowCount() == 1 and w.table_model.job_id_at(0) == 10
    assert w.selected_job_id() == 10  # survives the filter
    w.search.clear()
    w.priority_filter.setCurrentIndex(w.priority_filter.findData(3))
    assert [w.table_model.job_id_at(r) for r in range(w.table_model.rowCount())] == [11, 10]
    w.priority_filter.setCurrentIndex(0)
    w.model.apply("job/10", job(10, status="done", issue_id=1, version=4))
    assert w.table_model.rowCount() == 2
    w.status_filter.setCurrentIndex(w.status_filter.findData("all"))
    assert w.table_model.rowCount() == 3


def test_new_jobs_flash_then_stop(qtbot: QtBot) -> None:
    clock = FixedClock()
    w = _widget(qtbot, clock)
    w.model.apply("job/20", job(20, priority=2))
    row = w.table_model.row_of(20)
    assert row is not None
    cell = w.table_model.index(row, 1)
    assert cell.data(Qt.ItemDataRole.BackgroundRole).color() == QColor(FLASH_COLOUR)
    w.tick()  # blink off
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is None
    w.tick()  # blink on
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is not None
    clock.advance(w.model.flash_s + 0.1)
    w.tick()
    w.tick()
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is None


def test_drag_data_is_the_real_job_mime_with_id_and_version(qtbot: QtBot) -> None:
    w = _widget(qtbot, FixedClock())
    w.model.apply("job/10", job(10, issue_id=1, due=T0 + 8 * H, version=7))
    m = w.table_model
    row = m.row_of(10)
    assert row is not None
    mime = m.mimeData([m.index(row, 2)])
    assert mime.formats()[0] == MIME_TYPE
    assert job_ref_from_mime(mime) == JobRef(10, 7, None)
    assert bool(m.flags(m.index(row, 0)) & Qt.ItemFlag.ItemIsDragEnabled)
    assert job_ref_from_mime(job_mime_data(JobRef(3, 2, 5))) == JobRef(3, 2, 5)
    plain = type(mime)()
    plain.setText("job 10")
    assert job_ref_from_mime(plain) is None


def test_selection_is_announced_and_settable(qtbot: QtBot) -> None:
    w = _widget(qtbot, FixedClock())
    w.show()
    with qtbot.waitSignal(w.job_selected) as sig:
        w.select_job(12)
    assert sig.args == [12]
    assert not w.select_job(99)
