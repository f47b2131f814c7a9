"""Replaying a real 311 export as live citizen reports.

The CSV goes through the real 311 importer (into a throw-away in-memory
database), so the replay sees exactly the rows an import would keep: bad
rows and placeholder geocodes are skipped the same way. The reports are then
sent in the order they were made, their gaps compressed by the simulation
speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from backend.db.engine import make_engine, make_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Issue
from backend.importers.base import ImportOptions, ImportRefused
from backend.importers.registry import import_files

#: Skills a job needs, guessed from words in the 311 category.
SKILL_WORDS = (
    ("light", ["electrical"]),
    ("signal", ["signals"]),
    ("catch", ["water"]),
    ("basin", ["water"]),
    ("hydrant", ["water"]),
    ("water", ["water"]),
    ("pothole", ["roads"]),
    ("sidewalk", ["roads"]),
)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """One citizen report to send again: where, what, and when it was first made."""

    requested_at: datetime
    category: str
    description: str | None
    lon: float
    lat: float
    address: str | None
    channel: str | None


def skills_for(category: str) -> list[str]:
    """The skills a job for this category needs (``general`` when nothing matches)."""
    lowered = category.lower()
    for word, skills in SKILL_WORDS:
        if word in lowered:
            return skills
    return ["general"]


def load_311(path: Path, tz: str | None = None) -> list[ReplayReport]:
    """The reports of a 311 CSV in time order (refuses a file that is not one)."""
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        result = import_files(engine, [path], ImportOptions(tz=tz))
        if result.refused:
            raise ImportRefused("; ".join(result.refused.values()))
        with make_sessionmaker(engine)() as session:
            rows = session.scalars(
                select(Issue)
                .where(Issue.lon.is_not(None), Issue.lat.is_not(None))
                .order_by(Issue.requested_at, Issue.id)
            ).all()
            return [
                ReplayReport(
                    requested_at=r.requested_at,
                    category=r.category,
                    description=r.description,
                    lon=float(r.lon),  # type: ignore[arg-type]
                    lat=float(r.lat),  # type: ignore[arg-type]
                    address=r.address,
                    channel=r.channel,
                )
                for r in rows
            ]
    finally:
        engine.dispose()
