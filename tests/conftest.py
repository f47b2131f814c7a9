"""Shared fixtures: a fresh, migrated database on SQLite and on the real PostgreSQL.

PostgreSQL tests use ``$CITYOPS_TEST_PG`` (default: the local ``test`` database)
and a schema of their own per test, dropped afterwards, so runs never collide.
Where PostgreSQL cannot be reached they are skipped, except under ``CI=true``,
where they fail: CI must prove the PostgreSQL path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from backend.db.engine import make_engine, make_sessionmaker
from backend.db.migrate import upgrade

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("CITYOPS_TEST_PG", "postgresql+psycopg2://root@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

_pg_ok: bool | None = None


def postgres_available() -> bool:
    """True when the test PostgreSQL server answers (checked once per run)."""
    global _pg_ok
    if _pg_ok is None:
        try:
            probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with probe.connect() as conn:
                conn.execute(text("select 1"))
            probe.dispose()
            _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


def require_postgres() -> None:
    """Skip (or, under CI, fail) a test that needs PostgreSQL when it is down."""
    if not postgres_available():
        message = f"PostgreSQL at {PG_URL} is not reachable"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests may not be skipped)")
        pytest.skip(message)


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip when the data folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing (CI runs beside ../shared)")
        pytest.skip(f"{path} is absent (no ../shared/data on this machine)")
    return path


def _fresh_postgres() -> Iterator[Engine]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema rides in the URL, so CLI subprocesses given db_url land in it too.
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'city.sqlite'}")
        upgrade(eng)
        yield eng
        eng.dispose()
    else:
        yield from _fresh_postgres()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite database only (for tests that need one backend)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'city.sqlite'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A migrated, empty PostgreSQL schema only."""
    yield from _fresh_postgres()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker on the parametrised ``engine``."""
    return make_sessionmaker(engine)


@pytest.fixture
def db_url(engine: Engine) -> str:
    """The URL of the parametrised ``engine`` (for CLI tests); PostgreSQL's carries its schema."""
    return engine.url.render_as_string(hide_password=False)
