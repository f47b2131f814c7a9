"""The simulator's user accounts, created by the backend that runs it (the only writer)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from backend.db.engine import make_sessionmaker
from backend.db.models import User

#: The simulator speaks for the crews' mobile terminals (job status needs a field
#: role) and, separately, for a simulated dispatcher who staffs waiting jobs.
SIMULATOR_USERS = (
    ("simulator", "Simulated crews and sensors", "dispatcher"),
    ("sim-dispatcher", "Simulated dispatcher", "dispatcher"),
)


def ensure_simulator_users(engine: Engine) -> None:
    """Create the simulator's users if they are missing (idempotent)."""
    with make_sessionmaker(engine).begin() as session:
        present = set(session.scalars(select(User.name)))
        for name, display, role in SIMULATOR_USERS:
            if name not in present:
                session.add(User(name=name, display_name=display, role=role, active=True))
