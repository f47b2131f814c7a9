"""The bus identity: a random id made once per database, announced on every heartbeat.

A console's replica is only meaningful against the database it was loaded
from. When the backend comes back on a *different* database (a fresh one, or
a restore from an older backup) its seqs may be lower than or equal to the
replica's, and seqs alone cannot tell. So the backend announces this id in
every heartbeat and ``snapshot_end``; a console that hears another id
re-snapshots.

Where it lives: one row of ``bus_cursors`` named :data:`IDENTITY_ROW`, its
``seq`` column holding a random 62-bit number. That table is already the
bus's key/value store (one row per publisher), so no schema change is needed,
and the id travels with the database: a copy or backup of the database keeps
its id (a restore is caught by its lower seq instead), a new database gets a
new one. Code that reads ``bus_cursors`` as publisher cursors must skip this
row (nothing does today: publishers read only their own ``name``).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from backend.db.models import BusCursor

#: The ``bus_cursors.name`` of the identity row (no publisher may use this name).
IDENTITY_ROW = "bus_identity"


def _read(engine: Engine) -> int | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(BusCursor.seq).where(BusCursor.name == IDENTITY_ROW)
        ).scalar_one_or_none()
    return None if value is None else int(value)


def bus_identity(engine: Engine) -> str:
    """This database's bus identity (16 hex digits), created on first use.

    Two backends starting on one new database at once may both try to create
    it: the primary key lets one win and the other reads the winner's.
    """
    value = _read(engine)
    if value is None:
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(BusCursor).values(
                        name=IDENTITY_ROW,
                        seq=1 + secrets.randbits(62),
                        updated_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            pass  # another backend created it first
        value = _read(engine)
        if value is None:
            raise RuntimeError("the bus identity row vanished right after it was written")
    return f"{value:016x}"
