"""Build the demo city: a deterministic, believable city for a machine with no data.

:func:`plan_city` is pure: the same ``(seed, as_of)`` gives the same plan,
including the hidden hazard truth (:class:`~backend.demo_city.hazard.HazardTruth`)
that a failure-model evaluation can compare against. :func:`build_demo_city`
writes a plan in one transaction with bulk inserts and appends one
``demo_city.generated`` event (topic ``city``) carrying seed, ``as_of`` and counts.

A database holds at most one demo city: when demo rows are already there
(source ``demo``, a demo crew name, or an earlier ``demo_city.generated``
event), :class:`DemoCityRefused` is raised and nothing is written. Other data
(imported real cities) does not stop it: the demo city sits on its own patch
of the map.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, exists, or_, select
from sqlalchemy.orm import Session

from backend.db.models import Asset, Crew, Event, Issue, Road
from backend.db.outbox import NewEvent, append_events
from backend.demo_city.assets import AssetPlan, plan_assets
from backend.demo_city.common import CITY_NAME, SOURCE, default_as_of, stream
from backend.demo_city.hazard import Histories, simulate
from backend.demo_city.operations import CREW_SPECS, Operations, plan_operations
from backend.demo_city.streets import StreetNetwork, build_streets
from backend.demo_city.write import write_plan

EVENT_TYPE = "demo_city.generated"


class DemoCityRefused(Exception):
    """The database already holds a demo city; nothing was written."""


@dataclass(slots=True)
class CityPlan:
    """Everything the generator will write, in local metres and relative times."""

    seed: int
    as_of: datetime
    streets: StreetNetwork
    assets: AssetPlan
    histories: Histories
    operations: Operations


def plan_city(seed: int, as_of: datetime | None = None) -> CityPlan:
    """Plan the whole city for ``seed`` as seen at ``as_of`` (default: this UTC hour)."""
    if as_of is None:
        as_of = default_as_of()
    elif as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of {as_of!r} must carry a time zone")
    as_of = as_of.astimezone(UTC)
    streets = build_streets(seed)
    assets = plan_assets(streets, stream(seed, "assets"))
    items = assets.assets
    histories = simulate(
        stream(seed, "histories"),
        [a.kind for a in items],
        np.array([a.age_years for a in items]),
        [a.attributes for a in items],
    )
    operations = plan_operations(stream(seed, "operations"), streets, assets, histories, as_of)
    return CityPlan(seed, as_of, streets, assets, histories, operations)


def demo_city_present(session: Session) -> bool:
    """True when the database already holds demo-city rows."""
    query = select(
        or_(
            exists().where(Road.source == SOURCE),
            exists().where(Asset.source == SOURCE),
            exists().where(Issue.source == SOURCE),
            exists().where(Crew.name.in_([name for name, _skills in CREW_SPECS])),
            exists().where(Event.type == EVENT_TYPE),
        )
    )
    return bool(session.execute(query).scalar())


def build_demo_city(engine: Engine, seed: int = 7, as_of: datetime | None = None) -> dict[str, Any]:
    """Generate the demo city into the (migrated) database at ``engine``; return the counts.

    Raises :class:`DemoCityRefused` when a demo city is already there.
    """
    with Session(engine) as session, session.begin():
        # Checked first, so a refusal is quick; the unique source keys still stop
        # a concurrent second build from committing a duplicate city.
        if demo_city_present(session):
            raise DemoCityRefused(
                "the database already holds a demo city; use an empty database "
                "(or another --db) to generate one"
            )
        plan = plan_city(seed, as_of)
        counts = write_plan(session, plan)
        counts["city"] = CITY_NAME
        (seq,) = append_events(
            session,
            [NewEvent(type=EVENT_TYPE, topic="city", body=dict(counts), actor="demo-city")],
        )
    counts["event_seq"] = seq
    return counts
