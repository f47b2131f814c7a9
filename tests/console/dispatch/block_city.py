"""A one-block city for routing tests in the console, and a backend service running on it.

A 200 m square in Cambridge, MA whose west side is one-way northwards; two
jobs (each on its own issue) on the west side; crews South, North (must drive
round the block), Stale (nearest, but its position is an hour old), Plumber
(wrong skills) and Off (off shift). Dispatcher ``dana``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from backend.db.engine import make_sessionmaker
from backend.db.models import Crew, Issue, Job, Road, User
from backend.service.server import BackendService
from tests.backend.routing.handmade import block_road_rows, ll
from tests.backend.service.helpers import free_port_pair

#: Road speed of residential streets (km/h → m/s) in backend.routing.speeds.
RESIDENTIAL_MPS = 25 / 3.6


def seed_block(engine: Engine) -> dict[str, int]:
    """Write the block city; returns crew ids by name, ``job``/``job2``, ``issue``/``issue2``."""
    now = datetime.now(UTC)
    with make_sessionmaker(engine).begin() as s:
        s.execute(
            insert(Road),
            block_road_rows(),
        )
        s.add_all([User(name="dana", role="dispatcher"), User(name="olga", role="operator")])
        specs = {
            "South": ((100, 0), ["pump"], now, "available"),
            "North": ((100, 200), ["pump"], now, "available"),
            "Stale": ((0, 50), ["pump"], now - timedelta(hours=1), "available"),
            "Plumber": ((0, 90), ["electric"], now, "available"),
            "Off": ((0, 95), ["pump"], now, "off_shift"),
        }
        ids: dict[str, int] = {}
        for name, ((x, y), skills, seen, status) in specs.items():
            lon, lat = ll(x, y)
            crew = Crew(
                name=name,
                skills=skills,
                shift_start="00:00",  # a 24-hour shift: the test must not depend on the hour
                shift_end="00:00",
                status=status,
                last_lon=lon,
                last_lat=lat,
                last_seen_at=seen,
            )
            s.add(crew)
            s.flush()
            ids[name] = crew.id
        for key, (x, y) in {"": (0, 100), "2": (0, 150)}.items():
            lon, lat = ll(x, y)
            issue = Issue(
                source="test",
                source_id=f"i{key}",
                category="Pump failure",
                address=f"{x} West St",
                lon=lon,
                lat=lat,
                requested_at=now,
            )
            s.add(issue)
            s.flush()
            job = Job(
                issue_id=issue.id,
                title=f"Fix pump{key}",
                skills=["pump"],
                lon=lon,
                lat=lat,
                created_at=now,
            )
            s.add(job)
            s.flush()
            ids[f"issue{key}"], ids[f"job{key}"] = issue.id, job.id
    return ids


@contextmanager
def running_service(engine: Engine) -> Iterator[BackendService]:
    """The real backend service (sockets, publisher, processor) on a thread."""
    service = BackendService(engine, bind=f"tcp://127.0.0.1:{free_port_pair()}", heartbeat_s=0.2)
    service.bind()
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stop()
        thread.join(timeout=10)
        service.close()
