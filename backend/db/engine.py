"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from backend.config import resolve_db_url
from backend.db.periodic import PeriodicThread

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the console's readers run beside the backend's writer; foreign
    # keys are off by default in SQLite; NORMAL sync is safe with WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (resolved like ``--db``) with per-dialect settings."""
    url = resolve_db_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A database that stops answering must cost a command an error, not hang the service:
    # give up connecting after 5 s, and let TCP notice a dead peer (keepalives, and
    # unacknowledged data for 15 s) instead of waiting on it for the kernel's minutes.
    connect_args = {
        "connect_timeout": 5,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 15_000,
        **kwargs.pop("connect_args", {}),
    }
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, connect_args=connect_args, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (plain data crosses the bus)."""
    return sessionmaker(engine, expire_on_commit=False)


class WalCheckpointer(PeriodicThread):
    """Checkpoints a SQLite database's write-ahead log from its own thread.

    By default SQLite checkpoints inside the commit that pushes the WAL past
    1,000 pages: that writer stops to copy pages into the database file and
    fsync it. A backend committing a few MB/s of telemetry blocks would do so
    every few commands, and every replica waits behind it. Here automatic
    checkpoints are off on the engine's connections and this thread runs a
    PASSIVE checkpoint (which never blocks the writer or readers) every
    ``every_s`` seconds, on its own connection; :meth:`stop` runs a last,
    complete one. Nothing to do for PostgreSQL.
    """

    thread_name = "wal-checkpoint"

    def __init__(self, engine: Engine, every_s: float = 0.5) -> None:
        super().__init__(every_s)
        self.engine = engine
        self.checkpoints = 0
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _no_autocheckpoint)
            engine.dispose()  # pooled connections reopen without automatic checkpoints

    def start(self) -> WalCheckpointer:
        """Start checkpointing (SQLite only)."""
        if self.engine.dialect.name == "sqlite":
            self.start_thread()
        return self

    def stop(self) -> None:
        """Stop the thread and checkpoint what is left."""
        if self.stop_thread():
            self._checkpoint("TRUNCATE")

    def tick(self) -> None:
        self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
            self.checkpoints += 1
        except Exception as exc:  # busy or closing: the next turn tries again
            log.warning("WAL checkpoint failed: %s", exc)


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()
