"""Entities in wire form (as the live replica holds them) and a clock tests can move."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def wt(value: datetime) -> str:
    """A datetime in the bus's fixed-width ISO-8601 UTC form."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FixedClock:
    """A clock that only moves when told to."""

    now: datetime = field(default=T0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time on."""
        self.now += timedelta(seconds=seconds)


def job(
    job_id: int,
    *,
    priority: int = 3,
    skills: tuple[str, ...] = (),
    status: str = "new",
    crew_id: int | None = None,
    issue_id: int | None = None,
    created: datetime = T0,
    due: datetime | None = None,
    version: int = 1,
    title: str | None = None,
    assigned_at: datetime | None = None,
) -> dict[str, Any]:
    """A job entity."""
    return {
        "id": job_id,
        "issue_id": issue_id,
        "asset_id": None,
        "title": title or f"Job {job_id}",
        "priority": priority,
        "skills": list(skills),
        "lon": 24.94,
        "lat": 60.17,
        "created_at": wt(created),
        "due_at": None if due is None else wt(due),
        "status": status,
        "crew_id": crew_id,
        "assigned_by": None if crew_id is None else "dana",
        "assigned_at": None if assigned_at is None else wt(assigned_at),
        "updated_at": wt(created),
        "closed_at": None,
        "version": version,
    }


def crew(
    crew_id: int,
    *,
    skills: tuple[str, ...] = ("pump",),
    status: str = "available",
    seen: datetime | None = T0,
    lon: float | None = 24.94,
    lat: float | None = 60.17,
    shift: tuple[str, str] = ("07:00", "19:00"),
    name: str | None = None,
) -> dict[str, Any]:
    """A crew entity."""
    return {
        "id": crew_id,
        "name": name or f"Crew {crew_id}",
        "members": [f"m{crew_id}a", f"m{crew_id}b"],
        "skills": list(skills),
        "depot_lon": 24.9,
        "depot_lat": 60.1,
        "shift_start": shift[0],
        "shift_end": shift[1],
        "status": status,
        "last_lon": lon,
        "last_lat": lat,
        "last_heading": 90.0,
        "last_seen_at": None if seen is None else wt(seen),
        "version": 1,
    }


def issue(issue_id: int, category: str, address: str, description: str = "") -> dict[str, Any]:
    """An issue entity."""
    return {
        "id": issue_id,
        "category": category,
        "address": address,
        "description": description,
        "status": "open",
        "requested_at": wt(T0),
    }


def topics(*entities: tuple[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{topic: state}`` from (kind, entity) pairs."""
    return {f"{kind}/{e['id']}": e for kind, e in entities}
