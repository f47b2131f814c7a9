"""The test helper's port choice: outside the ephemeral range, and a taken port is survived."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import Engine

from tests.backend.service.helpers import Backend, free_port_pair


def test_ports_are_picked_below_the_ephemeral_range() -> None:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except OSError:
        low = 32768
    for _ in range(20):
        port = free_port_pair()
        assert port + 1 < low


def test_a_backend_whose_port_is_taken_starts_on_other_ports(sqlite_engine: Engine) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1] - 1  # the ROUTER port (P+1) is the one held
        backend = Backend(url)
        backend._use(taken)  # as if someone took it between the pick and the bind
        backend.start()
        try:
            assert backend.port != taken
            with backend.client() as client:
                assert client.request("ping").type == "pong"
        finally:
            backend.stop()
