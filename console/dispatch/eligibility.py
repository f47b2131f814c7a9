"""Which crews can take a job: skills, on shift, position not stale.

The rule the map marks while a job is dragged and the crew board numbers for
the keyboard path. ``blocking`` reasons stop an assignment in the console
(the backend refuses an off-shift crew anyway); a stale position is only a
warning: the crew may still take the job, but its ETA is a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import Any

from console.dispatch.common import ASSIGNABLE_STATUSES, parse_time

#: A position older than this is stale (the crews layer and the router use the same 120 s).
STALE_AFTER_S = 120.0

Entity = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Whether one crew can take one job, and every reason it cannot (or should think twice)."""

    crew_id: int
    blocking: tuple[str, ...]
    stale: bool
    position_age_s: float | None

    @property
    def ok(self) -> bool:
        """Can take the job, and its position is fresh: what the map marks."""
        return not self.blocking and not self.stale

    @property
    def allowed(self) -> bool:
        """Can be given the job at all (a stale position does not forbid it)."""
        return not self.blocking

    def explain(self) -> str:
        """The reasons in words, for tooltips and refusal messages."""
        parts = list(self.blocking)
        if self.stale:
            age = self.position_age_s
            parts.append("no position yet" if age is None else f"position {int(age // 60)} min old")
        return "; ".join(parts) or "can take it"


def _hhmm(value: Any, default: time) -> time:
    if not isinstance(value, str) or not value:
        return default
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return default


def in_shift(crew: Entity, now: datetime, zone: tzinfo = UTC) -> bool:
    """Is ``now`` inside the crew's shift window (local ``HH:MM``; overnight shifts wrap)?"""
    start = _hhmm(crew.get("shift_start"), time(0, 0))
    end = _hhmm(crew.get("shift_end"), time(0, 0))
    if start == end:
        return True  # a 24-hour (or unset) shift
    local = now.astimezone(zone).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def position_age_s(crew: Entity, now: datetime) -> float | None:
    """Seconds since the crew's last position (None when it has none)."""
    if crew.get("last_lon") is None or crew.get("last_lat") is None:
        return None
    seen = parse_time(crew.get("last_seen_at"))
    if seen is None:
        return None
    return (now - seen).total_seconds()


@dataclass(frozen=True, slots=True)
class EligibilityRule:
    """The "crews that can take this job" rule; ``zone`` is the city's time zone for shifts."""

    zone: tzinfo = UTC
    stale_after_s: float = STALE_AFTER_S

    def check(self, job: Entity, crew: Entity, now: datetime) -> Eligibility:
        """Judge one crew for one job at ``now``."""
        blocking: list[str] = []
        status = str(job.get("status") or "new")
        if status not in ASSIGNABLE_STATUSES:
            blocking.append(f"job is {status}")
        elif job.get("crew_id") is not None and job.get("crew_id") == crew.get("id"):
            blocking.append("already has this job")
        if crew.get("status") == "off_shift":
            blocking.append("off shift")
        elif not in_shift(crew, now, self.zone):
            blocking.append(f"outside shift {crew.get('shift_start')}–{crew.get('shift_end')}")
        missing = set(job.get("skills") or ()) - set(crew.get("skills") or ())
        if missing:
            blocking.append("lacks " + ", ".join(sorted(missing)))
        age = position_age_s(crew, now)
        stale = age is None or not math.isfinite(age) or age > self.stale_after_s
        return Eligibility(int(crew["id"]), tuple(blocking), stale, age)

    def eligible(
        self, job: Entity, crews: Mapping[int, Entity], now: datetime
    ) -> dict[int, Eligibility]:
        """Every crew judged for ``job`` (keyed by crew id)."""
        return {crew_id: self.check(job, crew, now) for crew_id, crew in crews.items()}
