"""The demo city's people and work: crews, users, citizens, issues, jobs, knowledge.

Everything here follows from the asset histories: an asset whose last failure
is not yet repaired has an open issue and a job (under repair when its crew is
on site, out of service otherwise); failures repaired in the last month are
closed issues with done jobs; assets that graded 5 at a recent inspection
are in warning with a preventive job. Citizen reports (potholes, graffiti,
dumping, flickering lamps) fill in the rest. Times are hours before ``as_of``
(negative: in the future), turned into datetimes when rows are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from backend.demo_city.assets import AssetPlan, Depot, PlannedAsset
from backend.demo_city.common import TIMEZONE
from backend.demo_city.hazard import Histories
from backend.demo_city.names import FIRST_NAMES, LAST_NAMES, person
from backend.demo_city.streets import StreetNetwork

#: (category / Open311 service_name, service_code, skill, priority, agency) per asset kind.
CATEGORY = {
    "street_light": ("Street Light Outage", "streetlight_out", "electrical", 4, "Street Lighting"),
    "traffic_signal": ("Traffic Signal Repair", "signal_repair", "signals", 1, "Traffic"),
    "hydrant": ("Hydrant Leak", "hydrant_leak", "water", 3, "Water Services"),
    "water_main": ("Water Main Break", "main_break", "water", 1, "Water Services"),
    "pump": ("Pumping Station Fault", "pump_fault", "water", 2, "Water Services"),
    "transformer": ("Power Outage", "power_outage", "electrical", 1, "Electricity"),
    "building": ("Building Fault", "building_fault", "general", 3, "Facilities"),
}
#: Reports that are not an asset failure: (category, code, skill, priority, agency, asset kind).
OTHER_CATEGORIES = (
    ("Pothole", "pothole", "roads", 3, "Highways", None),
    ("Graffiti Removal", "graffiti", "general", 5, "Street Cleaning", "building"),
    ("Illegal Dumping", "illegal_dumping", "general", 4, "Street Cleaning", None),
    ("Damaged Sign", "sign_damage", "roads", 4, "Highways", None),
    (
        "Street Light Flickering",
        "streetlight_flicker",
        "electrical",
        4,
        "Street Lighting",
        "street_light",
    ),
)
#: Hours from report to due time, by priority (1 most urgent).
SLA_HOURS = {1: 4, 2: 12, 3: 72, 4: 168, 5: 336}
#: Kinds whose faults arrive from telemetry rather than from citizens.
SENSOR_KINDS = frozenset({"traffic_signal", "pump", "transformer"})

CREW_SPECS = (
    ("E1 Lighting", ("electrical",)),
    ("E2 Lighting", ("electrical",)),
    ("E3 Power", ("electrical", "general")),
    ("E4 Power", ("electrical",)),
    ("S1 Signals", ("signals", "electrical")),
    ("S2 Signals", ("signals", "electrical")),
    ("W1 Mains", ("water", "roads")),
    ("W2 Mains", ("water", "roads")),
    ("W3 Hydrants", ("water",)),
    ("W4 Pumps", ("water", "electrical")),
    ("R1 Roads", ("roads", "general")),
    ("R2 Roads", ("roads",)),
    ("G1 General", ("general",)),
    ("G2 Facilities", ("general", "electrical")),
)
SHIFTS = (("07:00", "15:00"), ("15:00", "23:00"), ("23:00", "07:00"))
USERS = (
    ("ana", "Ana Ferreira", "dispatcher"),
    ("jonas", "Jonas Weber", "dispatcher"),
    ("ben", "Ben Okafor", "operator"),
    ("chen", "Chen Wei", "operator"),
    ("dara", "Dara Murphy", "shift_lead"),
    ("fatima", "Fatima Demir", "admin"),
)
ARTICLES = (
    (
        "Street light out: first checks",
        "Check the photocell first (cover it in daylight: the lamp should strike within two "
        "minutes). Then the fuse in the column base, then the lamp or LED driver. Several "
        "dark lamps in a row point to a cable fault: call E3/E4 Power before digging.",
        ["street_light", "electrical"],
    ),
    (
        "Traffic signal in flash mode",
        "A controller that falls back to flashing amber has found a conflict. Read the fault "
        "log before resetting; two resets in an hour mean a site visit. Detector loop faults "
        "keep the junction running on fixed time: schedule, do not rush.",
        ["traffic_signal", "signals"],
    ),
    (
        "Water main break: isolating the section",
        "Find the two nearest valves on the main in the GIS, warn the hydrant crew, close "
        "valves slowly (water hammer). Notify customers in the pressure zone through the "
        "citizen record; expect a road closure request for mains under arterials.",
        ["water_main", "water"],
    ),
    (
        "Hydrant leaking at the base",
        "Usually a worn drain valve or seal. Close the isolating valve, replace the seal, "
        "flush for two minutes, record the flow class in the inspection.",
        ["hydrant", "water"],
    ),
    (
        "Pumping station trips: seal and bearing faults",
        "Rising vibration and temperature precede most trips. Swap to the standby pump, "
        "then check the mechanical seal and bearings. Lift stations by the river flood "
        "after heavy rain: check the wet well level first.",
        ["pump", "water"],
    ),
    (
        "Transformer oil leak: safety first",
        "Keep the public away, do not touch a leaking unit under load. Call the utility "
        "control room to switch out the feeder. Ester-filled units are less hazardous, "
        "mineral oil needs the spill kit.",
        ["transformer", "electrical"],
    ),
    (
        "Who to call for a building fault out of hours",
        "Facilities on-call (G2) handles heating, lifts and alarms; roof leaks wait for day "
        "shift unless water reaches electrics. Schools first in winter.",
        ["building", "general"],
    ),
)


@dataclass(slots=True)
class CrewPlan:
    """A crew before it has an id."""

    name: str
    members: list[str]
    skills: list[str]
    depot: Depot
    shift: tuple[str, str]
    status: str = "available"
    last_xy: np.ndarray | None = None
    heading: float = 0.0
    seen_minutes_ago: float = 5.0


@dataclass(slots=True)
class IssuePlan:
    """An Open311-style service request before it has an id."""

    source_id: str
    category: str
    service_code: str
    agency: str
    description: str
    xy: np.ndarray
    address: str
    status: str
    requested_h: float
    channel: str
    citizen: int | None
    asset: int | None
    priority: int
    skill: str
    updated_h: float | None = None
    closed_h: float | None = None
    status_notes: str | None = None


@dataclass(slots=True)
class JobPlan:
    """A work order before it has an id."""

    title: str
    priority: int
    skills: list[str]
    xy: np.ndarray
    created_h: float
    due_h: float
    status: str
    issue: int | None = None
    asset: int | None = None
    crew: int | None = None
    assigned_h: float | None = None
    closed_h: float | None = None


@dataclass(slots=True)
class Operations:
    """Everything operational the generator writes besides roads, assets and histories."""

    crews: list[CrewPlan]
    citizens: list[dict[str, Any]]
    issues: list[IssuePlan] = field(default_factory=list)
    jobs: list[JobPlan] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    asset_status: dict[int, str] = field(default_factory=dict)
    event_job: dict[int, int] = field(default_factory=dict)  # history event index -> job
    event_crew: dict[int, int] = field(default_factory=dict)  # history event index -> crew


def _on_shift(shift: tuple[str, str], local_hour: float) -> bool:
    start, end = (int(t[:2]) + int(t[3:]) / 60 for t in shift)
    return start <= local_hour < end if start < end else local_hour >= start or local_hour < end


def plan_operations(
    rng: np.random.Generator,
    net: StreetNetwork,
    assets: AssetPlan,
    hist: Histories,
    as_of: datetime,
) -> Operations:
    """Crews, citizens, issues, jobs and interactions consistent with the histories."""
    local = as_of.astimezone(ZoneInfo(TIMEZONE))
    local_hour = local.hour + local.minute / 60
    crews: list[CrewPlan] = []
    for k, (name, skills) in enumerate(CREW_SPECS):
        shift = SHIFTS[0] if k % 7 < 4 else SHIFTS[1] if k % 7 < 6 else SHIFTS[2]
        depot = assets.depots[k % len(assets.depots)]
        crew = CrewPlan(
            name, [person(rng) for _ in range(int(rng.integers(2, 5)))], list(skills), depot, shift
        )
        crew.status = "available" if _on_shift(shift, local_hour) else "off_shift"
        crew.last_xy = depot.xy + rng.normal(0, 12, 2)
        crew.heading = float(rng.uniform(0, 360))
        crew.seen_minutes_ago = (
            float(rng.uniform(0.2, 8))
            if crew.status != "off_shift"
            else float(rng.uniform(60, 600))
        )
        crews.append(crew)
    citizens = _citizens(rng, as_of)
    ops = Operations(crews, citizens)
    a = assets.assets
    kinds = np.array([x.kind for x in a])
    years = hist.years_before
    ev_kind = np.array(hist.kind)

    def crew_for(skill: str, active_only: bool) -> int | None:
        options = [
            i
            for i, c in enumerate(crews)
            if skill in c.skills and (c.status == "available" or not active_only)
        ]
        return int(options[int(rng.integers(len(options)))]) if options else None

    # Historic repairs were done by some crew with the right skill.
    for e in np.flatnonzero(ev_kind == "repair"):
        worker = crew_for(CATEGORY[kinds[hist.asset[e]]][2], active_only=False)
        if worker is not None:
            ops.event_crew[int(e)] = worker

    # Assets down now: open issues with jobs in every state of progress.
    failures = np.flatnonzero(ev_kind == "failure")
    latest = np.full(len(a), np.inf)
    np.minimum.at(latest, hist.asset[failures], years[failures])
    for e in failures:
        i = int(hist.asset[e])
        if not hist.down[i] or years[e] != latest[i]:
            continue
        hours = float(years[e]) * 365.25 * 24
        issue = _asset_issue(
            rng, ops, a[i], i, hours - float(rng.uniform(0.1, 1.5)), hist.detail[e]
        )
        job_status = str(
            rng.choice(["new", "assigned", "en_route", "on_site"], p=[0.25, 0.25, 0.2, 0.3])
        )
        job = _job_for(rng, ops, issue, job_status, crew_for)
        ops.event_job[int(e)] = job
        ops.asset_status[i] = (
            "under_repair" if ops.jobs[job].status == "on_site" else "out_of_service"
        )

    # Failures repaired in the last month: closed issues, done jobs.
    recent = np.flatnonzero((ev_kind == "repair") & (years < 30 / 365.25))
    for e in recent:
        i = int(hist.asset[e])
        own = failures[(hist.asset[failures] == i) & (years[failures] > years[e])]
        f = int(own[np.argmin(years[own])])
        hours = float(years[f]) * 365.25 * 24
        issue = _asset_issue(
            rng, ops, a[i], i, hours - float(rng.uniform(0.1, 1.5)), hist.detail[f]
        )
        closed_h = float(years[e]) * 365.25 * 24
        job = _job_for(rng, ops, issue, "done", crew_for, closed_h=closed_h)
        ops.event_job[int(f)] = ops.event_job[int(e)] = job
        worker = ops.jobs[job].crew
        if worker is not None:
            ops.event_crew[int(e)] = worker
        ops.issues[issue].status = "closed"
        ops.issues[issue].closed_h = ops.issues[issue].updated_h = closed_h
        ops.issues[issue].status_notes = f"Fixed: {hist.detail[e]['action']}."

    # Poor condition at a recent inspection: warning, and a preventive job for some.
    last_insp = np.full(len(a), np.inf)
    insp = np.flatnonzero(ev_kind == "inspection")
    np.minimum.at(last_insp, hist.asset[insp], years[insp])
    warn = np.flatnonzero((hist.last_grade == 5) & (last_insp < 1.5) & ~hist.down)
    for w in warn:
        ops.asset_status[int(w)] = "warning"
    for w in rng.permutation(warn)[: max(3, len(warn) // 3)]:
        x = a[int(w)]
        ops.jobs.append(
            JobPlan(
                f"Follow up poor inspection: {x.name}",
                3,
                [CATEGORY[x.kind][2]],
                x.xy,
                float(last_insp[w] * 365.25 * 24),
                float(last_insp[w] * 365.25 * 24) - 24 * 14,
                "new",
                asset=int(w),
            )
        )

    _citizen_reports(rng, ops, net, a, kinds, crew_for)
    _crew_positions(rng, ops)
    _interactions(rng, ops)
    return ops


def _citizens(rng: np.random.Generator, as_of: datetime) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(out) < 45:
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
        email = f"{first}.{last}@example.org".lower()
        if email in seen:
            continue
        seen.add(email)
        out.append(
            {
                "name": f"{first} {last}",
                "email": email,
                "phone": f"+49 581 555 {int(rng.integers(1000, 9999))}",
                "created_h": float(rng.uniform(24 * 40, 24 * 365 * 4)),
                "notify": bool(rng.random() < 0.85),
            }
        )
    return out


def _address(rng: np.random.Generator, street: str | None) -> str:
    return f"{int(rng.integers(1, 120))} {street}" if street else "near the river"


def _asset_issue(
    rng: np.random.Generator,
    ops: Operations,
    x: PlannedAsset,
    index: int,
    hours: float,
    detail: dict[str, Any],
) -> int:
    category, code, skill, priority, agency = CATEGORY[x.kind]
    sensor = x.kind in SENSOR_KINDS
    channel = "sensor" if sensor else str(rng.choice(["app", "phone", "web", "email"]))
    what = detail.get("cause", "fault")
    description = (
        f"Telemetry: {what} at {x.name}." if sensor else _citizen_text(rng, x.kind, x.name)
    )
    ops.issues.append(
        IssuePlan(
            f"req-{len(ops.issues) + 1:05d}",
            category,
            code,
            agency,
            description,
            x.xy,
            _address(rng, x.street),
            "open",
            max(hours, 0.05),
            channel,
            None if sensor else int(rng.integers(len(ops.citizens))),
            index,
            priority,
            skill,
        )
    )
    return len(ops.issues) - 1


_CITIZEN_TEXT = {
    "street_light": ("The street light outside is dark.", "Lamp not working for two nights now."),
    "hydrant": ("Water seeping out around the hydrant.", "Hydrant is leaking onto the pavement."),
    "water_main": ("Water bubbling up through the road!", "Big puddle growing, no rain today."),
    "building": ("The heating is off in the hall.", "Water dripping from the ceiling."),
    "traffic_signal": ("Lights stuck on red.",),
    "pump": ("Noise from the pumping station.",),
    "transformer": ("Power is out on our street.",),
}


def _citizen_text(rng: np.random.Generator, kind: str, name: str) -> str:
    options = _CITIZEN_TEXT[kind]
    return f"{options[int(rng.integers(len(options)))]} ({name})"


def _job_for(
    rng: np.random.Generator,
    ops: Operations,
    issue_index: int,
    status: str,
    crew_for: Any,
    closed_h: float | None = None,
) -> int:
    issue = ops.issues[issue_index]
    crew = None
    if status != "new":
        crew = crew_for(issue.skill, active_only=status in ("en_route", "on_site"))
        if status in ("en_route", "on_site") and crew is not None:
            ops.crews[crew].status = status
        if crew is None and status != "done":
            status = "new"
    created = issue.requested_h - float(rng.uniform(0.05, 0.5))
    assigned = None if crew is None else created - min(float(rng.uniform(0.1, 2.0)), created * 0.5)
    ops.jobs.append(
        JobPlan(
            f"{issue.category}: {issue.address}",
            issue.priority,
            [issue.skill],
            issue.xy,
            created,
            issue.requested_h - SLA_HOURS[issue.priority],
            status,
            issue=issue_index,
            asset=issue.asset,
            crew=crew,
            assigned_h=assigned,
            closed_h=closed_h,
        )
    )
    issue.status = {"new": "acknowledged", "assigned": "acknowledged"}.get(status, "in_progress")
    if status == "new" and rng.random() < 0.5:
        issue.status = "open"
    issue.updated_h = assigned if assigned is not None else created
    return len(ops.jobs) - 1


def _citizen_reports(
    rng: np.random.Generator,
    ops: Operations,
    net: StreetNetwork,
    a: list[PlannedAsset],
    kinds: np.ndarray,
    crew_for: Any,
) -> None:
    """Reports that are not failures: potholes, graffiti, dumping, signs, flickering lamps."""
    drivable = [
        s
        for s in net.segments
        if s.road_class in ("primary", "secondary", "tertiary", "residential")
    ]
    for _ in range(int(rng.integers(28, 40))):
        category, code, skill, priority, agency, kind = OTHER_CATEGORIES[
            int(rng.integers(len(OTHER_CATEGORIES)))
        ]
        asset = None
        if kind is not None:
            candidates = np.flatnonzero(kinds == kind)
            asset = int(candidates[int(rng.integers(len(candidates)))])
            xy, street = a[asset].xy, a[asset].street
        else:
            s = drivable[int(rng.integers(len(drivable)))]
            xy, street = s.coords[len(s.coords) // 2] + rng.normal(0, 3, 2), s.name
        closed = rng.random() < 0.35
        hours = float(rng.uniform(24 * 3, 24 * 30)) if closed else float(rng.uniform(0.3, 24 * 10))
        ops.issues.append(
            IssuePlan(
                f"req-{len(ops.issues) + 1:05d}",
                category,
                code,
                agency,
                f"{category} reported at {street or 'the riverside'}.",
                xy,
                _address(rng, street),
                "open",
                hours,
                str(rng.choice(["app", "phone", "web", "email"], p=[0.5, 0.25, 0.15, 0.1])),
                int(rng.integers(len(ops.citizens))),
                asset,
                priority,
                skill,
            )
        )
        index = len(ops.issues) - 1
        if closed:
            closed_h = hours - float(rng.uniform(4, 24 * 3))
            _job_for(rng, ops, index, "done", crew_for, closed_h=closed_h)
            issue = ops.issues[index]
            issue.status, issue.closed_h, issue.updated_h = "closed", closed_h, closed_h
            issue.status_notes = "Done, thank you for reporting."
        elif rng.random() < 0.6:
            status = str(
                rng.choice(["new", "assigned", "en_route", "on_site"], p=[0.4, 0.4, 0.1, 0.1])
            )
            _job_for(rng, ops, index, status, crew_for)


def _crew_positions(rng: np.random.Generator, ops: Operations) -> None:
    """Crews on the move are between depot and job; crews on site stand at the job."""
    for job in ops.jobs:
        if job.crew is None or job.status not in ("en_route", "on_site"):
            continue
        crew = ops.crews[job.crew]
        if job.status == "on_site":
            crew.last_xy = job.xy + rng.normal(0, 6, 2)
        else:
            along = float(rng.uniform(0.2, 0.8))
            crew.last_xy = crew.depot.xy + (job.xy - crew.depot.xy) * along
            d = job.xy - crew.depot.xy
            crew.heading = float(np.degrees(np.arctan2(d[0], d[1])) % 360)
        crew.seen_minutes_ago = float(rng.uniform(0.1, 2))


def _interactions(rng: np.random.Generator, ops: Operations) -> None:
    for k, issue in enumerate(ops.issues):
        if issue.citizen is None:
            continue
        add = ops.interactions.append
        add(
            dict(
                citizen=issue.citizen,
                issue=k,
                hours=issue.requested_h,
                channel=issue.channel,
                kind="report",
                body=issue.description,
            )
        )
        if (
            issue.status in ("acknowledged", "in_progress", "closed")
            and issue.updated_h is not None
        ):
            add(
                dict(
                    citizen=issue.citizen,
                    issue=k,
                    hours=issue.updated_h,
                    channel="email",
                    kind="notice",
                    body=f"Your report {issue.source_id} is with our {issue.agency} team.",
                )
            )
        if issue.status != "closed" and rng.random() < 0.25 and issue.requested_h > 6:
            add(
                dict(
                    citizen=issue.citizen,
                    issue=k,
                    hours=issue.requested_h * 0.4,
                    channel="phone",
                    kind="call",
                    body="Called to ask when it will be fixed.",
                )
            )
        if issue.status == "closed" and issue.closed_h is not None:
            add(
                dict(
                    citizen=issue.citizen,
                    issue=k,
                    hours=issue.closed_h,
                    channel="email",
                    kind="notice",
                    body=f"Your report {issue.source_id} is resolved: {issue.status_notes}",
                )
            )
            if rng.random() < 0.2:
                add(
                    dict(
                        citizen=issue.citizen,
                        issue=k,
                        hours=max(issue.closed_h - 3, 0.1),
                        channel="app",
                        kind="reply",
                        body="Thanks, all good now.",
                    )
                )
