"""The job queue's model: jobs joined to their issues, sorted, filtered, searched, with SLA state.

Fed from the live replica's entity maps (``job/<id>`` and ``issue/<id>``
topics); read by :class:`widgets.job_queue.JobTableModel`. Time comes from an
injected clock, so the amber/red countdown and the new-job flash are exact in
tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from console.dispatch.common import (
    OPEN_JOB_STATUSES,
    Clock,
    ModelChange,
    Notifier,
    parse_time,
    topic_id,
    utc_now,
)

#: Sortable columns, in the order the queue shows them.
COLUMNS = ("priority", "category", "address", "age", "skills", "status", "due")
#: Status filter presets: name → statuses shown (None: every status).
STATUS_FILTERS: dict[str, frozenset[str] | None] = {
    "open": OPEN_JOB_STATUSES,
    "unassigned": frozenset({"new"}),
    "all": None,
}
#: SLA states, least to most urgent ("none": no due time, or the job is closed).
SLA_STATES = ("none", "ok", "amber", "red")


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """When a countdown turns amber: within ``amber_before_s`` of due, or the last
    ``amber_share`` of the job's allowed time, whichever comes first. Red once due."""

    amber_before_s: float = 1800.0
    amber_share: float = 0.25

    def state(self, created: datetime | None, due: datetime | None, now: datetime) -> str:
        """``none``, ``ok``, ``amber`` or ``red`` for a job created/due at these times."""
        if due is None:
            return "none"
        left = (due - now).total_seconds()
        if left <= 0:
            return "red"
        window = (due - created).total_seconds() if created is not None else 0.0
        if left <= max(self.amber_before_s, self.amber_share * max(window, 0.0)):
            return "amber"
        return "ok"


@dataclass(frozen=True, slots=True)
class JobRow:
    """One job as the queue shows it (the issue's category and address joined in)."""

    id: int
    version: int
    priority: int
    title: str
    category: str
    address: str
    skills: tuple[str, ...]
    status: str
    crew_id: int | None
    created_at: datetime | None
    due_at: datetime | None
    description: str

    def haystack(self) -> str:
        """The text a search looks in."""
        return " ".join(
            (
                f"#{self.id}",
                self.title,
                self.category,
                self.address,
                " ".join(self.skills),
                self.status,
                self.description,
            )
        ).casefold()


def _row(job: Mapping[str, Any], issue: Mapping[str, Any] | None) -> JobRow:
    issue = issue or {}
    return JobRow(
        id=int(job["id"]),
        version=int(job.get("version") or 1),
        priority=int(job.get("priority") or 3),
        title=str(job.get("title") or ""),
        category=str(issue.get("category") or job.get("title") or ""),
        address=str(issue.get("address") or ""),
        skills=tuple(str(s) for s in job.get("skills") or ()),
        status=str(job.get("status") or "new"),
        crew_id=None if job.get("crew_id") is None else int(job["crew_id"]),
        created_at=parse_time(job.get("created_at")),
        due_at=parse_time(job.get("due_at")),
        description=str(issue.get("description") or ""),
    )


class JobQueueModel:
    """Jobs for the dispatcher: sort, filter, text search, SLA countdown, new-job flash.

    ``changed`` announces a :class:`ModelChange`: ``structure=True`` when the
    visible rows or their order changed, else just which jobs' cells changed.
    """

    def __init__(
        self, clock: Clock = utc_now, sla: SlaPolicy | None = None, flash_s: float = 4.0
    ) -> None:
        self.clock = clock
        self.sla = sla or SlaPolicy()
        self.flash_s = flash_s
        self.changed: Notifier[ModelChange] = Notifier()
        self.jobs: dict[int, dict[str, Any]] = {}
        self.issues: dict[int, dict[str, Any]] = {}
        self._rows: dict[int, JobRow] = {}
        self._jobs_of_issue: dict[int, set[int]] = {}
        self._flash_until: dict[int, datetime] = {}
        self._sla_seen: dict[int, str] = {}
        self.sort_key = "priority"
        self.descending = False
        self.status_filter: frozenset[str] | None = OPEN_JOB_STATUSES
        self.max_priority = 5
        self.search = ""
        self._visible: list[int] | None = None

    # -- feeding ------------------------------------------------------------------------

    def load(self, entities: Mapping[str, Mapping[str, Any] | None]) -> None:
        """Replace everything from a snapshot (``{topic: state}``); nothing flashes."""
        self.jobs.clear()
        self.issues.clear()
        self._rows.clear()
        self._jobs_of_issue.clear()
        self._flash_until.clear()
        for t, state in entities.items():
            self._apply_one(t, state, flash=False)
        self._sla_seen = {i: self.sla_state(i) for i in self.jobs}
        self._visible = None
        self.changed.emit(ModelChange(frozenset(self.jobs), structure=True))

    def apply(self, topic: str, state: Mapping[str, Any] | None) -> None:
        """One entity's new state (None: deleted); other kinds are ignored."""
        self.apply_many([(topic, state)])

    def apply_many(self, items: Iterable[tuple[str, Mapping[str, Any] | None]]) -> None:
        """A batch of entity changes, announced as one change."""
        before = self.visible_ids()
        touched: set[int] = set()
        for t, state in items:
            touched |= self._apply_one(t, state, flash=True)
        if not touched:
            return
        self._visible = None
        after = self.visible_ids()
        for i in touched:
            if i in self.jobs:
                self._sla_seen[i] = self.sla_state(i)
            else:
                self._sla_seen.pop(i, None)
        self.changed.emit(ModelChange(frozenset(touched), structure=before != after))

    def _apply_one(self, t: str, state: Mapping[str, Any] | None, flash: bool) -> set[int]:
        parsed = topic_id(t)
        if parsed is None:
            return set()
        kind, entity_id = parsed
        if kind == "issue":
            if state is None:
                self.issues.pop(entity_id, None)
            else:
                self.issues[entity_id] = dict(state)
            ids = set(self._jobs_of_issue.get(entity_id, ()))
            for i in ids:
                self._rows[i] = _row(self.jobs[i], self.issues.get(entity_id))
            return ids
        if kind != "job":
            return set()
        old = self.jobs.get(entity_id)
        if old is not None and old.get("issue_id") is not None:
            self._jobs_of_issue.get(int(old["issue_id"]), set()).discard(entity_id)
        if state is None:
            self.jobs.pop(entity_id, None)
            self._rows.pop(entity_id, None)
            self._flash_until.pop(entity_id, None)
            return {entity_id} if old is not None else set()
        job = dict(state)
        self.jobs[entity_id] = job
        issue_id = job.get("issue_id")
        if issue_id is not None:
            self._jobs_of_issue.setdefault(int(issue_id), set()).add(entity_id)
        self._rows[entity_id] = _row(
            job, None if issue_id is None else self.issues.get(int(issue_id))
        )
        if flash and old is None and job.get("status") in OPEN_JOB_STATUSES:
            self._flash_until[entity_id] = self.clock() + timedelta(seconds=self.flash_s)
        return {entity_id}

    # -- reading ------------------------------------------------------------------------

    def row(self, job_id: int) -> JobRow:
        """The queue row of a job (KeyError when unknown)."""
        return self._rows[job_id]

    def visible_ids(self) -> list[int]:
        """Job ids that pass the filters, in the current sort order."""
        if self._visible is None:
            rows = [r for r in self._rows.values() if self._passes(r)]
            rows.sort(key=self._sort_key, reverse=self.descending)
            self._visible = [r.id for r in rows]
        return list(self._visible)

    def rows(self) -> list[JobRow]:
        """The visible rows, in order."""
        return [self._rows[i] for i in self.visible_ids()]

    def _passes(self, r: JobRow) -> bool:
        if self.status_filter is not None and r.status not in self.status_filter:
            return False
        if r.priority > self.max_priority:
            return False
        if self.search:
            hay = r.haystack()
            return all(word in hay for word in self.search.casefold().split())
        return True

    def _sort_key(self, r: JobRow) -> tuple[Any, ...]:
        due = r.due_at.timestamp() if r.due_at else math.inf
        created = r.created_at.timestamp() if r.created_at else math.inf
        key = self.sort_key
        if key == "priority":
            return (r.priority, due, created, r.id)
        if key == "due":
            return (due, r.priority, r.id)
        if key == "age":  # oldest first: the job waiting longest
            return (created, r.priority, r.id)
        text = {
            "category": r.category,
            "address": r.address,
            "skills": ",".join(r.skills),
            "status": r.status,
        }[key]
        return (text.casefold(), r.priority, due, r.id)

    # -- view state ------------------------------------------------------------------------

    def _restructured(self) -> None:
        self._visible = None
        self.changed.emit(ModelChange(frozenset(), structure=True))

    def set_sort(self, key: str, descending: bool = False) -> None:
        """Sort by one of :data:`COLUMNS` (ties: priority, due, id)."""
        if key not in COLUMNS:
            raise ValueError(f"unknown sort column {key!r}; expected one of {COLUMNS}")
        self.sort_key, self.descending = key, descending
        self._restructured()

    def set_status_filter(self, preset: str) -> None:
        """Show ``open``, ``unassigned`` or ``all`` jobs."""
        if preset not in STATUS_FILTERS:
            raise ValueError(f"unknown status filter {preset!r}; expected {tuple(STATUS_FILTERS)}")
        self.status_filter = STATUS_FILTERS[preset]
        self._restructured()

    def set_max_priority(self, priority: int) -> None:
        """Show only jobs at least this urgent (1 = only the most urgent, 5 = all)."""
        self.max_priority = max(1, min(5, int(priority)))
        self._restructured()

    def set_search(self, text: str) -> None:
        """Keep jobs whose id, title, category, address, skills, status or description
        contain every word of ``text`` (case-insensitive)."""
        self.search = text.strip()
        self._restructured()

    # -- time -------------------------------------------------------------------------------

    def age_s(self, job_id: int) -> float | None:
        """Seconds since the job was created."""
        created = self._rows[job_id].created_at
        return None if created is None else (self.clock() - created).total_seconds()

    def countdown_s(self, job_id: int) -> float | None:
        """Seconds until the job is due (negative: overdue); None without a due time."""
        due = self._rows[job_id].due_at
        return None if due is None else (due - self.clock()).total_seconds()

    def sla_state(self, job_id: int) -> str:
        """``none``, ``ok``, ``amber`` or ``red``; closed jobs have no SLA state."""
        r = self._rows[job_id]
        if r.status not in OPEN_JOB_STATUSES:
            return "none"
        return self.sla.state(r.created_at, r.due_at, self.clock())

    def is_flashing(self, job_id: int) -> bool:
        """True for a few seconds after a job first arrives (not for snapshot jobs)."""
        until = self._flash_until.get(job_id)
        return until is not None and self.clock() < until

    def flashing_ids(self) -> set[int]:
        """Jobs flashing now."""
        return {i for i in self._flash_until if self.is_flashing(i)}

    def tick(self) -> ModelChange:
        """Re-evaluate time: ids whose SLA colour changed or whose flash ended (also emitted)."""
        now = self.clock()
        ended = {i for i, until in self._flash_until.items() if now >= until}
        for i in ended:
            del self._flash_until[i]
        moved: set[int] = set()
        for i in self.jobs:
            state = self.sla_state(i)
            if self._sla_seen.get(i) != state:
                self._sla_seen[i] = state
                moved.add(i)
        change = ModelChange(frozenset(ended | moved))
        if change.ids:
            self.changed.emit(change)
        return change
