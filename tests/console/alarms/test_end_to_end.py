"""Alarms and history end to end: real widgets, the real backend over real ZeroMQ.

Two operators see the same raised alarm. Ana acknowledges it with K: the
backend records her and bumps the version. Ben still holds the old version;
his K is refused as a conflict naming Ana. After a fresh snapshot both lists
show it acknowledged by Ana. The history panel fetches the asset's readings
through ``get_asset_history`` and charts them. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select

from backend.db.columnar import ReadingBatch
from backend.db.engine import make_sessionmaker
from backend.db.models import Alarm, Asset, User
from backend.protocol.client import CommandClient
from backend.service.readings import store_readings
from console.alarms.commands import AlarmController, CommandRunner
from console.alarms.model import AlarmListModel
from tests.console.dispatch.block_city import running_service
from widgets.alarm_list import AlarmListWidget
from widgets.asset_history import AssetHistoryWidget

NOW = datetime.now(UTC).replace(microsecond=0)


def _seed(engine: Engine) -> None:
    with make_sessionmaker(engine).begin() as s:
        s.add_all([User(name="ana", role="operator"), User(name="ben", role="operator")])
        pump = Asset(
            kind="pump",
            name="Pump Quay",
            source="test",
            source_id="p1",
            lon=24.94,
            lat=60.17,
            install_date=date(2015, 6, 1),
        )
        s.add(pump)
        s.flush()
        store_readings(
            s,
            ReadingBatch.from_lists(
                [pump.id] * 3,
                ["pressure"] * 3,
                [NOW - timedelta(minutes=10 * k) for k in range(3)],
                [4.0 - k for k in range(3)],
            ),
        )
        s.add(
            Alarm(
                asset_id=pump.id,
                metric="pressure",
                rule="limit",
                severity="critical",
                state="raised",
                message="pressure 2.0 bar below 2.5",
                group_key=f"asset/{pump.id}",
                raised_at=NOW - timedelta(minutes=5),
            )
        )


@pytest.fixture
def router_endpoint(engine: Engine) -> Iterator[str]:
    """A running backend service on a fresh, seeded database."""
    _seed(engine)
    with running_service(engine) as service:
        yield service.router_endpoint


class Console:
    """One operator's alarm list and history panel, sending over a real client."""

    def __init__(self, qtbot: QtBot, endpoint: str, user: str) -> None:
        self.client = CommandClient(endpoint, user=user, timeout_s=5.0)
        self.alarms = AlarmListModel()
        self.runner = CommandRunner(self.client.command)
        self.list = AlarmListWidget(
            self.alarms, AlarmController(self.runner, self.alarms), tick_ms=0, beep=lambda: None
        )
        self.history = AssetHistoryWidget(self.runner)
        self.messages: list[str] = []
        self.list.message.connect(self.messages.append)
        for w in (self.list, self.history):
            qtbot.addWidget(w)
            w.resize(800, 300)
            w.show()
        self.refresh()

    def refresh(self) -> None:
        """Load the current truth from the backend (what the live replica would hold)."""
        _seq, entities = self.client.snapshot()
        self.alarms.load(entities)


def test_ack_conflict_and_history_through_the_real_backend(
    qtbot: QtBot, engine: Engine, router_endpoint: str
) -> None:
    ana = Console(qtbot, router_endpoint, "ana")
    ben = Console(qtbot, router_endpoint, "ben")
    (alarm_id,) = ana.alarms.alarms
    assert ana.list.select_alarm(alarm_id) and ben.list.select_alarm(alarm_id)
    assert ana.alarms.row(alarm_id).asset_name == "Pump Quay"

    qtbot.keyClick(ana.list.view, Qt.Key.Key_K)
    assert ana.messages[-1] == f"Alarm {alarm_id} acknowledged (Pump Quay)"
    with make_sessionmaker(engine)() as s:
        stored = s.scalars(select(Alarm)).one()
        assert (stored.state, stored.acked_by, stored.version) == ("acknowledged", "ana", 2)

    qtbot.keyClick(ben.list.view, Qt.Key.Key_K)
    assert ben.messages[-1] == "Refused: it was changed by ana meanwhile; look again and retry."

    for console in (ana, ben):
        console.refresh()
        row = console.alarms.row(alarm_id)
        assert (row.state, row.acked_by, row.version) == ("acknowledged", "ana", 2)
        assert console.alarms.counts().critical_unacknowledged == 0

    asset_id = ana.alarms.row(alarm_id).asset_id
    assert asset_id is not None
    ana.history.show_asset(asset_id)
    assert ana.history.current_metric == "pressure"
    x, y = ana.history.curve.getData()
    assert y.tolist() == [2.0, 3.0, 4.0]
    assert x.tolist() == [(NOW - timedelta(minutes=m)).timestamp() for m in (20, 10, 0)]
    assert ana.history.event_rows()[0][0] == "+ Installed"
    for console in (ana, ben):
        console.client.close()
