"""Serving the gateway: waitress (a production WSGI server, pure Python) around the app.

Waitress parses HTTP defensively (header and body limits, slow clients on
its own I/O loop) and runs the app on a small thread pool; each pool thread
has its own bus socket (:class:`~backend.open311.bus.BusGateway`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from waitress.server import create_server

from backend.open311.app import MAX_BODY, Open311App
from backend.open311.bus import BusGateway
from backend.open311.services import ServiceCatalogue, load_services

#: HTTP worker threads (each holds one DEALER to the backend).
THREADS = 4


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` → ``(host, port)``; ValueError with the reason otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8311")
    return host.strip("[]"), int(port)


def build_app(
    router_endpoint: str,
    user: str,
    api_keys: list[str] | None = None,
    services_file: Path | None = None,
) -> Open311App:
    """The application wired to the backend's ROUTER endpoint."""
    bus = BusGateway(router_endpoint, user)
    catalogue = ServiceCatalogue(
        load_services(services_file), lambda: bus.result("list_services", {})["services"]
    )
    return Open311App(bus, catalogue, api_keys or [])


class GatewayServer:
    """The HTTP server on ``host:port`` (0: any free port), run on a thread or in the foreground."""

    def __init__(self, app: Open311App, host: str = "127.0.0.1", port: int = 8311) -> None:
        self.app = app
        self.server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=THREADS,
            max_request_body_size=4 * MAX_BODY,  # waitress refuses far larger ones itself
            ident="cityops-open311",
            clear_untrusted_proxy_headers=True,
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL it serves on."""
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def run(self) -> None:
        """Serve until :meth:`stop` (or SIGINT) in this thread."""
        self.server.run()

    def start(self) -> GatewayServer:
        """Serve on a thread of its own."""
        self._thread = threading.Thread(target=self.run, name="open311-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listening socket, the worker pool, the bus sockets."""
        self.server.close()
        self.server.task_dispatcher.shutdown()
        if self._thread is not None:
            self._thread.join(10)
        self.app.bus.close()
