"""The "Most at risk" list, the renewal view and the risk layer, against a real processor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.analytics.scoring import score_source
from backend.db.models import Asset, Event, Job
from backend.service.processor import CommandProcessor
from console.alarms.commands import CommandRunner
from layers.projection import LocalProjection
from layers.risk.model import RISK_BANDS, RiskLayerModel
from tests.backend.service.risk_seed import SCORED_AT, pipe_city, processor_send
from tests.backend.service.seed import seed_city
from widgets.map_canvas import MapCanvas
from widgets.renewal_view import RenewalViewWidget
from widgets.risk_list import RiskListWidget


@pytest.fixture
def city(sqlite_engine: Engine) -> Iterator[tuple[Engine, CommandRunner]]:
    """Users (seed city) and a scored network of mains and pumps, behind a real processor."""
    seed_city(sqlite_engine)
    pipe_city(sqlite_engine)
    score_source(sqlite_engine, "pipes", now=SCORED_AT)
    yield sqlite_engine, CommandRunner(processor_send(CommandProcessor(sqlite_engine)))


def _shown(qtbot: QtBot, widget: RiskListWidget | RenewalViewWidget) -> None:
    qtbot.addWidget(widget)
    widget.resize(900, 420)
    widget.show()
    qtbot.waitExposed(widget)


def test_list_ranks_filters_selects_and_inspects(
    qtbot: QtBot, city: tuple[Engine, CommandRunner], tmp_path: Path
) -> None:
    engine, runner = city
    w = RiskListWidget(runner)
    _shown(qtbot, w)
    outcome = w.refresh()
    assert outcome is not None and outcome.ok
    n = w.tree.topLevelItemCount()
    assert n == 120
    shown = [float(w.tree.topLevelItem(i).text(2).split()[1]) for i in range(n)]  # type: ignore[union-attr]
    assert shown == sorted(shown, reverse=True)
    first = w.tree.topLevelItem(0)
    assert first is not None and first.text(3)  # reasons in words
    w.kind_picker.setCurrentIndex(w.kind_picker.findData("pump"))
    assert w.tree.topLevelItemCount() == 30
    assert all("Pump" in w.tree.topLevelItem(i).text(1) for i in range(30))  # type: ignore[union-attr]
    w.grab().save(str(tmp_path / "risk_list.png"))

    second = w.tree.topLevelItem(1)
    assert second is not None
    asset_id = int(second.data(0, Qt.ItemDataRole.UserRole))
    with qtbot.waitSignal(w.asset_selected) as sig:
        w.tree.setCurrentItem(second)
    assert sig.args == [asset_id]
    w.tree.setFocus()
    qtbot.keyClick(w.tree, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    with Session(engine) as s:
        job = s.scalar(select(Job).where(Job.asset_id == asset_id))
        asset = s.get(Asset, asset_id)
        assert job is not None and asset is not None
        assert job.title.startswith(f"Inspect Pump {asset_id}") and "risk in 30 days" in job.title
        assert job.skills == ["mechanical", "water"] and (job.lon, job.lat) == (
            asset.lon,
            asset.lat,
        )
        assert s.scalar(select(Event.type).where(Event.topic == f"job/{job.id}")) == "job.created"
    assert "Inspection job created" in w.status.text()


def test_renewal_view_plans_within_the_budget(
    qtbot: QtBot, city: tuple[Engine, CommandRunner], tmp_path: Path
) -> None:
    _engine, runner = city
    w = RenewalViewWidget(runner)
    _shown(qtbot, w)
    w.budget.setValue(2.0)
    with qtbot.waitSignal(w._debounce.timeout, timeout=2000):
        pass
    assert w.plan is not None and w.plan.budget_m == 2000.0
    assert 0 < w.plan.length_m <= 2000.0
    assert w.tree.topLevelItemCount() == len(w.plan.pipes) > 0
    assert sum(p.length_m or 0 for p in w.plan.pipes) == pytest.approx(w.plan.length_m, abs=0.5)
    assert "would have avoided" in w.backtest.text() and "km budget" in w.summary.text()
    small = w.plan
    w.budget.setValue(6.0)
    w.request()
    assert w.plan.length_m > small.length_m
    w.grab().save(str(tmp_path / "renewal.png"))


def test_risk_layer_draws_bands_on_the_map(
    qtbot: QtBot, city: tuple[Engine, CommandRunner]
) -> None:
    _engine, runner = city
    reply = runner.run("risk", 0, "get_risk", {"limit": 5000}, "ok")
    assert reply is not None and reply.ok
    assets = reply.result["assets"]
    model = RiskLayerModel(LocalProjection(10.06, 53.0))
    model.replace_all(RiskLayerModel.records_from_reply(assets))
    canvas = MapCanvas(model.projection, tick_interval_ms=0)
    qtbot.addWidget(canvas)
    canvas.add_layer(model)
    canvas.resize(800, 400)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.home()
    image = canvas.grab_image()
    pixels = {
        QColor(image.pixel(x, y)).name()
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
    }
    bands = {model.vocab["band"].names[c] for c in np.unique(model.table.rows["band_code"])}
    drawn = {b.key for b in RISK_BANDS if b.colour in pixels}
    assert drawn and drawn <= bands
    # Selecting a risky asset on the map highlights it on this layer.
    top = model.riskiest(1)[0]
    canvas.select("risk", [top])
    assert canvas.selection == ("risk", [top])
