"""The gateway's account, created by the backend (the only writer) when it starts."""

from __future__ import annotations

from sqlalchemy import Engine, select

from backend.db.engine import make_sessionmaker
from backend.db.models import User

#: The user the gateway acts as: an operator may report issues and read requests.
GATEWAY_USER = ("open311", "Citizens' Open311 gateway", "operator")


def ensure_gateway_user(engine: Engine) -> None:
    """Create the gateway's user if it is missing (idempotent; an existing one is left alone)."""
    name, display, role = GATEWAY_USER
    with make_sessionmaker(engine).begin() as session:
        if session.scalar(select(User.id).where(User.name == name)) is None:
            session.add(User(name=name, display_name=display, role=role, active=True))
