"""What the dispatch models share: the clock, wire times, durations and a tiny change signal.

Pure Python (no Qt): the models here are driven by the live replica's entity
maps and read by thin Qt adapters in ``widgets/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Returns "now", timezone-aware. Injected so tests (and replays) fix time.
Clock = Callable[[], datetime]

#: Job statuses that still need a dispatcher's eye.
OPEN_JOB_STATUSES = frozenset({"new", "assigned", "en_route", "on_site"})
#: Job statuses a crew is actively working (the crew's "current job").
WORKING_STATUSES = ("on_site", "en_route")
#: Job statuses a job can still be (re)assigned from (the backend's rule in assign_job).
ASSIGNABLE_STATUSES = frozenset({"new", "assigned"})


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def parse_time(value: Any) -> datetime | None:
    """A wire time (``2026-03-01T08:00:00.000000Z``), an aware datetime or None, as aware UTC.

    A naive datetime is taken as UTC: the bus only carries UTC, so a naive
    value is a producer's slip rather than local time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise TypeError(f"not a time: {value!r}")


def format_duration(seconds: float) -> str:
    """A compact signed duration for narrow columns: ``45s``, ``12m``, ``3h 05m``, ``2d 4h``."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m"
    if s < 86400:
        return f"{sign}{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{sign}{s // 86400}d {s % 86400 // 3600}h"


def topic_id(topic: str) -> tuple[str, int] | None:
    """``"job/12"`` → ``("job", 12)``; anything else → None (ignored, not an error)."""
    kind, sep, rest = topic.partition("/")
    if not sep or not rest.isdigit():
        return None
    return kind, int(rest)


class Notifier(Generic[T]):
    """A minimal change signal for pure models: callbacks called in connection order."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], None]] = []

    def connect(self, callback: Callable[[T], None]) -> None:
        """Call ``callback(value)`` on every emit."""
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[T], None]) -> None:
        """Stop calling ``callback``."""
        self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        """Deliver ``value`` to every callback."""
        for callback in list(self._callbacks):
            callback(value)


@dataclass(frozen=True, slots=True)
class ModelChange:
    """What changed in a dispatch model: some rows' contents, or the set/order of rows."""

    ids: frozenset[int]
    structure: bool = False
