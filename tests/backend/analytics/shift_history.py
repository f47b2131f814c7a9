"""A hand-written shift whose report is known: jobs, alarms, issues and crews with their events.

Times are UTC on 2 March 2026; the window is 08:00-16:00. Crews' depots are in
Helsinki (UTC+2 then), so a 07:00-19:00 local shift is 05:00-17:00 UTC.

Jobs (due, what happened) and what the report must say:

1  pump, due 10:00: assigned 08:30 crew 1, en route 08:40, on site 09:00, done 10:30: 30 min late
2  pump, due 09:00: assigned 08:10 crew 1, taken back 08:20, assigned 08:50 crew 2, 09:00 crew 3,
   en route 09:05, on site 09:15, done 09:45: 45 late, reassigned twice, taken back once
3  electrical (no crew has it), due 12:00, created 09:00, never assigned: 240 late at 16:00
4  crane (crew 3's, shift 20:00-23:00 local), due 11:00, created 10:00, never assigned: 300 late
5  pump, due 12:00: assigned 08:05 crew 2, on site 08:35, done 09:05: on time
6  due 11:30, created 11:00, cancelled 12:00: not late (cancelled)
7  created 07:00, assigned 07:10 crew 1, on site 07:30, done 08:15 (due 09:00): 15 min on site in
   the window
8  created 15:00, due 18:00: still open, not late
9  created 16:30: after the window
10 created 06:00, done 07:00 (row only, no events): before the window
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, update

from backend.analytics.shift import AlarmRecord, CrewRecord, IssueRecord, JobEvent, JobRecord
from backend.db.engine import make_sessionmaker
from backend.db.models import Alarm, Crew, Event, EventCounter, Issue, Job, User

DAY = datetime(2026, 3, 2, tzinfo=UTC)
SINCE = DAY + timedelta(hours=8)
UNTIL = DAY + timedelta(hours=16)
HELSINKI = ZoneInfo("Europe/Helsinki")
DEPOT = (24.94, 60.17)


def at(hhmm: str) -> datetime:
    """``"08:30"`` on the day, UTC."""
    h, m = hhmm.split(":")
    return DAY + timedelta(hours=int(h), minutes=int(m))


CREWS = [
    # id, name, skills, shift start, shift end (local)
    (1, "Crew 1", ["pump"], "07:00", "19:00"),
    (2, "Crew 2", ["pump"], "07:00", "19:00"),
    (3, "Crew 3", ["pump", "crane"], "20:00", "23:00"),
]

# id: (title, skills, created, due, [(time, event type, crew)], row status, row crew, closed)
JOBS: dict[int, tuple[str, list[str], str, str | None, list[tuple[str, str, int | None]]]] = {
    1: (
        "Pump A",
        ["pump"],
        "08:00",
        "10:00",
        [
            ("08:30", "job.assigned", 1),
            ("08:40", "job.en_route", 1),
            ("09:00", "job.on_site", 1),
            ("10:30", "job.done", 1),
        ],
    ),
    2: (
        "Pump B",
        ["pump"],
        "08:00",
        "09:00",
        [
            ("08:10", "job.assigned", 1),
            ("08:20", "job.unassigned", None),
            ("08:50", "job.assigned", 2),
            ("09:00", "job.assigned", 3),
            ("09:05", "job.en_route", 3),
            ("09:15", "job.on_site", 3),
            ("09:45", "job.done", 3),
        ],
    ),
    3: ("Substation", ["electrical"], "09:00", "12:00", []),
    4: ("Lift", ["crane"], "10:00", "11:00", []),
    5: (
        "Pump C",
        ["pump"],
        "08:00",
        "12:00",
        [("08:05", "job.assigned", 2), ("08:35", "job.on_site", 2), ("09:05", "job.done", 2)],
    ),
    6: ("Sign", [], "11:00", "11:30", [("12:00", "job.cancelled", None)]),
    7: (
        "Valve",
        ["pump"],
        "07:00",
        "09:00",
        [("07:10", "job.assigned", 1), ("07:30", "job.on_site", 1), ("08:15", "job.done", 1)],
    ),
    8: ("Hydrant", [], "15:00", "18:00", []),
    9: ("Late one", [], "16:30", None, []),
}
STATUS = {
    "job.assigned": "assigned",
    "job.unassigned": "new",
    "job.en_route": "en_route",
    "job.on_site": "on_site",
    "job.done": "done",
    "job.cancelled": "cancelled",
}

# id, severity, raised, acknowledgement events, cleared
ALARMS: list[tuple[int, str, str, list[str], str | None]] = [
    (1, "critical", "08:00", ["08:02"], "09:00"),
    (2, "major", "09:00", ["09:10", "09:40"], None),  # escalated and acknowledged again
    (3, "major", "10:00", ["10:30"], None),
    (4, "minor", "11:00", [], "11:20"),
    (5, "minor", "12:00", [], None),
    (6, "major", "07:00", ["08:30"], None),  # raised before the window
    (7, "major", "15:50", ["16:10"], None),  # acknowledged after it
]
# id, requested, closed
ISSUES: list[tuple[int, str, str | None]] = [
    (1, "07:00", "09:00"),
    (2, "08:30", None),
    (3, "10:00", "11:00"),
    (4, "17:00", None),
    (5, "06:00", "07:30"),
]


def crew_records() -> list[CrewRecord]:
    """The crews as the report's records."""
    return [CrewRecord(i, n, frozenset(s), a, b, HELSINKI) for i, n, s, a, b in CREWS]


def job_records() -> list[JobRecord]:
    """The jobs as the report's records (what the loader must produce)."""
    return [
        JobRecord(
            id=jid,
            title=title,
            created_at=at(created),
            due_at=at(due) if due else None,
            skills=tuple(skills),
            events=tuple(JobEvent(at(t), kind, STATUS[kind], crew) for t, kind, crew in events),
        )
        for jid, (title, skills, created, due, events) in JOBS.items()
    ]


def alarm_records() -> list[AlarmRecord]:
    """The alarms as the report's records (first acknowledgement)."""
    return [
        AlarmRecord(i, sev, at(r), at(acks[0]) if acks else None, at(c) if c else None)
        for i, sev, r, acks, c in ALARMS
    ]


def issue_records() -> list[IssueRecord]:
    """The issues as the report's records."""
    return [IssueRecord(i, at(r), at(c) if c else None) for i, r, c in ISSUES]


def write_history(engine: Engine) -> None:
    """The same shift as rows and ``events`` in a database (as the handlers would have left it)."""
    events: list[tuple[datetime, str, str, dict[str, Any]]] = []
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        s.add(User(name="sam", role="shift_lead"))
        for cid, name, skills, start, end in CREWS:
            s.add(
                Crew(
                    id=cid,
                    name=name,
                    skills=skills,
                    shift_start=start,
                    shift_end=end,
                    depot_lon=DEPOT[0],
                    depot_lat=DEPOT[1],
                )
            )
        s.flush()
        for jid, (title, skills, created, due, history) in JOBS.items():
            status, crew, closed = "new", None, None
            for t, kind, c in history:
                status, crew = STATUS[kind], c
                if status in ("done", "cancelled"):
                    closed = at(t)
                entity = {"id": jid, "status": status, "crew_id": c}
                events.append((at(t), kind, f"job/{jid}", {"entity": entity}))
            events.append(
                (at(created), "job.created", f"job/{jid}", {"entity": {"id": jid, "status": "new"}})
            )
            s.add(
                Job(
                    id=jid,
                    title=title,
                    skills=skills,
                    created_at=at(created),
                    due_at=at(due) if due else None,
                    status=status,
                    crew_id=crew,
                    closed_at=closed,
                )
            )
        s.add(
            Job(
                id=10,
                title="Old",
                created_at=at("06:00"),
                status="done",
                crew_id=1,
                assigned_at=at("06:10"),
                closed_at=at("07:00"),
            )
        )
        for aid, sev, raised, acks, cleared in ALARMS:
            s.add(
                Alarm(
                    id=aid,
                    rule="r",
                    severity=sev,
                    message="m",
                    raised_at=at(raised),
                    state="cleared" if cleared else ("acknowledged" if acks else "raised"),
                    acked_at=at(acks[-1]) if acks else None,
                    acked_by="olga" if acks else None,
                    cleared_at=at(cleared) if cleared else None,
                )
            )
            events.append((at(raised), "alarm.raised", f"alarm/{aid}", {"entity": {"id": aid}}))
            for t in acks:
                events.append(
                    (at(t), "alarm.acknowledged", f"alarm/{aid}", {"entity": {"id": aid}})
                )
        for iid, requested, closed in ISSUES:
            s.add(
                Issue(
                    id=iid,
                    source="test",
                    source_id=str(iid),
                    category="c",
                    requested_at=at(requested),
                    closed_at=at(closed) if closed else None,
                    status="closed" if closed else "open",
                )
            )
        s.flush()
        events.sort(key=lambda e: e[0])
        for seq, (ts, kind, t, body) in enumerate(events, start=1):
            s.add(Event(seq=seq, ts=ts, type=kind, topic=t, actor="sim", body=body))
        # Commands after these (tests that add positions) continue the sequence.
        s.execute(update(EventCounter).where(EventCounter.id == 1).values(last_seq=len(events)))
