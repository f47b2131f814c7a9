"""The live city: crews drive and work jobs, sensors report, citizens call in.

Everything goes through the backend's command API (:class:`CommandClient`),
never the database: the simulator is just another client, so the demo
exercises exactly the paths a real deployment uses. It keeps its own view of
jobs and crews from periodic snapshots and from its commands' replies; when
someone else changed a job first (a conflict), it refreshes that view.

Time is simulated (:class:`SimClock`): ``speed`` fast-forwards crews, sensors
and citizens alike. What the backend records is stamped with wall-clock time
(it is the record of when things were said), so a speed of 10 shows crews
driving ten times faster and due times ten times closer, as a demo should.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from backend.protocol.columns import readings_columns, to_micros
from backend.routing.graph import RoadGraph, RoadRecord
from backend.routing.paths import Router
from backend.routing.recommend import CrewSpec, JobSpec, RecommendPolicy, recommend
from backend.simulator.clock import SimClock
from backend.simulator.driving import RouteFollower
from backend.simulator.replay import ReplayReport, skills_for
from backend.simulator.telemetry import SensorModel, random_fault
from backend.telemetry.catalog import metrics_for

log = logging.getLogger(__name__)

#: What citizens report about each asset kind, and what a job for it needs.
REPORTS: dict[str, tuple[str, list[str], int]] = {
    "street_light": ("Street Light Outages", ["electrical"], 4),
    "traffic_signal": ("Traffic Signal Repair", ["signals"], 2),
    "hydrant": ("Hydrant Leak", ["water"], 3),
    "pump": ("Pumping Station Fault", ["water", "mechanical"], 2),
    "transformer": ("Power Outage", ["electrical"], 1),
    "substation": ("Power Outage", ["electrical"], 1),
    "building": ("Building Maintenance", ["general"], 4),
}
#: How long a job keeps a crew on site, by priority (simulated minutes, mean).
WORK_MINUTES = {1: 90.0, 2: 60.0, 3: 45.0, 4: 30.0, 5: 20.0}
SIM_USER = "simulator"
SIM_DISPATCHER = "sim-dispatcher"


class Bus(Protocol):
    """The part of :class:`backend.protocol.client.CommandClient` the simulator uses."""

    def command(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        key: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]: ...

    def snapshot(self, prefix: str = "") -> tuple[int, dict[str, dict[str, Any]]]: ...


@dataclass(slots=True)
class SimOptions:
    """Knobs of the simulation (rates are per simulated hour)."""

    speed: float = 10.0
    seed: int = 1
    position_every_s: float = 5.0  # simulated seconds between crew position reports
    reading_every_s: float = 60.0  # simulated seconds between sensor readings
    max_sensors: int = 1500  # assets that send telemetry (the rest are quiet)
    faults_per_hour: float = 2.0  # new sensor faults across the city
    reports_per_hour: float = 12.0  # citizen reports
    auto_dispatch: bool = True  # a simulated dispatcher staffs jobs nobody took
    auto_dispatch_after_s: float = 600.0  # ... after they waited this long (simulated)
    refresh_every_s: float = 5.0  # wall seconds between view refreshes from snapshots
    replay: list[ReplayReport] = field(default_factory=list)  # a real 311 export, in order


@dataclass(slots=True)
class CrewSim:
    """One crew's simulated state."""

    crew_id: int
    lon: float
    lat: float
    heading: float = 0.0
    job_id: int | None = None
    follower: RouteFollower | None = None
    work_left_s: float = 0.0
    moved: bool = True


@dataclass(slots=True)
class SimStats:
    """What the simulator has done (for logs and tests)."""

    positions: int = 0
    readings: int = 0
    reports: int = 0
    status_changes: int = 0
    dispatches: int = 0
    conflicts: int = 0
    errors: int = 0
    faults: int = 0
    ticks: int = 0


@dataclass
class CitySimulator:
    """Drives the city one tick at a time; :meth:`run` loops until stopped."""

    bus: Bus
    roads: Sequence[RoadRecord]
    clock: SimClock
    options: SimOptions = field(default_factory=SimOptions)
    stats: SimStats = field(default_factory=SimStats)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.options.seed)
        self.np_rng = np.random.default_rng(self.options.seed)
        self.router = Router(RoadGraph.from_records(self.roads))
        self.crews: dict[int, CrewSim] = {}
        self.jobs: dict[int, dict[str, Any]] = {}
        self.crew_rows: dict[int, dict[str, Any]] = {}
        self.assets: dict[int, dict[str, Any]] = {}
        self.sensors: dict[int, SensorModel] = {}
        self._last_tick: datetime | None = None
        self._next_positions: datetime | None = None
        self._next_readings: datetime | None = None
        self._started: datetime | None = None
        self._replayed = 0

    # -- view of the city -----------------------------------------------------------------
    def refresh(self) -> None:
        """Reload jobs, crews and (once) assets from snapshots."""
        _, jobs = self.bus.snapshot("job")
        _, crews = self.bus.snapshot("crew")
        self.jobs = {e["id"]: e for e in jobs.values()}
        self.crew_rows = {e["id"]: e for e in crews.values()}
        for crew in crews.values():
            if crew["id"] in self.crews:
                continue
            lon = crew.get("last_lon") or crew.get("depot_lon")
            lat = crew.get("last_lat") or crew.get("depot_lat")
            if lon is None or lat is None:
                continue
            self.crews[crew["id"]] = CrewSim(crew["id"], float(lon), float(lat))
        if not self.assets:
            _, assets = self.bus.snapshot("asset")
            self.assets = {e["id"]: e for e in assets.values() if e.get("lon") is not None}
            self._choose_sensors()

    def _choose_sensors(self) -> None:
        monitored = sorted(a for a, e in self.assets.items() if metrics_for(e["kind"]))
        # Pumps, transformers and signals first: they are what a control room watches.
        weight = {"pump": 0, "transformer": 0, "substation": 0, "traffic_signal": 1}
        monitored.sort(key=lambda a: (weight.get(self.assets[a]["kind"], 2), a))
        for asset_id in monitored[: self.options.max_sensors]:
            self.sensors[asset_id] = SensorModel(
                asset_id, self.assets[asset_id]["kind"], np.random.default_rng(asset_id)
            )

    # -- one tick --------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the city to the clock's now, sending what happened in batches."""
        now = self.clock.now()
        if self._last_tick is None:
            self._last_tick = now
            self._started = now
            self._next_positions = now
            self._next_readings = now
        dt = (now - self._last_tick).total_seconds()
        self._last_tick = now
        self.stats.ticks += 1
        self._work_jobs(now, dt)
        assert self._next_positions is not None and self._next_readings is not None
        if now >= self._next_positions:
            self._send_positions(now)
            self._next_positions = now + timedelta(seconds=self.options.position_every_s)
        if now >= self._next_readings:
            self._send_readings(now)
            self._next_readings = now + timedelta(seconds=self.options.reading_every_s)
        self._maybe_faults(now, dt)
        self._maybe_reports(now, dt)
        if self.options.auto_dispatch:
            self._auto_dispatch(now)

    def _command(self, name: str, args: dict[str, Any], user: str = SIM_USER) -> dict | None:
        from backend.protocol.client import CommandFailed

        try:
            reply = self.bus.command(name, args, user=user)
        except CommandFailed as exc:
            if exc.code == "conflict":
                self.stats.conflicts += 1
                self.refresh()
            else:
                self.stats.errors += 1
                log.info("simulator: %s refused: %s", name, exc)
            return None
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    # -- crews and jobs ----------------------------------------------------------------------
    def _set_status(self, job: dict[str, Any], status: str) -> bool:
        result = self._command(
            "set_job_status", {"job_id": job["id"], "status": status, "version": job["version"]}
        )
        if result is None:
            return False
        job["status"] = status
        job["version"] = result.get("version", job["version"] + 1)
        self.stats.status_changes += 1
        return True

    def _work_jobs(self, now: datetime, dt: float) -> None:
        for crew in self.crews.values():
            job = self.jobs.get(crew.job_id) if crew.job_id is not None else None
            if job is None or job.get("crew_id") != crew.crew_id:
                crew.job_id, crew.follower = None, None
                job = self._next_job_for(crew.crew_id)
                if job is None:
                    continue
                crew.job_id = job["id"]
            if job["status"] == "assigned":
                route = self.router.route_lonlat(crew.lon, crew.lat, job["lon"], job["lat"])
                if route is None or route.seconds <= 0 or len(route.coords) < 2:
                    coords = [(crew.lon, crew.lat), (float(job["lon"]), float(job["lat"]))]
                    speed = 8.0
                else:
                    coords = list(route.coords)
                    speed = max(route.meters / route.seconds, 2.0)
                crew.follower = RouteFollower(coords, [speed])
                self._set_status(job, "en_route")
            elif job["status"] == "en_route":
                if crew.follower is None:
                    crew.follower = RouteFollower(
                        [(crew.lon, crew.lat), (float(job["lon"]), float(job["lat"]))], [8.0]
                    )
                crew.lon, crew.lat, crew.heading = crew.follower.advance(dt)
                crew.moved = True
                if crew.follower.done and self._set_status(job, "on_site"):
                    mean = WORK_MINUTES.get(int(job.get("priority") or 3), 45.0) * 60.0
                    crew.work_left_s = self.rng.expovariate(1.0 / mean)
            elif job["status"] == "on_site":
                crew.work_left_s -= dt
                if crew.work_left_s <= 0 and self._set_status(job, "done"):
                    asset_id = job.get("asset_id")
                    if asset_id in self.sensors:
                        self.sensors[asset_id].repair()
                    crew.job_id, crew.follower = None, None

    def _next_job_for(self, crew_id: int) -> dict[str, Any] | None:
        mine = [
            j
            for j in self.jobs.values()
            if j.get("crew_id") == crew_id and j["status"] in ("assigned", "en_route", "on_site")
        ]
        if not mine:
            return None
        # Work already started first, then by priority and age.
        order = {"on_site": 0, "en_route": 1, "assigned": 2}
        mine.sort(key=lambda j: (order[j["status"]], j.get("priority") or 3, j["id"]))
        job = mine[0]
        return job if job.get("lon") is not None and job.get("lat") is not None else None

    def _send_positions(self, now: datetime) -> None:
        batch = [
            {
                "crew_id": c.crew_id,
                "lon": c.lon,
                "lat": c.lat,
                "heading": c.heading,
                "ts": _wall_now(),
            }
            for c in self.crews.values()
            if c.moved or c.job_id is not None
        ]
        if batch and self._command("update_crew_positions", {"positions": batch}) is not None:
            self.stats.positions += len(batch)
            for c in self.crews.values():
                c.moved = False

    # -- sensors ------------------------------------------------------------------------------
    def _send_readings(self, now: datetime) -> None:
        """One period of every sensor, sent as columns in commands of up to 5,000 readings."""
        stamp = to_micros(_wall_now())
        rows = [
            (asset_id, name, value)
            for asset_id, sensor in self.sensors.items()
            for name, value in sensor.sample(now)
        ]
        names = list(dict.fromkeys(name for _, name, _ in rows))
        code = {name: i for i, name in enumerate(names)}
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            columns = readings_columns(
                np.array([a for a, _, _ in chunk]),
                names,
                np.array([code[m] for _, m, _ in chunk]),
                np.full(len(chunk), stamp),
                np.array([v for _, _, v in chunk], dtype=float),
            )
            if self._command("ingest_readings", {"columns": columns}) is not None:
                self.stats.readings += len(chunk)

    def _maybe_faults(self, now: datetime, dt: float) -> None:
        if not self.sensors:
            return
        for _ in range(self._poisson(self.options.faults_per_hour, dt)):
            asset_id = self.rng.choice(sorted(self.sensors))
            fault = random_fault(self.sensors[asset_id], now)
            if fault is not None:
                self.sensors[asset_id].inject(fault)
                self.stats.faults += 1

    # -- citizens -----------------------------------------------------------------------------
    def _maybe_reports(self, now: datetime, dt: float) -> None:
        if self.options.replay:
            self._replay_reports(now)
            return
        reportable = [a for a, e in self.assets.items() if e["kind"] in REPORTS]
        if not reportable:
            return
        for _ in range(self._poisson(self.options.reports_per_hour, dt)):
            asset = self.assets[self.rng.choice(reportable)]
            category, skills, priority = REPORTS[asset["kind"]]
            # Citizens stand near the thing, not on it.
            lon = float(asset["lon"]) + self.rng.gauss(0, 0.0002)
            lat = float(asset["lat"]) + self.rng.gauss(0, 0.0001)
            hours = {1: 2, 2: 4, 3: 24, 4: 72, 5: 168}[priority]
            due = _wall_now() + timedelta(hours=hours / self.clock.speed)
            args = {
                "category": category,
                "description": f"{category} near {asset.get('name') or asset['kind']}",
                "lon": lon,
                "lat": lat,
                "asset_id": asset["id"],
                "channel": self.rng.choice(["app", "phone", "web", "app", "phone"]),
                "job": {
                    "title": f"{category}: {asset.get('name') or asset['id']}",
                    "priority": priority,
                    "skills": skills,
                    "due_at": due,
                },
            }
            if self._command("report_issue", args) is not None:
                self.stats.reports += 1

    def _replay_reports(self, now: datetime) -> None:
        """Send the recorded reports whose (compressed) time has come."""
        reports = self.options.replay
        assert self._started is not None
        elapsed = now - self._started
        first = reports[0].requested_at
        while (
            self._replayed < len(reports)
            and reports[self._replayed].requested_at - first <= elapsed
        ):
            r = reports[self._replayed]
            self._replayed += 1
            due = _wall_now() + timedelta(hours=24 / self.clock.speed)
            args = {
                "category": r.category,
                "description": r.description,
                "lon": r.lon,
                "lat": r.lat,
                "address": r.address,
                "channel": r.channel or "phone",
                "job": {
                    "title": r.category,
                    "priority": 3,
                    "skills": skills_for(r.category),
                    "due_at": due,
                },
            }
            if self._command("report_issue", args) is not None:
                self.stats.reports += 1

    def _poisson(self, per_hour: float, dt: float) -> int:
        lam = max(per_hour, 0.0) * max(dt, 0.0) / 3600.0
        return int(self.np_rng.poisson(lam)) if lam > 0 else 0

    # -- the simulated dispatcher -----------------------------------------------------------
    def _auto_dispatch(self, now: datetime) -> None:
        waiting = [
            j
            for j in self.jobs.values()
            if j["status"] == "new"
            and j.get("lon") is not None
            and _age_s(j.get("created_at")) * self.clock.speed >= self.options.auto_dispatch_after_s
        ]
        if not waiting:
            return
        workload: dict[int, int] = {}
        for j in self.jobs.values():
            if j.get("crew_id") is not None and j["status"] in ("assigned", "en_route", "on_site"):
                workload[j["crew_id"]] = workload.get(j["crew_id"], 0) + 1
        crews = [
            CrewSpec(
                crew_id=cid,
                lon=sim.lon,
                lat=sim.lat,
                last_seen=now,  # the simulator knows where its crews are
                skills=frozenset(self.crew_rows.get(cid, {}).get("skills") or []),
                workload=workload.get(cid, 0),
                on_shift=self.crew_rows.get(cid, {}).get("status") != "off_shift",
            )
            for cid, sim in self.crews.items()
        ]
        for job in sorted(waiting, key=lambda j: (j.get("priority") or 3, j["id"]))[:3]:
            spec = JobSpec(
                job["id"], float(job["lon"]), float(job["lat"]), frozenset(job["skills"])
            )
            choice = recommend(self.router, spec, crews, now, RecommendPolicy(top=1))
            if not choice.choices:
                continue
            crew_id = choice.choices[0].crew_id
            args = {"job_id": job["id"], "crew_id": crew_id, "version": job["version"]}
            result = self._command("assign_job", args, user=SIM_DISPATCHER)
            if result is not None:
                job.update(status="assigned", crew_id=crew_id, version=result["version"])
                self.stats.dispatches += 1


def _wall_now() -> datetime:
    return datetime.now(UTC)


def _age_s(wire_ts: Any) -> float:
    """Wall seconds since a wire timestamp (inf when there is none)."""
    if not isinstance(wire_ts, str):
        return math.inf
    try:
        ts = datetime.fromisoformat(wire_ts.replace("Z", "+00:00"))
    except ValueError:
        return math.inf
    return (_wall_now() - ts).total_seconds()
