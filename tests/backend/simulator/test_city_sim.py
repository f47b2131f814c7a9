"""The simulator against a real backend on the demo city: crews drive and work, sensors report.

Everything it does must arrive through commands (events with the simulator's
users as actors), never by writing the database itself.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from backend.db.engine import make_engine
from backend.db.migrate import upgrade
from backend.db.models import Crew, Event
from backend.demo_city.generate import build_demo_city
from backend.service.readings import stored_counts
from tests.backend.service.helpers import running_backend


def test_simulated_city_moves_through_the_command_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    build_demo_city(engine, seed=3)
    with engine.connect() as conn:
        start_seq = conn.scalar(select(func.max(Event.seq)))
    with running_backend(url, extra=["--simulate", "--speed", "120", "--seed", "2"]):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                statuses = conn.scalar(
                    select(func.count())
                    .select_from(Event)
                    .where(Event.seq > start_seq, Event.type.like("job.%"))
                )
                readings = stored_counts(conn).raw
            if statuses and readings:
                break
            time.sleep(1)
    with engine.connect() as conn:
        actors = set(conn.scalars(select(Event.actor).where(Event.seq > start_seq)).all())
        positions = stored_counts(conn).positions
        moved = conn.scalar(
            select(func.count()).select_from(Crew).where(Crew.last_seen_at.is_not(None))
        )
        job_events = conn.scalar(
            select(func.count())
            .select_from(Event)
            .where(
                Event.seq > start_seq, Event.type.in_(["job.en_route", "job.on_site", "job.done"])
            )
        )
    engine.dispose()
    assert actors <= {"simulator", "sim-dispatcher"}, actors
    assert readings and readings > 1000  # every monitored asset reported at least once
    assert positions and moved
    assert job_events, "crews worked their jobs (en route / on site / done)"
