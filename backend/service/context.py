"""What a command handler works with: its session, user, clock, argument checks and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Event
from backend.db.outbox import NewEvent
from backend.protocol.envelope import new_msg_id
from backend.service.auth import CommandError, Principal
from backend.service.entities import entity_state

T = TypeVar("T")


@dataclass
class CommandContext:
    """One command's unit of work: rows and events written here commit together."""

    session: Session
    user: Principal
    msg_id: str
    now: datetime
    events: list[NewEvent] = field(default_factory=list)

    def emit(self, type_: str, topic: str, body: dict[str, Any]) -> None:
        """Queue an outbox event; it is appended in the command's transaction."""
        self.events.append(
            NewEvent(
                type=type_,
                topic=topic,
                body=body,
                actor=self.user.name,
                msg_id=new_msg_id(),
                parent_id=self.msg_id,
                ts=self.now,
            )
        )

    def emit_entity(self, type_: str, topic: str, row: Any) -> None:
        """Queue an event carrying ``row``'s full new state."""
        self.session.flush()
        self.emit(type_, topic, {"entity": entity_state(self.session, row)})


def arg(
    args: dict[str, Any],
    name: str,
    kind: type[T] | tuple[type, ...],
    required: bool = True,
    default: Any = None,
) -> Any:
    """``args[name]`` checked against ``kind``; a missing or mistyped one is ``bad_args``."""
    if name not in args or args[name] is None:
        if required:
            raise CommandError("bad_args", f"argument {name!r} is required", {"argument": name})
        return default
    value = args[name]
    wanted = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass; an id or a version of True is a client bug, not 1.
    if isinstance(value, bool) and bool not in wanted:
        raise CommandError(
            "bad_args", f"argument {name!r} must not be a boolean", {"argument": name}
        )
    if float in wanted and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, wanted):
        names = "/".join(t.__name__ for t in wanted)
        raise CommandError(
            "bad_args",
            f"argument {name!r} must be {names}, got {type(value).__name__}",
            {"argument": name},
        )
    return value


def get_row(ctx: CommandContext, model: Any, row_id: int, label: str, lock: bool = True) -> Any:
    """The row ``row_id`` of ``model`` (locked for update), or ``not_found``."""
    row = ctx.session.get(model, row_id, with_for_update=lock or None)
    if row is None:
        raise CommandError("not_found", f"{label} {row_id} does not exist", {"id": row_id})
    return row


def check_version(ctx: CommandContext, row: Any, seen: int, topic: str, label: str) -> None:
    """Refuse with ``conflict`` when the row moved on since the user saw ``seen``.

    The reply names who made the change the user missed, and when, from the
    newest event on the entity's topic.
    """
    if row.version == seen:
        return
    last = ctx.session.execute(
        select(Event.actor, Event.ts, Event.type)
        .where(Event.topic == topic)
        .order_by(Event.seq.desc())
        .limit(1)
    ).one_or_none()
    who = last.actor if last else None
    when = last.ts if last else None
    what = last.type if last else None
    said_when = f" at {when:%Y-%m-%d %H:%M:%S} UTC" if when else ""
    raise CommandError(
        "conflict",
        f"{label} was changed by {who or 'another writer'}{said_when}"
        f"{f' ({what})' if what else ''}: you saw version {seen}, it is now version {row.version}",
        {
            "topic": topic,
            "seen_version": seen,
            "current_version": row.version,
            "changed_by": who,
            "changed_at": when,
            "change": what,
            "entity": entity_state(ctx.session, row),
        },
    )
