"""The demo city: believable counts, a connected road graph, determinism, refusal, the CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from backend.db.engine import make_engine
from backend.db.migrate import upgrade
from backend.db.models import (
    ROLES,
    Asset,
    AssetEvent,
    Citizen,
    CitizenInteraction,
    Crew,
    Event,
    Issue,
    Job,
    KnowledgeArticle,
    Road,
    User,
)
from backend.demo_city.common import CENTER_LAT, CENTER_LON
from backend.demo_city.generate import DemoCityRefused, build_demo_city, plan_city

ROOT = Path(__file__).resolve().parents[3]
AS_OF = datetime(2025, 3, 1, 9, tzinfo=UTC)
KINDS = (
    "building",
    "hydrant",
    "pump",
    "street_light",
    "traffic_signal",
    "transformer",
    "water_main",
)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_builds_a_believable_city_once(engine: Engine) -> None:
    counts = build_demo_city(engine, seed=5, as_of=AS_OF)
    with Session(engine) as s:
        roads = _count(s, Road)
        assert 2000 <= roads <= 5000 and counts["roads"] == roads
        classes = Counter(s.scalars(select(Road.road_class)))
        assert {"primary", "secondary", "tertiary", "residential", "service", "footway"} <= set(
            classes
        )
        assert (
            s.scalar(select(func.count()).where(Road.road_class == "footway", Road.drivable)) == 0
        )
        assert s.scalar(select(func.count()).where(Road.oneway != 0)) >= 50
        assert s.scalar(select(func.count()).where(Road.name.is_not(None))) > roads * 0.8

        by_kind = dict(Counter(s.scalars(select(Asset.kind))))
        assert set(by_kind) == set(KINDS) and by_kind == counts["assets_by_kind"]
        assert 5000 <= sum(by_kind.values()) <= 20000
        assert by_kind["street_light"] > 3000 and 10 <= by_kind["pump"] <= 30
        assert by_kind["traffic_signal"] >= 30 and by_kind["building"] >= 100
        lon, lat = zip(*s.execute(select(Asset.lon, Asset.lat)), strict=True)
        assert (
            max(abs(np.array(lon) - CENTER_LON)) < 0.1
            and max(abs(np.array(lat) - CENTER_LAT)) < 0.1
        )
        statuses = Counter(s.scalars(select(Asset.status)))
        assert statuses["ok"] > 0.95 * sum(by_kind.values())
        assert statuses["warning"] > 0 and statuses["out_of_service"] + statuses["under_repair"] > 0
        building = s.scalars(select(Asset).where(Asset.kind == "building").limit(1)).one()
        assert building.geom is not None and building.geom.geom_type == "Polygon"
        assert building.geom.centroid.distance(shapely.Point(building.lon, building.lat)) < 1e-4
        assert all(a.install_date is not None for a in s.scalars(select(Asset).limit(500)))

        events = Counter(s.scalars(select(AssetEvent.kind)))
        assert {"install", "inspection", "failure", "repair", "note"} <= set(events)
        assert (
            events["install"] == sum(by_kind.values())
            and sum(events.values()) == counts["asset_events"]
        )
        latest = s.scalar(select(func.max(AssetEvent.ts)))
        assert latest is not None and latest <= AS_OF
        assert s.scalar(select(func.count()).where(AssetEvent.crew_id.is_not(None))) > 1000

        crews = list(s.scalars(select(Crew)))
        assert 10 <= len(crews) <= 20
        assert len({(c.depot_lon, c.depot_lat) for c in crews}) in (2, 3)
        assert all(c.members and c.skills and c.last_seen_at is not None for c in crews)
        assert {"electrical", "water", "signals", "roads", "general"} <= {
            k for c in crews for k in c.skills
        }
        assert set(s.scalars(select(User.role))) == set(ROLES)

        open_issues = list(s.scalars(select(Issue).where(Issue.status != "closed")))
        assert len(open_issues) >= 15 and all(i.source == "demo" for i in open_issues)
        assert sum(1 for i in open_issues if i.asset_id is not None) >= 5
        jobs = list(s.scalars(select(Job)))
        assert any(j.crew_id is not None and j.status in ("en_route", "on_site") for j in jobs)
        assert all(j.due_at is not None and j.skills for j in jobs)
        down = s.scalars(
            select(Asset.id).where(Asset.status.in_(["out_of_service", "under_repair"]))
        )
        open_asset_issues = {i.asset_id for i in open_issues}
        assert set(down) <= open_asset_issues
        assert _count(s, Citizen) > 20 and _count(s, CitizenInteraction) > _count(s, Issue)
        assert _count(s, KnowledgeArticle) >= 5

        (event,) = s.scalars(select(Event).where(Event.type == "demo_city.generated"))
        assert event.topic == "city" and event.body["roads"] == roads and event.body["seed"] == 5

    with pytest.raises(DemoCityRefused):
        build_demo_city(engine, seed=6, as_of=AS_OF)
    with Session(engine) as s:
        assert _count(s, Road) == roads and _count(s, Event) == 1


def test_drivable_network_is_one_strongly_connected_graph(engine: Engine) -> None:
    build_demo_city(engine, seed=11, as_of=AS_OF)
    with Session(engine) as s:
        rows = s.execute(select(Road.geom, Road.oneway).where(Road.drivable)).all()
    lines = [geom for geom, _oneway in rows]

    def key(point: tuple[float, ...]) -> tuple[float, float]:
        return (round(point[0], 7), round(point[1], 7))

    forward: dict[tuple[float, float], list[tuple[float, float]]] = defaultdict(list)
    backward: dict[tuple[float, float], list[tuple[float, float]]] = defaultdict(list)
    for line, oneway in rows:
        a, b = key(line.coords[0]), key(line.coords[-1])
        forward.setdefault(b, [])
        forward.setdefault(a, [])
        if oneway >= 0:
            forward[a].append(b)
            backward[b].append(a)
        if oneway <= 0:
            forward[b].append(a)
            backward[a].append(b)

    def reach(
        graph: dict[tuple[float, float], list[tuple[float, float]]], start: tuple[float, float]
    ) -> int:
        seen, todo = {start}, deque([start])
        while todo:
            for nxt in graph[todo.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return len(seen)

    start = next(iter(forward))
    assert reach(forward, start) == len(forward)  # every node reachable from one...
    assert reach(backward, start) == len(forward)  # ...and it from every node: one-ways honoured

    # Segments end at intersections: no two drivable roads cross without a shared node.
    tree = shapely.STRtree(lines)
    crossing = tree.query(lines, predicate="crosses")
    assert crossing.shape[1] == 0
    # ...and no segment's end sits in the middle of another one.
    ends = [shapely.Point(line.coords[k]) for line in lines for k in (0, -1)]
    hits = shapely.STRtree(ends).query(lines, predicate="dwithin", distance=1e-7)
    for line_index, end_index in hits.T:
        line = lines[line_index]
        assert key(ends[end_index].coords[0]) in {key(line.coords[0]), key(line.coords[-1])}


def _content_hash(path: Path) -> str:
    engine = make_engine(f"sqlite:///{path}")
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in (
            "roads",
            "assets",
            "asset_events",
            "crews",
            "users",
            "citizens",
            "issues",
            "jobs",
            "citizen_interactions",
            "knowledge_articles",
        ):
            for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id")):
                digest.update(repr(tuple(row)).encode())
        for row in conn.execute(text("SELECT seq, type, topic, body FROM events ORDER BY seq")):
            digest.update(repr(tuple(row)).encode())
    engine.dispose()
    return digest.hexdigest()


def test_same_seed_same_city_other_seed_other_city(tmp_path: Path) -> None:
    hashes = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        path = tmp_path / f"{name}.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        build_demo_city(engine, seed=seed, as_of=AS_OF)
        engine.dispose()
        hashes.append(_content_hash(path))
    assert hashes[0] == hashes[1]
    assert hashes[2] != hashes[0]


def test_as_of_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="zone"):
        plan_city(1, datetime(2025, 1, 1))


def test_histories_follow_the_hidden_hazard() -> None:
    plan = plan_city(2, AS_OF)
    items = plan.assets.assets
    hist = plan.histories
    kinds = np.array([a.kind for a in items])
    failures = np.bincount(hist.asset[np.array(hist.kind) == "failure"], minlength=len(items))
    exposure = np.array([a.age_years for a in items])
    lights = np.flatnonzero((kinds == "street_light") & (exposure > 5))
    rate = failures[lights] / exposure[lights]
    frail = plan.histories.truth.log_frailty[lights]
    low, high = np.quantile(frail, [0.25, 0.75])
    assert rate[frail >= high].mean() > 2 * rate[frail <= low].mean()
    lamp = np.array([items[i].attributes["lamp_type"] for i in lights])
    assert rate[lamp == "mercury"].mean() > rate[lamp == "LED"].mean()
    # Inspection grades read the risk: a poor grade is followed by a failure more often.
    kind = np.array(hist.kind)
    failure_times: dict[int, list[float]] = defaultdict(list)
    for e in np.flatnonzero(kind == "failure"):
        failure_times[int(hist.asset[e])].append(float(hist.years_before[e]))
    grade_rows = [
        (d["condition"], any(0 < t - f < 1.0 for f in failure_times[int(hist.asset[e])]))
        for e, d in enumerate(hist.detail)
        if kind[e] == "inspection" and hist.years_before[e] > 1.0
        for t in [float(hist.years_before[e])]
    ]
    grade = np.array([g for g, _failed in grade_rows])
    failed = np.array([f for _g, f in grade_rows])
    assert set(np.unique(grade)) == {1, 2, 3, 4, 5}
    assert failed[grade == 5].mean() > 2 * failed[grade == 1].mean()


def test_cli_prints_the_counts(db_url: str) -> None:
    command = [sys.executable, "main.py", "demo-city", "--db", db_url, "--seed", "3"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["seed"] == 3 and counts["roads"] > 2000 and counts["assets"] > 5000
    assert counts["crews"] >= 10 and counts["issues"] > 0
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert again.returncode == 2 and "already holds a demo city" in again.stderr
