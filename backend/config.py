"""Where the database lives: ``--db``, else ``CITYOPS_DB``, else SQLite in the user data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_DB = "CITYOPS_DB"
APP_NAME = "cityops"


def default_sqlite_path() -> Path:
    """The embedded database file in the user's data folder (created on demand)."""
    folder = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "cityops.sqlite"


def resolve_db_url(cli_value: str | None = None) -> str:
    """Return the database URL the user asked for, in order of precedence.

    A bare file path is accepted as an SQLite database, so ``--db city.sqlite`` works.
    """
    value = cli_value or os.environ.get(ENV_DB)
    if not value:
        return f"sqlite:///{default_sqlite_path()}"
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    return value
