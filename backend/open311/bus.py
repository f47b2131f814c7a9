"""The gateway's way to the backend: one command client per HTTP worker thread.

A ZeroMQ socket belongs to one thread, and the HTTP server answers on
several, so each thread gets its own DEALER (shared context). Bus errors
become :class:`~backend.open311.mapping.Open311Error` with the HTTP status a
citizen's client can act on: their mistakes 400/404, the backend away 503.
"""

from __future__ import annotations

import threading
from typing import Any

from backend.open311.mapping import Open311Error
from backend.protocol.client import BusTimeout, CommandClient, CommandFailed

#: Command error codes → HTTP status (others: 500, the gateway's or backend's fault).
STATUS_FOR = {
    "bad_args": 400,
    "not_found": 404,
    "unavailable": 503,
    "unauthenticated": 503,  # the gateway's own account is missing: not the citizen's fault
    "forbidden": 503,
}


class BusGateway:
    """Runs commands on the backend's ROUTER as the gateway's user."""

    def __init__(
        self, router_endpoint: str, user: str, timeout_s: float = 5.0, retries: int = 2
    ) -> None:
        self.router_endpoint = router_endpoint
        self.user = user
        self.timeout_s = timeout_s
        self.retries = retries
        self._local = threading.local()
        self._clients: list[CommandClient] = []
        self._lock = threading.Lock()

    def _client(self) -> CommandClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = CommandClient(
                self.router_endpoint, self.user, timeout_s=self.timeout_s, retries=self.retries
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def command(self, name: str, args: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        """The command's reply body (``result``, ``replayed``...), or Open311Error."""
        try:
            return self._client().command(name, args, key=key)
        except CommandFailed as exc:
            status = STATUS_FOR.get(exc.code, 500)
            if status == 503:
                message = f"the service is unavailable, try again ({exc.message})"
                raise Open311Error(503, message) from None
            raise Open311Error(status, exc.message) from None
        except BusTimeout:
            raise Open311Error(503, "the service is unavailable, try again later") from None

    def result(self, name: str, args: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        """Just the command's ``result``."""
        return dict(self.command(name, args, key)["result"])

    def close(self) -> None:
        """Close every thread's socket (at shutdown, when no request is running)."""
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
