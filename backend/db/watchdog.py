"""Cut a PostgreSQL connection the service's loop has held past a deadline: a hung server.

The backend does everything on one thread, so a database that stops
answering while the connection stays open (a frozen server, a stalled
storage volume) would stop the whole service: no replies, no heartbeats.
TCP cannot tell: the peer's kernel still acknowledges every packet, so
keepalives and ``tcp_user_timeout`` never fire, and libpq has no timeout of
its own for a query. A network cut, by contrast, those settings do catch.

This watchdog notes every connection the watched thread checks out of the
engine's pool (pool events) and, from its own thread, shuts down the socket
of any held longer than ``deadline_s``. The blocked call then fails like a
lost connection: the command gets the service's "unavailable" answer,
SQLAlchemy discards that connection, and the loop goes on. Connections
checked out by other threads (compaction, which may rightly take long) are
left alone. Only PostgreSQL: SQLite is a local file with its own busy
timeout.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from sqlalchemy import Engine, event

from backend.db.periodic import PeriodicThread

log = logging.getLogger(__name__)

#: The backend's default deadline for one database call of its serving loop, seconds.
DEFAULT_DEADLINE_S = 15.0


class HungConnectionWatchdog(PeriodicThread):
    """Shuts down connections the watched thread has held for more than ``deadline_s``."""

    thread_name = "db-watchdog"

    def __init__(self, engine: Engine, deadline_s: float, poll_s: float = 0.25) -> None:
        super().__init__(poll_s)
        self.engine = engine
        self.deadline_s = deadline_s
        self.cut = 0
        self.active = engine.dialect.name == "postgresql" and deadline_s > 0
        self._lock = threading.Lock()
        self._held: dict[int, tuple[float, int]] = {}  # connection record id → (since, fd)
        self._thread_id: int | None = None

    def start(self) -> HungConnectionWatchdog:
        """Watch the calling thread's connections from now on."""
        if self.active and self._thread_id is None:
            self._thread_id = threading.get_ident()
            event.listen(self.engine, "checkout", self._checkout)
            event.listen(self.engine, "checkin", self._checkin)
            self.start_thread()
        return self

    def stop(self) -> None:
        """Stop watching."""
        if self.stop_thread(5):
            event.remove(self.engine, "checkout", self._checkout)
            event.remove(self.engine, "checkin", self._checkin)
            self._thread_id = None

    def _checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if threading.get_ident() != self._thread_id:
            return
        try:
            fd = int(dbapi_connection.fileno())
        except Exception:  # a connection without a socket: nothing to cut
            return
        with self._lock:
            self._held[id(record)] = (time.monotonic(), fd)

    def _checkin(self, _dbapi_connection: Any, record: Any) -> None:
        with self._lock:
            self._held.pop(id(record), None)

    def tick(self) -> None:
        now = time.monotonic()
        # Under the lock: a connection checked in meanwhile (its socket perhaps
        # reused) can no longer be cut by mistake.
        with self._lock:
            for key, (since, fd) in list(self._held.items()):
                if now - since > self.deadline_s:
                    del self._held[key]
                    self._cut(fd, now - since)

    def _cut(self, fd: int, held_s: float) -> None:
        try:
            # A duplicate descriptor, so closing ours leaves libpq's to libpq; the
            # shutdown acts on the connection both refer to.
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            log.warning("could not cut a hung database connection: %s", exc)
            return
        self.cut += 1
        log.warning(
            "database connection held %.1f s (deadline %.1f s): cut, the command fails",
            held_s,
            self.deadline_s,
        )
