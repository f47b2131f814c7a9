"""Turning a planned city into rows: one lon/lat conversion, bulk inserts, ids resolved in order.

Inserts that later rows point at (crews, assets, citizens, issues, jobs) use
``INSERT ... RETURNING`` with the parameter order kept, so the n-th planned
item gets the n-th returned id on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import LineString, Polygon
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.db.models import (
    Asset,
    AssetEvent,
    Citizen,
    CitizenInteraction,
    Crew,
    Issue,
    Job,
    KnowledgeArticle,
    Road,
    User,
)
from backend.demo_city.common import SOURCE, Clock, LocalFrame
from backend.demo_city.operations import ARTICLES, SLA_HOURS, USERS
from backend.importers.rows import asset_row, road_row

if TYPE_CHECKING:
    from backend.demo_city.generate import CityPlan

GRADE_TEXT = {1: "as new", 2: "minor wear", 3: "fair", 4: "worn, monitor", 5: "poor, act soon"}
CHUNK = 5000


class _Coords:
    """Collects metre arrays, converts them all to lon/lat in one call, hands slices back."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self._size = 0
        self.lon_lat = np.zeros((0, 2))

    def add(self, xy: np.ndarray) -> slice:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        self._parts.append(xy)
        self._size += len(xy)
        return slice(self._size - len(xy), self._size)

    def convert(self, frame: LocalFrame) -> None:
        self.lon_lat = frame.to_lon_lat(np.vstack(self._parts))

    def point(self, where: slice) -> tuple[float, float]:
        lon, lat = self.lon_lat[where][0]
        return float(lon), float(lat)


def _insert_returning(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` and return their new ids in the order given."""
    if not rows:
        return []
    ids: list[int] = []
    table = model.__table__
    for start in range(0, len(rows), CHUNK):
        result = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            list(rows[start : start + CHUNK]),
        )
        ids.extend(int(v) for v in result.scalars())
    return ids


def _insert(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in large batches."""
    # Core inserts on the table: one executemany per chunk (the ORM bulk path
    # would split rows into many statements by which columns are NULL).
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model.__table__), list(rows[start : start + CHUNK]))


def write_plan(session: Session, plan: CityPlan) -> dict[str, Any]:
    """Insert every planned row in ``session``'s transaction; return the counts."""
    clock = Clock(plan.as_of)
    net, assets, ops = plan.streets, plan.assets.assets, plan.operations
    coords = _Coords()
    road_at = [coords.add(s.coords) for s in net.segments]
    asset_at = [coords.add(a.xy) for a in assets]
    shape_at = {
        k: coords.add(shape)
        for k, a in enumerate(assets)
        if (shape := a.line if a.line is not None else a.ring) is not None
    }
    depot_at = [coords.add(c.depot.xy) for c in ops.crews]
    crew_at = [coords.add(c.last_xy if c.last_xy is not None else c.depot.xy) for c in ops.crews]
    issue_at = [coords.add(i.xy) for i in ops.issues]
    job_at = [coords.add(j.xy) for j in ops.jobs]
    coords.convert(LocalFrame())
    ll = coords.lon_lat

    road_rows = [
        road_row(
            source=SOURCE,
            source_id=f"road-{k + 1:05d}",
            geom=LineString(ll[road_at[k]]),
            road_class=s.road_class,
            name=s.name,
            oneway=s.oneway,
            attributes=s.attributes,
        )
        for k, s in enumerate(net.segments)
    ]
    _insert(session, Road, road_rows)

    crew_ids = _insert_returning(
        session,
        Crew,
        [
            {
                "name": c.name,
                "members": c.members,
                "skills": c.skills,
                "depot_lon": coords.point(depot_at[k])[0],
                "depot_lat": coords.point(depot_at[k])[1],
                "shift_start": c.shift[0],
                "shift_end": c.shift[1],
                "status": c.status,
                "last_lon": coords.point(crew_at[k])[0],
                "last_lat": coords.point(crew_at[k])[1],
                "last_heading": round(c.heading, 1),
                "last_seen_at": clock.at_hours(c.seen_minutes_ago / 60),
                "version": 1,
            }
            for k, c in enumerate(ops.crews)
        ],
    )

    asset_rows = []
    for k, a in enumerate(assets):
        geom = None
        if a.line is not None:
            geom = LineString(ll[shape_at[k]])
        elif a.ring is not None:
            geom = Polygon(ll[shape_at[k]])
        lon, lat = coords.point(asset_at[k])
        row = asset_row(
            source=SOURCE,
            source_id=a.source_id,
            kind=a.kind,
            lon=lon,
            lat=lat,
            name=a.name,
            status=ops.asset_status.get(k, "ok"),
            install_date=clock.date_years(a.age_years),
            geom=geom,
            attributes=a.attributes,
        )
        row["updated_at"] = plan.as_of
        asset_rows.append(row)
    asset_ids = _insert_returning(session, Asset, asset_rows)

    citizen_ids = _insert_returning(
        session,
        Citizen,
        [
            {
                "name": c["name"],
                "email": c["email"],
                "phone": c["phone"],
                "created_at": clock.at_hours(c["created_h"]),
                "notify": c["notify"],
            }
            for c in ops.citizens
        ],
    )

    def at(hours: float | None) -> datetime | None:
        return None if hours is None else clock.at_hours(hours)

    issue_ids = _insert_returning(
        session,
        Issue,
        [
            {
                "source": SOURCE,
                "source_id": i.source_id,
                "category": i.category,
                "service_code": i.service_code,
                "description": i.description,
                "lon": coords.point(issue_at[k])[0],
                "lat": coords.point(issue_at[k])[1],
                "address": i.address,
                "status": i.status,
                "status_notes": i.status_notes,
                "requested_at": clock.at_hours(i.requested_h),
                "updated_at": at(i.updated_h),
                "expected_at": None
                if i.status == "closed"
                else clock.at_hours(i.requested_h - SLA_HOURS[i.priority]),
                "closed_at": at(i.closed_h),
                "channel": i.channel,
                "agency": i.agency,
                "citizen_id": None if i.citizen is None else citizen_ids[i.citizen],
                "asset_id": None if i.asset is None else asset_ids[i.asset],
                "attributes": {"priority": i.priority},
                "version": 1,
            }
            for k, i in enumerate(ops.issues)
        ],
    )

    job_ids = _insert_returning(
        session,
        Job,
        [
            {
                "issue_id": None if j.issue is None else issue_ids[j.issue],
                "asset_id": None if j.asset is None else asset_ids[j.asset],
                "title": j.title[:200],
                "priority": j.priority,
                "skills": j.skills,
                "lon": coords.point(job_at[k])[0],
                "lat": coords.point(job_at[k])[1],
                "created_at": clock.at_hours(j.created_h),
                "due_at": clock.at_hours(j.due_h),
                "status": j.status,
                "crew_id": None if j.crew is None else crew_ids[j.crew],
                "assigned_by": None if j.crew is None else "ana",
                "assigned_at": at(j.assigned_h),
                "updated_at": at(j.closed_h if j.closed_h is not None else j.assigned_h),
                "closed_at": at(j.closed_h),
                "version": 1,
            }
            for k, j in enumerate(ops.jobs)
        ],
    )

    event_rows = _event_rows(plan, clock, coords, asset_at, asset_ids, crew_ids, job_ids)
    _insert(session, AssetEvent, event_rows)

    _insert(
        session,
        CitizenInteraction,
        [
            {
                "citizen_id": citizen_ids[x["citizen"]],
                "issue_id": issue_ids[x["issue"]],
                "ts": clock.at_hours(x["hours"]),
                "channel": x["channel"],
                "kind": x["kind"],
                "body": x["body"],
            }
            for x in ops.interactions
        ],
    )
    _insert(
        session,
        KnowledgeArticle,
        [
            {"title": t, "body": b, "tags": tags, "updated_at": plan.as_of - timedelta(days=30 * k)}
            for k, (t, b, tags) in enumerate(ARTICLES)
        ],
    )
    present = set(session.scalars(User.__table__.select().with_only_columns(User.name)))
    users = [
        {"name": n, "display_name": d, "role": r, "active": True}
        for n, d, r in USERS
        if n not in present
    ]
    _insert(session, User, users)

    statuses = Counter(r["status"] for r in asset_rows)
    return {
        "seed": plan.seed,
        "as_of": plan.as_of.isoformat(),
        "roads": len(road_rows),
        "roads_drivable": sum(1 for r in road_rows if r["drivable"]),
        "road_km": round(sum(r["length_m"] for r in road_rows) / 1000, 1),
        "oneway_roads": sum(1 for r in road_rows if r["oneway"]),
        "assets": len(asset_rows),
        "assets_by_kind": dict(sorted(Counter(r["kind"] for r in asset_rows).items())),
        "assets_by_status": dict(sorted(statuses.items())),
        "asset_events": len(event_rows),
        "asset_events_by_kind": dict(sorted(Counter(r["kind"] for r in event_rows).items())),
        "crews": len(crew_ids),
        "users": len(users),
        "citizens": len(citizen_ids),
        "issues": len(issue_ids),
        "issues_by_status": dict(sorted(Counter(i.status for i in ops.issues).items())),
        "jobs": len(job_ids),
        "jobs_by_status": dict(sorted(Counter(j.status for j in ops.jobs).items())),
        "citizen_interactions": len(ops.interactions),
        "knowledge_articles": len(ARTICLES),
    }


def _event_rows(
    plan: CityPlan,
    clock: Clock,
    coords: _Coords,
    asset_at: list[slice],
    asset_ids: list[int],
    crew_ids: list[int],
    job_ids: list[int],
) -> list[dict[str, Any]]:
    """History rows ordered by asset, then time, with stable per-asset source ids."""
    hist, ops, assets = plan.histories, plan.operations, plan.assets.assets
    asset_lon_lat = [coords.point(where) for where in asset_at]
    # The latest inspection of each asset (a warning asset's note follows it).
    latest_check: dict[int, int] = {}
    for e in np.flatnonzero(np.array(hist.kind) == "inspection").tolist():
        i = int(hist.asset[e])
        if i not in latest_check or hist.years_before[e] < hist.years_before[latest_check[i]]:
            latest_check[i] = e
    order = np.lexsort((-hist.years_before, hist.asset))
    numbering: Counter[tuple[int, str]] = Counter()
    rows: list[dict[str, Any]] = []
    for e in order.tolist():
        i = int(hist.asset[e])
        kind = hist.kind[e]
        detail = hist.detail[e]
        numbering[(i, kind)] += 1
        if kind == "install":
            text = f"Installed {assets[i].kind.replace('_', ' ')}"
        elif kind == "inspection":
            grade = detail["condition"]
            text = f"Routine inspection: condition {grade} ({GRADE_TEXT[grade]})"
        elif kind == "failure":
            text = f"Failure: {detail['cause']}"
        else:
            text = f"Repair: {detail['action']}"
        lon, lat = asset_lon_lat[i]
        job = ops.event_job.get(e)
        crew = ops.event_crew.get(e)
        rows.append(
            {
                "asset_id": asset_ids[i],
                "kind": kind,
                "ts": clock.at_years(float(hist.years_before[e])),
                "description": text,
                "source": SOURCE,
                "source_id": f"{assets[i].source_id}/{kind}/{numbering[(i, kind)]}",
                "lon": lon,
                "lat": lat,
                "job_id": None if job is None else job_ids[job],
                "crew_id": None if crew is None else crew_ids[crew],
                "attributes": detail,
            }
        )
        if kind == "inspection" and ops.asset_status.get(i) == "warning" and e == latest_check[i]:
            numbering[(i, "note")] += 1
            rows.append(
                {
                    **rows[-1],
                    "kind": "note",
                    "ts": min(rows[-1]["ts"] + timedelta(days=1), plan.as_of),
                    "description": "Flagged for follow-up after a poor inspection grade",
                    "source_id": f"{assets[i].source_id}/note/{numbering[(i, 'note')]}",
                    "attributes": {"flag": "poor_condition"},
                }
            )
    return rows
