"""The crew board's model: each crew's status, skills, current job, queue, ETA and position age.

Fed from the live replica (``crew/<id>`` and ``job/<id>`` topics). While a job
is being placed (dragged, or armed with the keyboard) the board ranks the
crews that can take it first and numbers them 1–9 for the keyboard path.
ETAs come from outside (the routing recommendation) through :meth:`set_etas`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.dispatch.common import (
    OPEN_JOB_STATUSES,
    WORKING_STATUSES,
    Clock,
    ModelChange,
    Notifier,
    parse_time,
    topic_id,
    utc_now,
)
from console.dispatch.eligibility import Eligibility, EligibilityRule, position_age_s

#: Board order without a candidate job: who can be sent now comes first.
STATUS_ORDER = {"available": 0, "en_route": 1, "on_site": 2, "off_shift": 3}
#: Crews reachable by number key.
MAX_NUMBERED = 9


@dataclass(frozen=True, slots=True)
class CrewRow:
    """One crew as the board shows it."""

    id: int
    name: str
    status: str
    skills: tuple[str, ...]
    members: tuple[str, ...]
    version: int
    current_job: int | None
    queue: tuple[int, ...]
    last_seen_at: datetime | None

    @property
    def workload(self) -> int:
        """Open jobs on the crew (current one included)."""
        return len(self.queue) + (self.current_job is not None)

    @property
    def job_ids(self) -> tuple[int, ...]:
        """Current job first, then the queue."""
        return ((self.current_job,) if self.current_job is not None else ()) + self.queue


class CrewBoardModel:
    """Crews for the dispatcher, with the eligibility of each for the job being placed."""

    def __init__(self, clock: Clock = utc_now, rule: EligibilityRule | None = None) -> None:
        self.clock = clock
        self.rule = rule or EligibilityRule()
        self.changed: Notifier[ModelChange] = Notifier()
        self.crews: dict[int, dict[str, Any]] = {}
        #: Open jobs that have a crew (the board's only interest in jobs).
        self.jobs: dict[int, dict[str, Any]] = {}
        self.candidate: dict[str, Any] | None = None
        self._eligibility: dict[int, Eligibility] = {}
        self.eta_job_id: int | None = None
        self._etas: dict[int, float] = {}
        self._rows: dict[int, CrewRow] = {}
        self._order: list[int] | None = None
        self._stale_seen: dict[int, bool] = {}

    # -- feeding ------------------------------------------------------------------------

    def load(self, entities: Mapping[str, Mapping[str, Any] | None]) -> None:
        """Replace everything from a snapshot (``{topic: state}``)."""
        self.crews.clear()
        self.jobs.clear()
        for t, state in entities.items():
            self._apply_one(t, state)
        self._rebuild_rows(set(self.crews))
        self._refresh_candidate()
        self.changed.emit(ModelChange(frozenset(self.crews), structure=True))

    def apply(self, topic: str, state: Mapping[str, Any] | None) -> None:
        """One entity's new state (None: deleted); other kinds are ignored."""
        self.apply_many([(topic, state)])

    def apply_many(self, items: Iterable[tuple[str, Mapping[str, Any] | None]]) -> None:
        """A batch of entity changes, announced as one change."""
        before = self.visible_ids()
        touched: set[int] = set()
        for t, state in items:
            touched |= self._apply_one(t, state)
        if not touched:
            return
        self._rebuild_rows(touched)
        self._refresh_candidate()
        self.changed.emit(ModelChange(frozenset(touched), structure=before != self.visible_ids()))

    def _apply_one(self, t: str, state: Mapping[str, Any] | None) -> set[int]:
        parsed = topic_id(t)
        if parsed is None:
            return set()
        kind, entity_id = parsed
        if kind == "crew":
            existed = self.crews.pop(entity_id, None) is not None
            if state is not None:
                self.crews[entity_id] = dict(state)
            return {entity_id} if (existed or state is not None) else set()
        if kind != "job":
            return set()
        touched: set[int] = set()
        old = self.jobs.pop(entity_id, None)
        if old is not None:
            touched.add(int(old["crew_id"]))
        if self.candidate is not None and int(self.candidate["id"]) == entity_id:
            self.candidate = None if state is None else dict(state)
            touched |= set(self.crews)  # the job being placed moved on: re-judge every crew
        if (
            state is not None
            and state.get("crew_id") is not None
            and state.get("status") in OPEN_JOB_STATUSES
        ):
            self.jobs[entity_id] = dict(state)
            touched.add(int(state["crew_id"]))
        return touched

    def _rebuild_rows(self, crew_ids: set[int]) -> None:
        by_crew: dict[int, list[dict[str, Any]]] = {i: [] for i in crew_ids}
        for job in self.jobs.values():
            c = int(job["crew_id"])
            if c in by_crew:
                by_crew[c].append(job)
        for crew_id, jobs in by_crew.items():
            crew = self.crews.get(crew_id)
            if crew is None:
                self._rows.pop(crew_id, None)
                continue
            jobs.sort(key=lambda j: (str(j.get("assigned_at") or ""), int(j["id"])))
            working = [j for s in WORKING_STATUSES for j in jobs if j.get("status") == s]
            current = int(working[0]["id"]) if working else None
            queue = tuple(int(j["id"]) for j in jobs if int(j["id"]) != current)
            self._rows[crew_id] = CrewRow(
                id=crew_id,
                name=str(crew.get("name") or f"Crew {crew_id}"),
                status=str(crew.get("status") or "available"),
                skills=tuple(str(s) for s in crew.get("skills") or ()),
                members=tuple(str(m) for m in crew.get("members") or ()),
                version=int(crew.get("version") or 1),
                current_job=current,
                queue=queue,
                last_seen_at=parse_time(crew.get("last_seen_at")),
            )
            self._stale_seen[crew_id] = self.is_stale(crew_id)
        self._order = None

    # -- the job being placed ------------------------------------------------------------

    def set_candidate(self, job: Mapping[str, Any] | None) -> None:
        """Judge every crew for this job (None: no job being placed) and re-rank the board."""
        self.candidate = None if job is None else dict(job)
        if self.candidate is None or self.eta_job_id != int(self.candidate["id"]):
            self._etas = {}
            self.eta_job_id = None
        self._refresh_candidate()
        self._order = None
        self.changed.emit(ModelChange(frozenset(self.crews), structure=True))

    def _refresh_candidate(self) -> None:
        if self.candidate is None:
            self._eligibility = {}
        else:
            self._eligibility = self.rule.eligible(self.candidate, self.crews, self.clock())
        self._order = None

    def eligibility(self, crew_id: int) -> Eligibility | None:
        """How a crew stands for the job being placed (None when no job is)."""
        return self._eligibility.get(crew_id)

    def eligible_ids(self) -> list[int]:
        """Crews that can take the job being placed with a fresh position (the map marks these)."""
        return [i for i in self.visible_ids() if (e := self._eligibility.get(i)) and e.ok]

    def set_etas(self, job_id: int, etas: Mapping[int, float]) -> None:
        """Road ETAs (seconds) of crews to ``job_id``, from the routing recommendation."""
        self.eta_job_id = job_id
        self._etas = {int(k): float(v) for k, v in etas.items() if math.isfinite(v)}
        self._order = None
        self.changed.emit(ModelChange(frozenset(self.crews), structure=True))

    def eta_s(self, crew_id: int) -> float | None:
        """The crew's ETA to the job the ETAs were given for, if known."""
        return self._etas.get(crew_id)

    # -- reading ------------------------------------------------------------------------

    def row(self, crew_id: int) -> CrewRow:
        """The board row of a crew (KeyError when unknown)."""
        return self._rows[crew_id]

    def visible_ids(self) -> list[int]:
        """Crew ids in board order (with a job being placed: who can take it first)."""
        if self._order is None:
            self._order = sorted(self._rows, key=self._rank)
        return list(self._order)

    def rows(self) -> list[CrewRow]:
        """The board's rows, in order."""
        return [self._rows[i] for i in self.visible_ids()]

    def _rank(self, crew_id: int) -> tuple[Any, ...]:
        r = self._rows[crew_id]
        e = self._eligibility.get(crew_id)
        eta = self._etas.get(crew_id, math.inf)
        if e is not None:
            group = 0 if e.ok else 1 if e.allowed else 2
            return (group, eta, r.workload, r.name.casefold(), crew_id)
        return (STATUS_ORDER.get(r.status, 9), r.name.casefold(), crew_id)

    def number_of(self, crew_id: int) -> int | None:
        """The crew's pick number 1–9 (its place on the board), or None."""
        order = self.visible_ids()
        if crew_id in order[:MAX_NUMBERED]:
            return order.index(crew_id) + 1
        return None

    def crew_by_number(self, number: int) -> int | None:
        """The crew a number key picks, or None."""
        order = self.visible_ids()
        return order[number - 1] if 1 <= number <= min(len(order), MAX_NUMBERED) else None

    def job(self, job_id: int) -> dict[str, Any] | None:
        """An open assigned job the board knows (title, status, version...)."""
        return self.jobs.get(job_id)

    def position_age_s(self, crew_id: int) -> float | None:
        """Seconds since the crew's last position (None: never seen)."""
        return position_age_s(self.crews[crew_id], self.clock())

    def is_stale(self, crew_id: int) -> bool:
        """Position older than the rule's limit, or none at all."""
        age = self.position_age_s(crew_id)
        return age is None or age > self.rule.stale_after_s

    def tick(self) -> ModelChange:
        """Re-evaluate time: crews whose position went stale (or fresh) are announced."""
        flipped = set()
        for crew_id in self._rows:
            stale = self.is_stale(crew_id)
            if self._stale_seen.get(crew_id) != stale:
                self._stale_seen[crew_id] = stale
                flipped.add(crew_id)
        if flipped and self.candidate is not None:
            self._refresh_candidate()
            change = ModelChange(frozenset(flipped), structure=True)
        else:
            change = ModelChange(frozenset(flipped))
        if change.ids:
            self.changed.emit(change)
        return change
