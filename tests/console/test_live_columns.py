"""Columnar batches reach the map and the panels, one replica read per frame.

A real :class:`Replica` holds a small city; the backend's high-rate feeds
arrive as it sends them: a ``reading_columns`` batch on ``asset/*`` and a
``patch_columns`` batch of crew positions on ``crew/*``. Their values live in
the replica's arrays, not in ``replica.entities``, so a consumer reading the
maps would miss them. Delivered through the real :class:`LiveBridge` (from
another thread, coalesced per frame) to a :class:`FrameFeed`, they must reach
the layer models, the drawn map, the inspector, the asset history and the
crew board, with one ``get_many`` per frame and no ``get``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from pytestqt.qtbot import QtBot

from backend.protocol.columns import encode_columns, from_wire_times
from backend.protocol.state import batch_topic
from console.dispatch.crew_board import CrewBoardModel
from console.frames import FrameFeed
from console.live.client import LiveClient
from console.live.qt_adapter import LiveBridge
from console.live.replica import Replica
from console.map_sync import LiveLayerSync
from layers.assets.model import AssetLayerModel
from layers.base import LayerModel
from layers.crews.model import CrewLayerModel
from layers.projection import LocalProjection
from tests.console.dispatch.wire import T0, FixedClock, crew, job, topics, wt
from widgets.asset_history import AssetHistoryWidget
from widgets.crew_board import COLUMNS, CrewBoardWidget
from widgets.inspector import InspectorWidget
from widgets.map_canvas import MapCanvas

LON0, LAT0 = 24.94, 60.17
#: When the batches were measured: a minute after the snapshot's readings.
T1 = T0 + timedelta(minutes=1)


def micros(when: Any) -> int:
    return int(from_wire_times([wt(when)])[0])


def asset(asset_id: int, pressure: float) -> dict[str, Any]:
    """A pump as the snapshot sends it, with its newest reading."""
    return {
        "id": asset_id,
        "kind": "pump",
        "name": f"Pump {asset_id}",
        "status": "ok",
        "lon": LON0 + 0.002 * asset_id,
        "lat": LAT0,
        "latest": {"pressure": [wt(T0), pressure]},
    }


class CountingReplica(Replica):
    """The real replica, counting how the consumers read it."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.reads: list[int] = []  # topics asked per get_many

    def get(self, topic: str) -> dict[str, Any] | None:
        self.gets += 1
        return super().get(topic)

    def get_many(self, topics: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        wanted = list(topics)
        self.reads.append(len(wanted))
        return super().get_many(wanted)


class BoardPanel:
    """The crew board as the dispatch panels feed it (crews and jobs only)."""

    kinds = ("crew", "job")

    def __init__(self, board: CrewBoardModel) -> None:
        self.board = board
        self.frames = 0

    def load(self, entities: dict[str, dict[str, Any]]) -> None:
        self.board.load(entities)

    def apply(self, items: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        self.frames += 1
        self.board.apply_many(items)


class HistoryPanel:
    """The asset history as the monitor panels feed it."""

    kinds = ("alarm", "asset", "crew", "job")

    def __init__(self, widget: AssetHistoryWidget) -> None:
        self.widget = widget

    def load(self, entities: dict[str, dict[str, Any]]) -> None:
        pass

    def apply(self, items: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        self.widget.apply_many(list(items))


@dataclass
class Console:
    """The live parts of a console around one replica."""

    replica: CountingReplica
    client: LiveClient
    bridge: LiveBridge
    feed: FrameFeed
    layers: dict[str, LayerModel]
    canvas: MapCanvas
    inspector: InspectorWidget
    board: BoardPanel
    board_widget: CrewBoardWidget
    history: AssetHistoryWidget
    qtbot: QtBot

    def send(self, *events: tuple[str, dict[str, Any]]) -> frozenset[str]:
        """Apply events as the client's I/O thread does and wait for the frame's delivery."""
        seq = self.replica.seq
        batch = [{"seq": seq + i, "topic": t, "body": b} for i, (t, b) in enumerate(events, 1)]
        result = self.replica.apply(batch)
        assert result.gap is None and result.dropped == 0
        frames = self.bridge.deliveries
        callback = self.client.on_changes
        assert callback is not None
        worker = threading.Thread(target=callback, args=(result.changed, self.replica.seq))
        worker.start()
        worker.join()
        self.qtbot.waitUntil(lambda: self.bridge.deliveries > frames, timeout=5000)
        return result.changed

    def pixel(self, lon: float, lat: float) -> QtGui.QColor:
        x, y = self.canvas.projection.forward(lon, lat)
        point = QtCore.QPointF(float(np.asarray(x)), float(np.asarray(y)))
        img = self.canvas.grab_image()
        p = self.canvas.graphics.mapFromScene(self.canvas.view.mapViewToScene(point))
        p = self.canvas.graphics.mapTo(self.canvas, p)
        dpr = img.devicePixelRatio()
        return img.pixelColor(int(p.x() * dpr), int(p.y() * dpr))


@pytest.fixture
def console(qtbot: QtBot) -> Iterator[Console]:
    clock = FixedClock(T1 + timedelta(seconds=5))
    city = topics(
        *[("asset", asset(i, 4.0 + i / 10)) for i in range(1, 5)],
        ("crew", crew(1, name="Alpha", lon=LON0, lat=LAT0 + 0.001, seen=T0)),
        ("crew", crew(2, name="Bravo", lon=LON0 + 0.004, lat=LAT0 + 0.001, seen=T0)),
        ("job", job(7, status="en_route", crew_id=1, title="Pump 2 low pressure")),
    )
    replica = CountingReplica()
    replica.load_snapshot(10, city.items())
    projection = LocalProjection(LON0 + 0.005, LAT0)
    layers: dict[str, LayerModel] = {
        "assets": AssetLayerModel(projection),
        "crews": CrewLayerModel(projection, clock=clock),
    }
    canvas = MapCanvas(projection, tick_interval_ms=0)
    qtbot.addWidget(canvas)
    for model in layers.values():
        canvas.add_layer(model)
    sync = LiveLayerSync(replica, layers)
    _, entities = replica.copy()
    sync.load_all(entities)
    feed = FrameFeed(replica, sync)
    inspector = InspectorWidget()
    qtbot.addWidget(inspector)
    inspector.bind(canvas)
    board = BoardPanel(CrewBoardModel(clock))
    board_widget = CrewBoardWidget(board.board, tick_ms=0)
    qtbot.addWidget(board_widget)
    history = AssetHistoryWidget(clock=clock)
    qtbot.addWidget(history)
    feed.add(board, entities)
    feed.add(HistoryPanel(history), entities)
    client = LiveClient("tcp://127.0.0.1:1")  # never started: the test plays its I/O thread
    bridge = LiveBridge(client, frame_ms=10)
    bridge.changed.connect(lambda changed, _seq: feed.deliver(changed))
    canvas.resize(800, 600)
    canvas.show()
    board_widget.show()
    qtbot.waitExposed(canvas)
    x0, y0 = projection.forward(LON0 - 0.001, LAT0 - 0.002)
    x1, y1 = projection.forward(LON0 + 0.011, LAT0 + 0.004)
    canvas.zoom_to((float(x0), float(y0), float(x1), float(y1)))
    canvas.render_now()
    replica.gets, replica.reads = 0, []
    yield Console(
        replica,
        client,
        bridge,
        feed,
        layers,
        canvas,
        inspector,
        board,
        board_widget,
        history,
        qtbot,
    )
    client.stop()


def reading_body(ids: list[int], metrics: list[str], which: list[int], values: list[float]) -> Any:
    """A ``reading_columns`` event body, as ``ingest_readings`` emits it."""
    return {
        "reading_columns": {
            "metrics": metrics,
            **encode_columns(
                {
                    "id": ("i8", np.array(ids)),
                    "metric": ("u2", np.array(which)),
                    "ts": ("ts", np.full(len(ids), micros(T1))),
                    "value": ("f8", np.array(values)),
                }
            ),
        }
    }


def positions_body(ids: list[int], lons: list[float], lats: list[float], seen: Any) -> Any:
    """A ``patch_columns`` event body, as ``update_crew_positions`` emits it."""
    n = len(ids)
    return {
        "patch_columns": encode_columns(
            {
                "id": ("i8", np.array(ids)),
                "last_lon": ("f8", np.array(lons)),
                "last_lat": ("f8", np.array(lats)),
                "last_heading": ("f8", np.full(n, 180.0)),
                "last_seen_at": ("ts", np.full(n, micros(seen))),
            }
        )
    }


def test_a_reading_batch_reaches_the_layers_the_inspector_and_the_history(
    console: Console,
) -> None:
    assets = console.layers["assets"]
    console.canvas.select("assets", [1])
    assert "pressure: " in console.inspector.field_rows()["latest"]
    console.history.set_history({"asset": asset(2, 4.2), "readings": []})
    assert list(console.history.model.series("pressure").y) == [4.2]
    status_before = console.pixel(LON0 + 0.006, LAT0)

    # One frame: a columnar reading batch, an alarm's status patch and a removal.
    changed = console.send(
        (
            batch_topic("asset"),
            reading_body([1, 2, 2, 4], ["pressure", "flow"], [0, 0, 1, 0], [5.5, 6.25, 40.0, 3.0]),
        ),
        ("asset/3", {"patch": {"status": "alarm"}}),
        ("asset/4", {"deleted": True}),
    )

    assert changed == {"asset/1", "asset/2", "asset/3", "asset/4"}
    # The readings live in the replica's arrays, not in its maps: only get_many finds them.
    assert console.replica.entities["asset/1"].get("latest", {}).get("pressure") != [wt(T1), 5.5]
    assert assets.record(1)["latest"]["pressure"] == [wt(T1), 5.5]
    assert assets.record(2)["latest"] == {"pressure": [wt(T1), 6.25], "flow": [wt(T1), 40.0]}
    assert console.replica.reads == [4] and console.replica.gets == 0
    assert 4 not in assets.records and len(assets) == 3
    code = assets.table.rows["status_code"][assets.table.row(3)]
    assert assets.vocab["status"].names[code] == "alarm"
    # The inspector follows the selected asset live; the history adds the new points.
    assert console.inspector.field_rows()["latest"] == f"pressure: {wt(T1)}, 5.5"
    assert list(console.history.model.series("pressure").y) == [4.2, 6.25]
    assert "pressure 6.25 bar" in console.history.details.text()
    # The alarm's status colour is drawn.
    console.qtbot.waitUntil(
        lambda: console.pixel(LON0 + 0.006, LAT0) != status_before, timeout=5000
    )
    # The crew board follows crews and jobs only: an asset frame does not reach it.
    assert console.board.frames == 0


def test_a_crew_position_batch_moves_the_crews_on_the_map_and_the_board(
    console: Console,
) -> None:
    crews = console.layers["crews"]
    rows = crews.table.rows
    trail_before = int(rows["trail_n"][crews.table.row(1)])
    new_lon, new_lat = LON0 + 0.008, LAT0 + 0.003  # an empty spot
    before = console.pixel(new_lon, new_lat)
    console.canvas.select("crews", [1])
    seen_before = console.board.board.position_age_s(1)

    changed = console.send(
        (batch_topic("crew"), positions_body([1, 2], [new_lon, LON0 + 0.005], [new_lat, LAT0], T1))
    )

    assert changed == {"crew/1", "crew/2"}
    assert console.replica.entities["crew/1"]["last_lon"] == LON0  # the maps are not moved
    record = crews.record(1)
    assert (record["last_lon"], record["last_lat"]) == (new_lon, new_lat)
    assert console.replica.reads == [2] and console.replica.gets == 0
    assert record["last_seen_at"] == wt(T1) and record["last_heading"] == 180.0
    x, y = console.canvas.projection.forward(new_lon, new_lat)
    row = crews.table.row(1)
    assert rows["x"][row] == pytest.approx(float(np.asarray(x)))
    assert rows["y"][row] == pytest.approx(float(np.asarray(y)))
    assert int(rows["trail_n"][row]) == trail_before + 1
    assert not rows["stale"][row]  # seen 5 s ago by the layer's clock
    console.qtbot.waitUntil(lambda: console.pixel(new_lon, new_lat) != before, timeout=5000)
    assert console.inspector.field_rows()["last_lon"] == f"{new_lon:.6f}".rstrip("0")
    # The board: the crew was heard from a minute later than before, with its job row kept.
    assert console.board.frames == 1
    assert console.board.board.position_age_s(1) == pytest.approx(5.0)
    assert seen_before is not None and seen_before > 60
    tree = console.board_widget.tree_model
    index = tree.crew_index(1).siblingAtColumn(COLUMNS.index("seen"))
    assert index.data() == "5s ago"
    assert tree.rowCount(tree.crew_index(1)) == 1


def test_a_frame_reads_the_replica_once_whatever_it_holds(console: Console) -> None:
    """Many events in one frame (readings, positions, a job) are still one read."""
    reads_before = len(console.replica.reads)
    client = console.client
    callback = client.on_changes
    assert callback is not None
    frames = console.bridge.deliveries
    seq = console.replica.seq
    events = [
        (batch_topic("asset"), reading_body([1, 2, 3], ["pressure"], [0, 0, 0], [1.0, 2.0, 3.0])),
        (batch_topic("crew"), positions_body([1, 2], [LON0, LON0], [LAT0, LAT0], T1)),
        ("job/7", {"patch": {"status": "on_site"}}),
    ]

    def io_thread() -> None:  # three deltas, one at a time, as they come off the wire
        for i, (topic, body) in enumerate(events, 1):
            result = console.replica.apply([{"seq": seq + i, "topic": topic, "body": body}])
            callback(result.changed, console.replica.seq)

    worker = threading.Thread(target=io_thread)
    worker.start()
    worker.join()
    console.qtbot.waitUntil(lambda: console.bridge.deliveries > frames, timeout=5000)
    console.qtbot.wait(50)

    assert console.bridge.deliveries == frames + 1
    assert console.replica.reads[reads_before:] == [6] and console.replica.gets == 0
    assert console.board.board.jobs[7]["status"] == "on_site"
    assert console.layers["assets"].record(3)["latest"]["pressure"] == [wt(T1), 3.0]
