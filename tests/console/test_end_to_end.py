"""The console against a real backend process: a committed change reaches the map.

The backend runs as ``main.py backend`` on the test database; the console is
the real :func:`console.app.open_session` (live client, replica, layer models,
map canvas, panels). A command moves a crew; the crews layer's model and the
drawn picture must follow, and nothing else may change. Columnar feeds
(readings and positions sent as columns, announced as columnar batch events)
reach the layers, the inspector, the asset history and the crew board.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from backend.protocol.columns import micros_now, positions_columns, readings_columns
from console.app import ConsoleSession, open_session
from tests.backend.service.helpers import Backend, running_backend
from tests.backend.service.seed import seed_city


@pytest.fixture
def backend(engine: Engine, db_url: str) -> Iterator[Backend]:
    seed_city(engine, jobs=4, crews=3, assets=5)
    with running_backend(db_url) as b:
        yield b


@pytest.fixture
def session(qtbot: QtBot, backend: Backend) -> Iterator[ConsoleSession]:
    s = open_session(backend.pub, "dana", settings_key=None)
    s.window.resize(1000, 700)
    s.window.show()
    qtbot.waitExposed(s.window)
    yield s
    s.close()


def _pixel(session: ConsoleSession, x: float, y: float) -> QtGui.QColor:
    canvas = session.canvas
    img = canvas.grab_image()
    p = canvas.graphics.mapFromScene(canvas.view.mapViewToScene(QtCore.QPointF(x, y)))
    p = canvas.graphics.mapTo(canvas, p)
    dpr = img.devicePixelRatio()
    return img.pixelColor(int(p.x() * dpr), int(p.y() * dpr))


def test_console_shows_the_city_and_who_is_signed_in(session: ConsoleSession) -> None:
    assert len(session.layers["assets"]) == 5
    assert len(session.layers["crews"]) == 3
    assert session.window.status.user_label.text() == "dispatcher: dana"
    assert session.window.status.seq_label.text() == f"seq {session.client.replica.seq}"
    assert {"layers", "inspector", "alarms", "history"} <= set(session.window.docks)


def test_a_committed_change_moves_the_crew_on_the_map(
    qtbot: QtBot, session: ConsoleSession, backend: Backend
) -> None:
    crews = session.layers["crews"]
    qtbot.waitUntil(lambda: session.window.status.link_state == "live", timeout=15000)
    crew_id = int(crews.ids[0])
    others_before = {int(i): crews.record(int(i)).copy() for i in crews.ids if i != crew_id}
    asset = session.layers["assets"].record(int(session.layers["assets"].ids[0]))
    lon, lat = float(asset["lon"]) + 0.004, float(asset["lat"]) + 0.002  # an empty spot
    px, py = session.canvas.projection.forward(lon, lat)
    x, y = float(np.asarray(px)), float(np.asarray(py))
    session.canvas.zoom_to((x - 300, y - 300, x + 300, y + 300))
    before = _pixel(session, x, y)
    frames = session.bridge.deliveries

    with backend.client(user="dana") as client:
        client.command(
            "update_crew_positions", {"positions": [{"crew_id": crew_id, "lon": lon, "lat": lat}]}
        )

    qtbot.waitUntil(lambda: crews.record(crew_id)["last_lon"] == pytest.approx(lon), timeout=10000)
    assert session.bridge.deliveries > frames
    # Only the named crew changed.
    for cid, record in others_before.items():
        assert crews.record(cid) == record
    qtbot.waitUntil(lambda: _pixel(session, x, y) != before, timeout=5000)


def test_the_map_stays_when_the_backend_goes(
    qtbot: QtBot, session: ConsoleSession, backend: Backend
) -> None:
    qtbot.waitUntil(lambda: session.window.status.link_state == "live", timeout=15000)
    count = len(session.layers["assets"])
    backend.kill9()
    qtbot.waitUntil(
        lambda: session.window.status.link_state in ("stale", "reconnecting"), timeout=20000
    )
    assert len(session.layers["assets"]) == count  # the last picture stays
    assert "STALE" in session.window.status.link_label.text() or "RECONNECTING" in (
        session.window.status.link_label.text()
    )


def test_columnar_feeds_reach_the_map_and_the_panels(
    qtbot: QtBot, session: ConsoleSession, backend: Backend
) -> None:
    assets, crews = session.layers["assets"], session.layers["crews"]
    qtbot.waitUntil(lambda: session.window.status.link_state == "live", timeout=15000)
    asset_id, crew_id = int(assets.ids[0]), int(crews.ids[0])
    history = session.monitor.history
    session.canvas.select("assets", [asset_id])  # the inspector and the asset history follow it
    qtbot.waitUntil(lambda: history.model.asset_id == asset_id, timeout=10000)
    home = assets.record(asset_id)
    lon, lat = float(home["lon"]) + 0.003, float(home["lat"]) - 0.001
    now = micros_now()

    with backend.client(user="dana") as client:
        client.command(
            "ingest_readings",
            {
                "columns": readings_columns(
                    np.array([asset_id, asset_id]),
                    ["pressure", "flow"],
                    np.array([0, 1]),
                    np.full(2, now),
                    np.array([5.5, 40.0]),
                )
            },
        )
        client.command(
            "update_crew_positions",
            {
                "columns": positions_columns(
                    np.array([crew_id]),
                    np.array([now]),
                    np.array([lon]),
                    np.array([lat]),
                    heading=np.array([90.0]),
                )
            },
        )

    def latest(name: str) -> object:
        return (assets.record(asset_id).get("latest") or {}).get(name, [None, None])[1]

    qtbot.waitUntil(lambda: latest("pressure") == 5.5 and latest("flow") == 40.0, timeout=10000)
    qtbot.waitUntil(lambda: crews.record(crew_id)["last_lon"] == pytest.approx(lon), timeout=10000)
    assert crews.record(crew_id)["last_lat"] == pytest.approx(lat)
    row = crews.table.row(crew_id)
    x, y = session.canvas.projection.forward(lon, lat)
    assert crews.table.rows["x"][row] == pytest.approx(float(np.asarray(x)))
    assert crews.table.rows["y"][row] == pytest.approx(float(np.asarray(y)))
    # The panels: inspector, asset history, crew board (dispatch panels follow the frame feed).
    assert "pressure: " in session.inspector.field_rows()["latest"]
    assert ", 5.5" in session.inspector.field_rows()["latest"]
    qtbot.waitUntil(lambda: "pressure 5.5 bar" in history.details.text(), timeout=10000)
    dispatch = session.extensions[0]
    assert dispatch.crews.crews[crew_id]["last_lon"] == pytest.approx(lon)
    assert dispatch.crews.position_age_s(crew_id) < 60
