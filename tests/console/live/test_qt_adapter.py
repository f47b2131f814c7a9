"""The Qt adapter: changes reach the GUI thread, a burst coalesced into few deliveries."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from console.live import LinkState, LiveClient
from console.live.client import LinkHealth
from console.live.qt_adapter import LiveBridge
from tests.backend.service.helpers import running_backend
from tests.backend.service.seed import seed_city


def test_burst_from_another_thread_is_one_delivery_on_the_gui_thread(qtbot: QtBot) -> None:
    client = LiveClient("tcp://127.0.0.1:1")  # never started: the test plays the I/O thread
    bridge = LiveBridge(client, frame_ms=30)
    received: list[tuple[frozenset[str], int, bool]] = []
    healths: list[LinkHealth] = []
    gui = QThread.currentThread()
    bridge.changed.connect(lambda t, s: received.append((t, s, QThread.currentThread() is gui)))
    bridge.health_changed.connect(healths.append)

    def io_thread() -> None:
        assert client.on_changes is not None and client.on_health is not None
        for seq in range(1, 1001):
            client.on_changes(frozenset({f"crew/{seq % 7}"}), seq)
        client.on_health(LinkHealth(LinkState.LIVE, 0.0, 1000))

    worker = threading.Thread(target=io_thread)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(received), timeout=5000)
    qtbot.wait(100)
    assert len(received) == 1  # a thousand deltas, one redraw
    topics, seq, on_gui = received[0]
    assert topics == {f"crew/{i}" for i in range(7)} and seq == 1000 and on_gui
    assert healths[-1].state is LinkState.LIVE
    client.stop()


def test_bridge_with_the_real_backend(qtbot: QtBot, sqlite_engine: Engine) -> None:
    seed_city(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with running_backend(url) as backend:
        client = LiveClient(backend.pub, user="dana")
        bridge = LiveBridge(client)
        states: list[LinkState] = []
        changed: list[frozenset[str]] = []
        bridge.health_changed.connect(lambda h: states.append(h.state))
        bridge.changed.connect(lambda t, s: changed.append(t))
        client.start()
        try:
            qtbot.waitUntil(lambda: LinkState.LIVE in states, timeout=30_000)
            client.command("assign_job", {"job_id": 1, "crew_id": 1, "version": 1}).result(20)
            qtbot.waitUntil(lambda: any("job/1" in t for t in changed), timeout=20_000)
        finally:
            client.stop()


def test_changes_already_in_a_copy_are_not_delivered_again(qtbot: QtBot) -> None:
    client = LiveClient("tcp://127.0.0.1:1")  # never started: the test plays the I/O thread
    bridge = LiveBridge(client, frame_ms=10)
    received: list[tuple[frozenset[str], int]] = []
    bridge.changed.connect(lambda t, s: received.append((t, s)))
    assert client.on_changes is not None
    # The first snapshot (seq 40) changes every topic; the console copies the replica at 40.
    client.on_changes(frozenset({"asset/1", "asset/2", "crew/1"}), 40)
    assert bridge.discard_through(40)
    qtbot.wait(60)
    assert received == []
    # A delta after the copy: kept, and with it whatever came before (a superset is safe).
    client.on_changes(frozenset({"asset/1"}), 40)
    client.on_changes(frozenset({"crew/1"}), 41)
    assert not bridge.discard_through(40)
    qtbot.waitUntil(lambda: bool(received), timeout=5000)
    assert received == [(frozenset({"asset/1", "crew/1"}), 41)]
    client.stop()
