"""Columns fitted to their contents once per event-loop turn, however many rows changed."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from console.dispatch.crew_board import CrewBoardModel
from console.dispatch.job_queue import JobQueueModel
from tests.console.dispatch.wire import FixedClock, crew, job, topics
from widgets.crew_board import COLUMNS, CrewBoardWidget
from widgets.job_queue import TIME_COLUMNS, JobQueueWidget


def _board(qtbot: QtBot) -> tuple[CrewBoardModel, CrewBoardWidget, dict]:
    city = topics(
        *[("crew", crew(i, name=f"C{i}")) for i in range(1, 15)],
        *[("job", job(100 + i, status="assigned", crew_id=1 + i % 8)) for i in range(16)],
    )
    model = CrewBoardModel(FixedClock())
    model.load(city)
    widget = CrewBoardWidget(model, tick_ms=0)
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)
    return model, widget, city


def test_a_batch_naming_every_crew_is_one_fit_and_the_columns_follow(qtbot: QtBot) -> None:
    model, widget, city = _board(qtbot)
    fitter, view = widget.fitter, widget.view
    column = COLUMNS.index("crew")
    narrow = view.columnWidth(column)
    fits = fitter.fits

    renamed = {**city["crew/3"], "name": "A crew with a much longer name than the others"}
    model.apply_many(
        [(t, renamed if t == "crew/3" else s) for t, s in city.items() if t.startswith("crew/")]
    )
    assert fitter.fits == fits  # nothing measured while the rows are announced
    qtbot.waitUntil(lambda: fitter.fits == fits + 1, timeout=2000)
    qtbot.wait(20)

    assert fitter.fits == fits + 1
    assert view.columnWidth(column) > narrow
    assert view.columnWidth(column) >= view.sizeHintForColumn(column)


def test_the_job_queue_clock_tick_fits_only_the_time_columns(qtbot: QtBot) -> None:
    model = JobQueueModel(FixedClock())
    model.load(topics(*[("job", job(i, title=f"Job {i}")) for i in range(1, 30)]))
    widget = JobQueueWidget(model, tick_ms=0)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)
    resized: list[int] = []
    resize = widget.view.resizeColumnToContents

    def spy(column: int) -> None:
        resized.append(column)
        resize(column)

    widget.view.resizeColumnToContents = spy  # type: ignore[method-assign]

    widget.tick()
    qtbot.waitUntil(lambda: bool(resized), timeout=2000)

    assert sorted(resized) == sorted(TIME_COLUMNS)
