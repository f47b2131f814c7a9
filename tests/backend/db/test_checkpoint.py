"""SQLite's write-ahead log is checkpointed by a background thread, never by a committing writer."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from backend.db.engine import WalCheckpointer, make_engine


def test_the_writer_never_checkpoints_and_the_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "wal.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    checkpointer = WalCheckpointer(engine, every_s=0.05)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        conn.execute(text("CREATE TABLE t (x BLOB)"))
    with engine.begin() as conn:  # far past SQLite's 1,000-page automatic checkpoint
        conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": b"\0" * 4000}] * 3000)
    wal = Path(str(path) + "-wal")
    assert wal.stat().st_size > 4_000_000  # the writer left it all in the log
    checkpointer.start()
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.checkpoints > 0
    checkpointer.stop()  # a last, truncating checkpoint
    assert wal.stat().st_size == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 3000
    engine.dispose()


def test_postgres_engines_are_left_alone() -> None:
    engine = make_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")
    checkpointer = WalCheckpointer(engine).start()
    assert checkpointer._thread is None
    checkpointer.stop()
