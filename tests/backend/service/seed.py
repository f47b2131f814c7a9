"""A small city for live-bus tests: users of every role, crews, assets, issues, jobs, alarms."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from backend.db.engine import make_sessionmaker
from backend.db.models import Alarm, Asset, Crew, Issue, Job, User

USERS = {
    "olga": "operator",
    "dana": "dispatcher",
    "dave": "dispatcher",
    "sam": "shift_lead",
    "root": "admin",
}
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def seed_city(engine: Engine, jobs: int = 4, crews: int = 3, assets: int = 5) -> dict[str, int]:
    """Write the test city; returns counts. Jobs 1..n belong to issues 1..n (one each)."""
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        s.add_all(User(name=n, role=r, display_name=n.title()) for n, r in USERS.items())
        s.add(User(name="gone", role="admin", active=False))
        for i in range(1, assets + 1):
            s.add(
                Asset(
                    kind="pump",
                    name=f"Pump {i}",
                    source="test",
                    source_id=str(i),
                    lon=24.9 + i / 100,
                    lat=60.1 + i / 100,
                    attributes={"n": i},
                )
            )
        for i in range(1, crews + 1):
            s.add(
                Crew(
                    name=f"Crew {i}",
                    members=[f"m{i}"],
                    skills=["pump"],
                    depot_lon=24.9,
                    depot_lat=60.1,
                )
            )
        s.flush()
        for i in range(1, jobs + 1):
            issue = Issue(
                source="test",
                source_id=str(i),
                category="Pump failure",
                lon=24.9,
                lat=60.1,
                requested_at=T0,
                asset_id=1,
            )
            s.add(issue)
            s.flush()
            s.add(Job(issue_id=issue.id, asset_id=1, title=f"Fix pump {i}", created_at=T0))
        s.add(Alarm(asset_id=1, rule="pressure_low", severity="major", message="low", raised_at=T0))
        s.add(Alarm(asset_id=2, rule="temp_high", severity="minor", message="hot", raised_at=T0))
    return {"jobs": jobs, "crews": crews, "assets": assets}
