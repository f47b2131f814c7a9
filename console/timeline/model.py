"""The incident timeline: a time window's committed events as readable entries (no Qt).

Filled from ``get_timeline`` replies (the events log: every change people and
the simulator made, in seq order; batch feeds such as crew positions left
out), filtered by kind (jobs, alarms, issues, crews), and able to say which
map feature an entry is about: a job is shown by its issue (else its asset),
an alarm by its asset, an issue and a crew by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from console.dispatch.common import Notifier, parse_time, topic_id

#: Filter groups: the label a shift lead picks → the topic kind it shows.
KINDS: dict[str, str] = {"jobs": "job", "alarms": "alarm", "issues": "issue", "crews": "crew"}
#: Events per ``get_timeline`` page (the command's maximum) and the most pages per window.
PAGE = 5000
MAX_PAGES = 8
#: Window lengths offered, in hours.
WINDOW_HOURS = (1, 4, 8, 12, 24)
#: What an event type says, as a verb phrase after the entity's name.
VERBS = {
    "job.created": "created",
    "job.assigned": "assigned",
    "job.unassigned": "taken back from its crew",
    "job.en_route": "crew en route",
    "job.on_site": "crew on site",
    "job.done": "done",
    "job.cancelled": "cancelled",
    "issue.reported": "reported",
    "issue.in_progress": "in progress",
    "issue.closed": "closed",
    "alarm.raised": "raised",
    "alarm.acknowledged": "acknowledged",
    "alarm.shelved": "shelved",
    "alarm.unshelved": "unshelved",
    "alarm.cleared": "cleared",
    "alarm.severity": "severity changed",
    "alarm.grouped": "regrouped",
    "crew.status": "status",
}


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event as the timeline shows it."""

    seq: int
    ts: datetime
    type: str
    topic: str
    kind: str  # job, alarm, issue, crew
    entity_id: int
    actor: str | None
    title: str  # "Job 12 assigned to Crew 3"
    detail: str  # the entity's own words: its title, category or message
    entity: Mapping[str, Any]  # the entity's state after the event (may be empty)

    @property
    def t(self) -> float:
        """Epoch seconds."""
        return self.ts.timestamp()


def _name(kind: str, eid: int, entity: Mapping[str, Any], crews: Mapping[int, str]) -> str:
    if kind == "crew":
        return str(entity.get("name") or crews.get(eid) or f"Crew {eid}")
    return f"{kind.capitalize()} {eid}"


def describe(
    event: Mapping[str, Any], crews: Mapping[int, str] | None = None
) -> TimelineEntry | None:
    """A ``get_timeline`` event as an entry; None for events the timeline does not show.

    Shown: single-entity events of jobs, alarms, issues and crews (batches are
    feeds, not incidents).
    """
    crews = crews or {}
    parsed = topic_id(str(event.get("topic", "")))
    if parsed is None or parsed[0] not in KINDS.values():
        return None
    kind, eid = parsed
    body = event.get("body") or {}
    entity = body.get("entity") if isinstance(body, Mapping) else None
    if not isinstance(entity, Mapping):
        entity = body.get("patch") if isinstance(body, Mapping) else None
    entity = entity if isinstance(entity, Mapping) else {}
    ts = parse_time(event.get("ts"))
    if ts is None:
        return None
    etype = str(event.get("type", ""))
    verb = VERBS.get(etype, etype.partition(".")[2].replace("_", " ") or etype)
    title = f"{_name(kind, eid, entity, crews)} {verb}"
    detail = ""
    if kind == "job":
        crew = entity.get("crew_id")
        if etype == "job.assigned" and isinstance(crew, int):
            title += f" to {crews.get(crew, f'Crew {crew}')}"
        detail = str(entity.get("title") or "")
    elif kind == "crew" and etype == "crew.status":
        title += f" → {str(entity.get('status', '?')).replace('_', ' ')}"
    elif kind == "issue":
        detail = str(entity.get("category") or "")
    elif kind == "alarm":
        severity = entity.get("severity")
        detail = " · ".join(str(x) for x in (severity, entity.get("message")) if x)
    actor = event.get("actor")
    return TimelineEntry(
        seq=int(event.get("seq", 0)),
        ts=ts,
        type=etype,
        topic=f"{kind}/{eid}",
        kind=kind,
        entity_id=eid,
        actor=None if actor is None else str(actor),
        title=title,
        detail=detail,
        entity=entity,
    )


def request_args(
    since: datetime, until: datetime, after_seq: int | None = None, limit: int = PAGE
) -> dict[str, Any]:
    """The ``get_timeline`` arguments for one page of a window (no batch feeds, states before)."""
    args: dict[str, Any] = {
        "since": since,
        "until": until,
        "kinds": sorted(KINDS.values()),
        "batches": False,
        "limit": limit,
        "state_before": True,  # where the replay starts
    }
    if after_seq is not None:
        args["after_seq"] = after_seq
    return args


def map_target(
    entry: TimelineEntry, entities: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[str, int] | None:
    """The map layer and feature that shows what an entry is about, or None.

    A job → its issue (else its asset); an alarm → its asset; an issue, a crew → itself.
    The entry's own entity state is used, then the live replica's (``entities``).
    """
    live = (entities or {}).get(entry.topic) or {}
    state: dict[str, Any] = {**live, **entry.entity}
    if entry.kind == "issue":
        return "issues", entry.entity_id
    if entry.kind == "crew":
        return "crews", entry.entity_id
    if entry.kind == "job":
        if isinstance(state.get("issue_id"), int):
            return "issues", int(state["issue_id"])
        if isinstance(state.get("asset_id"), int):
            return "assets", int(state["asset_id"])
        return None
    if entry.kind == "alarm" and isinstance(state.get("asset_id"), int):
        return "assets", int(state["asset_id"])
    return None


class TimelineModel:
    """The entries of one window and the kinds shown; ``changed`` fires on any change."""

    def __init__(self) -> None:
        self.entries: list[TimelineEntry] = []
        self.shown_kinds: set[str] = set(KINDS.values())
        self.since: datetime | None = None
        self.until: datetime | None = None
        #: True when the window had more events than were fetched.
        self.truncated = False
        #: Crew names by id (from the replica), for "assigned to Crew 3".
        self.crew_names: dict[int, str] = {}
        #: Each listed entity's state just before the window (``get_timeline``'s ``before``).
        self.before: dict[str, dict[str, Any]] = {}
        self.changed: Notifier[str] = Notifier()
        self._pages = 0

    # -- filling ---------------------------------------------------------------------------

    def start(self, since: datetime, until: datetime) -> dict[str, Any]:
        """Begin a new window; returns the first page's ``get_timeline`` arguments."""
        if until <= since:
            raise ValueError("the window must end after it starts")
        self.since, self.until = since, until
        self.entries = []
        self.before = {}
        self.truncated = False
        self._pages = 0
        self.changed.emit("window")
        return request_args(since, until)

    def add_page(self, reply: Mapping[str, Any]) -> dict[str, Any] | None:
        """A ``get_timeline`` reply for the window; the next page's arguments, or None when done."""
        if self.since is None or self.until is None:
            return None
        events = reply.get("events") or []
        self._pages += 1
        self.entries.extend(e for ev in events if (e := describe(ev, self.crew_names)))
        before = reply.get("before")
        if isinstance(before, Mapping):
            self.before.update(
                {str(t): dict(v) for t, v in before.items() if isinstance(v, Mapping)}
            )
        more = bool(reply.get("more")) and bool(events)
        self.truncated = more and self._pages >= MAX_PAGES
        self.changed.emit("entries")
        if not more or self.truncated:
            return None
        return request_args(self.since, self.until, int(events[-1]["seq"]))

    def set_crew_names(self, names: Mapping[int, str]) -> None:
        """Crew names for entries described from now on."""
        self.crew_names = dict(names)

    # -- filtering ---------------------------------------------------------------------------

    def set_kind_shown(self, kind: str, shown: bool) -> None:
        """Show or hide one kind (``job``, ``alarm``, ``issue``, ``crew``)."""
        if kind not in KINDS.values():
            raise ValueError(f"unknown kind {kind!r}")
        before = set(self.shown_kinds)
        (self.shown_kinds.add if shown else self.shown_kinds.discard)(kind)
        if self.shown_kinds != before:
            self.changed.emit("filter")

    def visible(self) -> list[TimelineEntry]:
        """Entries of the shown kinds, oldest first."""
        return [e for e in self.entries if e.kind in self.shown_kinds]

    def counts(self) -> dict[str, int]:
        """Entries per kind (shown or not)."""
        out = dict.fromkeys(KINDS.values(), 0)
        for e in self.entries:
            out[e.kind] += 1
        return out

    def nearest(self, t: datetime) -> TimelineEntry | None:
        """The last visible entry at or before ``t`` (the replay's "now" in the list)."""
        best = None
        for e in self.visible():
            if e.ts <= t:
                best = e
            else:
                break
        return best


def window_ending(now: datetime, hours: float) -> tuple[datetime, datetime]:
    """The window of ``hours`` ending ``now``."""
    return now - timedelta(hours=hours), now


def entries_of(events: Iterable[Mapping[str, Any]]) -> Sequence[TimelineEntry]:
    """Every showable event as an entry (tests, one-off use)."""
    return [e for ev in events if (e := describe(ev))]
