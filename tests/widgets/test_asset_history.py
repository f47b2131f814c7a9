"""The asset history panel: chart points per metric, limit lines, alarm markers, events, jobs."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from backend.protocol.client import CommandFailed
from console.alarms.commands import CommandRunner
from tests.console.alarms.test_history import pump_history
from tests.console.alarms.wire import T0, FixedClock
from widgets.asset_history import AssetHistoryWidget

H = timedelta(hours=1)


class Backend:
    """A ``send_command`` answering ``get_asset_history`` from a canned result (else echoing)."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, dict(args)))
        if name == "get_asset_history":
            return {"result": self.result}
        return {"result": {"job_id": 99, "version": 1}}


def _widget(qtbot: QtBot, send: Any = None) -> tuple[AssetHistoryWidget, Backend]:
    backend = send or Backend(pump_history())
    w = AssetHistoryWidget(CommandRunner(backend), clock=FixedClock(T0))
    qtbot.addWidget(w)
    w.resize(1100, 450)
    w.show()
    qtbot.waitExposed(w)
    return w, backend


def _limit_values(w: AssetHistoryWidget) -> list[float]:
    return sorted(float(line.value()) for line in w.limit_lines)


def test_show_asset_fetches_history_and_draws_each_metric(qtbot: QtBot) -> None:
    w, backend = _widget(qtbot)
    with qtbot.waitSignal(w.asset_changed) as sig:
        w.show_asset(1)
    assert backend.calls == [("get_asset_history", {"asset_id": 1, "limit": 5000})]
    assert sig.args == [1]
    assert w.current_metric == "pressure"
    x, y = w.curve.getData()
    assert x.tolist() == [(T0 - k * H).timestamp() for k in (2, 1, 0)]
    assert np.allclose(y, [3.8, 3.9, 4.0])
    assert _limit_values(w) == [2.5, 3.2, 6.5]
    assert w.select_metric("vibration")
    x, y = w.curve.getData()
    assert y.tolist() == [5.0, 4.0, 3.0, 2.0]
    assert _limit_values(w) == [4.5, 7.1]
    assert [line.label.toPlainText() for line in w.limit_lines] == [
        "alarm high 7.1",
        "warn high 4.5",
    ]
    assert not w.select_metric("nonsense")
    assert isinstance(w.plot.getPlotItem().getAxis("bottom"), pg.DateAxisItem)
    assert w.metric_picker.itemText(w.metric_picker.currentIndex()) == "vibration (mm/s) · 4"


def test_alarm_markers_at_raise_time_on_the_curve(qtbot: QtBot) -> None:
    w, _ = _widget(qtbot)
    w.show_asset(1)
    w.select_metric("vibration")
    raised = (T0 - 90 * timedelta(minutes=1)).timestamp()
    # 90 min ago lies between 2 h ago (4.0) and 1 h ago (3.0): the marker sits on the line.
    assert w.marker_points() == [(raised, 3.5, 5)]
    w.select_metric("pressure")
    assert [p[2] for p in w.marker_points()] == [6]
    w.select_metric("flow")
    assert w.marker_points() == []
    x, _ = w.curve.getData()
    assert x is None or len(x) == 0


def test_events_listed_in_time_order(qtbot: QtBot) -> None:
    w, _ = _widget(qtbot)
    w.set_history(pump_history())
    rows = w.event_rows()
    assert [what.split(":")[0] for what, _ in rows] == [
        "+ Installed",
        "✖ Failure",
        "⚒ Job #17",
        "✔ Repair",
        "☎ Citizen report",
        "▲ Major alarm",
        "■ Critical alarm",
    ]
    assert rows[3][1] == "Seal · by W4 Pumps · job #17"
    # Activating an event centres the chart on it.
    item = w.events.topLevelItem(2)
    assert item is not None
    w.events.itemActivated.emit(item, 0)
    (x0, x1), _ = w.plot.getPlotItem().getViewBox().viewRange()
    assert abs((x0 + x1) / 2 - (T0 - 31 * 24 * H + H).timestamp()) < 60


def test_create_job_sends_the_dialog_values(qtbot: QtBot) -> None:
    w, backend = _widget(qtbot)
    messages: list[str] = []
    w.message.connect(messages.append)
    w.show_asset(1)
    assert w.create_job_button.isEnabled()
    dialog = w.open_create_job_dialog(exec_dialog=False)
    assert dialog is not None
    assert dialog.title.text() == "Pump A: pressure critical on asset 1"
    assert dialog.priority.value() == 1
    assert dialog.skills.text() == "water, mechanical"
    dialog.title.setText("Replace pressure sensor")
    dialog.priority.setValue(2)
    dialog.skills.setText("water, electrical")
    dialog.due.setCurrentIndex(dialog.due.findData(24.0))
    w.submit_job_dialog(dialog)
    assert backend.calls[-1] == (
        "create_job",
        {
            "asset_id": 1,
            "title": "Replace pressure sensor",
            "priority": 2,
            "skills": ["water", "electrical"],
            "due_at": T0 + 24 * H,
        },
    )
    assert messages[-1] == "Job created for Pump A: Replace pressure sensor"
    dialog.due.setCurrentIndex(0)
    w.submit_job_dialog(dialog)
    assert "due_at" not in backend.calls[-1][1]
    n = len(backend.calls)
    w.create_job("   ", 3, [])
    assert len(backend.calls) == n and messages[-1] == "Job not created: a job needs a title"


def test_search_box_finds_by_id_or_name_and_opens_the_asset(qtbot: QtBot) -> None:
    w, backend = _widget(qtbot)
    w.set_assets([(1, "Pump A", "pump"), (2, "Pump B", "pump"), (12, "Light 12", "street_light")])
    qtbot.keyClicks(w.search, "pump b")
    assert [e.id for e in w.search.matches] == [2]
    assert w.search.list_model.stringList() == ["Pump B · pump · #2"]
    w.search.clear()
    qtbot.keyClicks(w.search, "#1")
    with qtbot.waitSignal(w.search.asset_chosen) as sig:
        qtbot.keyClick(w.search, Qt.Key.Key_Return)
    assert sig.args == [1]
    assert backend.calls[-1][1]["asset_id"] == 1


def test_a_slow_answer_for_an_older_pick_is_ignored_and_failures_show(qtbot: QtBot) -> None:
    futures: list[Future[Any]] = []

    def send(name: str, args: dict[str, Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        futures.append(fut)
        return fut

    w, _ = _widget(qtbot, send)
    w.show_asset(1)
    w.show_asset(2)
    futures[0].set_result({"result": pump_history()})
    qtbot.wait(1)
    assert w.model.asset is None  # asset 1's answer came after asset 2 was picked
    futures[1].set_exception(CommandFailed("not_found", "asset 2 does not exist"))
    qtbot.wait(1)
    assert w.title.text() == "Asset 2: Refused (not_found): asset 2 does not exist"


def test_live_readings_extend_the_chart(qtbot: QtBot) -> None:
    w, _ = _widget(qtbot)
    w.show_asset(1)
    w.select_metric("vibration")
    state = dict(pump_history()["asset"])  # type: ignore[call-overload]
    state["latest"] = {"vibration": ["2026-03-01T09:00:00.000000Z", 6.5]}
    w.apply_many([("asset/1", state)])
    _, y = w.curve.getData()
    assert y.tolist()[-1] == 6.5
    assert "vibration 6.5 mm/s" in w.details.text()
