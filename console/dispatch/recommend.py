"""Road recommendations and ETAs in the console: asks the backend, keeps the answers (no Qt).

* :class:`RecommendationModel` holds the top crews for the selected job (from
  ``recommend_crews``) for the recommendation panel and the routes layer.
* :class:`DispatchRouting` sends the queries and feeds the answers in: the
  selected job's recommendation, and road ETAs for the job being placed
  (``crew_etas``) through :meth:`DispatchRouting.eta_source`, the
  ``DispatchController.eta_source`` hook. That hook must answer at once (it
  runs as a drag starts), so it returns the ETAs already known for the job
  (prefetched when the job was selected) and asks for fresh ones; when they
  arrive while the job is still being placed, the crew board gets them and
  :attr:`DispatchRouting.etas_arrived` tells the map to redraw its marks.

``send_command`` follows the controller's contract: a reply body, a raised
``CommandFailed``/``BusTimeout``, or a ``Future`` of a body or an envelope
(answers are then handed to ``post`` to run on the GUI thread).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backend.protocol.client import BusTimeout, CommandFailed
from console.bus_commands import Post, SendCommand, send_then
from console.dispatch.common import Notifier
from console.dispatch.controller import DispatchController

#: ETAs older than this (s) are fetched again when a drag starts (crews move).
ETA_FRESH_S = 10.0


@dataclass(frozen=True, slots=True)
class RecommendedCrew:
    """One crew of a recommendation, as the panel shows it."""

    rank: int
    crew_id: int
    crew_name: str
    eta_s: float
    stale: bool
    position_age_s: float | None
    workload: int
    route_m: float
    position_source: str = "last"


@dataclass(frozen=True, slots=True)
class RecommendationView:
    """What the panel shows: the job, its state (idle/loading/ready/error) and the crews."""

    job_id: int | None = None
    state: str = "idle"
    choices: tuple[RecommendedCrew, ...] = ()
    message: str = ""
    excluded: tuple[tuple[str, str], ...] = ()  # (crew name, reason)
    raw_choices: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)


def parse_choice(c: Mapping[str, Any]) -> RecommendedCrew:
    """A ``recommend_crews`` choice as a :class:`RecommendedCrew` (KeyError/TypeError if bad)."""
    age = c.get("position_age_s")
    return RecommendedCrew(
        rank=int(c["rank"]),
        crew_id=int(c["crew_id"]),
        crew_name=str(c.get("crew_name") or f"crew {c['crew_id']}"),
        eta_s=float(c["eta_s"]),
        stale=bool(c.get("stale")),
        position_age_s=None if age is None else float(age),
        workload=int(c.get("workload") or 0),
        route_m=float((c.get("route") or {}).get("meters") or 0.0),
        position_source=str(c.get("position_source") or "last"),
    )


class RecommendationModel:
    """The recommendation for the selected job; :attr:`changed` fires with every new view."""

    def __init__(self) -> None:
        self.view = RecommendationView()
        self.changed: Notifier[RecommendationView] = Notifier()

    def _set(self, view: RecommendationView) -> None:
        self.view = view
        self.changed.emit(view)

    def loading(self, job_id: int) -> None:
        """A query for ``job_id`` went out (the last answer stays visible until the new one)."""
        keep = self.view.choices if self.view.job_id == job_id else ()
        raw = self.view.raw_choices if self.view.job_id == job_id else ()
        self._set(RecommendationView(job_id, "loading", keep, "Finding crews…", (), raw))

    def deliver(self, job_id: int, result: Mapping[str, Any]) -> None:
        """A ``recommend_crews`` answer for ``job_id`` (ignored when another job is selected)."""
        if job_id != self.view.job_id:
            return
        raw = tuple(result.get("choices") or ())
        try:
            choices = tuple(parse_choice(c) for c in raw)
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(job_id, f"unreadable recommendation: {exc!r}")
            return
        excluded = tuple(
            (str(e.get("crew_name") or e.get("crew_id")), str(e.get("reason")))
            for e in result.get("excluded") or ()
        )
        if choices:
            message = ""
        elif not result.get("job_snapped", True):
            message = "The job is too far from any drivable road to route to."
        else:
            message = "No crew can take this job now."
        self._set(RecommendationView(job_id, "ready", choices, message, excluded, raw))

    def fail(self, job_id: int, message: str) -> None:
        """The query for ``job_id`` was refused or timed out."""
        if job_id == self.view.job_id:
            self._set(RecommendationView(job_id, "error", (), message))

    def clear(self) -> None:
        """No job selected."""
        if self.view.job_id is not None or self.view.state != "idle":
            self._set(RecommendationView())

    def choice(self, number: int) -> RecommendedCrew | None:
        """The crew shown as number ``number`` (1-based), if any."""
        choices = self.view.choices
        return choices[number - 1] if 1 <= number <= len(choices) else None


class DispatchRouting:
    """Sends ``recommend_crews``/``crew_etas``; feeds the answers to models and the controller."""

    def __init__(
        self,
        send_command: SendCommand,
        controller: DispatchController,
        post: Post | None = None,
        top: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.send_command = send_command
        self.controller = controller
        self.post: Post = post or (lambda fn: fn())
        self.top = top
        self.clock = clock
        self.model = RecommendationModel()
        self.selected_job_id: int | None = None
        #: job id → (when fetched, crew id → ETA s).
        self.etas: dict[int, tuple[float, dict[int, float]]] = {}
        self._eta_pending: set[int] = set()
        self._rec_pending: int | None = None
        self._rec_again = False
        #: The job's ETAs arrived while it is being placed (the map redraws its marks).
        self.etas_arrived: Notifier[int] = Notifier()
        #: The city's zone for shift times, as the backend names it (e.g. ``Europe/Berlin``).
        self.zone_seen: Notifier[str] = Notifier()
        self.zone: str | None = None

    # -- plumbing ---------------------------------------------------------------------------

    def _query(
        self,
        name: str,
        args: dict[str, Any],
        on_ok: Callable[[Mapping[str, Any]], None],
        on_error: Callable[[str], None],
    ) -> None:
        def finish(reply: Any, error: BaseException | None) -> None:
            if error is None:
                result = (reply or {}).get("result")
                if isinstance(result, Mapping):
                    zone = result.get("zone")
                    if isinstance(zone, str) and zone and zone != self.zone:
                        self.zone = zone
                        self.zone_seen.emit(zone)
                    on_ok(result)
                else:
                    on_error("the backend sent no result")
            elif isinstance(error, CommandFailed):
                on_error(f"{error.message}")
            elif isinstance(error, BusTimeout):
                on_error("No answer from the backend; retrying when something changes.")
            else:
                on_error(f"the query could not be sent: {error}")

        send_then(
            self.send_command, self.post, name, args, finish, what="query", bus_errors_only=False
        )

    # -- the selected job ----------------------------------------------------------------------

    def select_job(self, job_id: int | None) -> None:
        """The dispatcher selected a job (None: none): recommend crews and prefetch ETAs."""
        self.selected_job_id = job_id
        if job_id is None:
            self.model.clear()
            return
        self.refresh()
        self._fetch_etas(job_id)

    def refresh(self) -> None:
        """Ask again for the selected job (crews moved, the job changed)."""
        job_id = self.selected_job_id
        if job_id is None:
            return
        if self._rec_pending is not None:
            self._rec_again = True  # one query at a time; the newest state wins afterwards
            return
        self._rec_pending = job_id
        self.model.loading(job_id)

        def ok(result: Mapping[str, Any]) -> None:
            self.model.deliver(job_id, result)
            self._settled()

        def failed(message: str) -> None:
            self.model.fail(job_id, message)
            self._settled()

        self._query("recommend_crews", {"job_id": job_id, "top": self.top}, ok, failed)

    def _settled(self) -> None:
        self._rec_pending = None
        if self._rec_again:
            self._rec_again = False
            self.refresh()

    # -- ETAs for the job being placed ----------------------------------------------------------

    def eta_source(self, job: Mapping[str, Any]) -> Mapping[int, float]:
        """The controller's hook: ETAs known for the job now; fresh ones are fetched if old."""
        job_id = int(job["id"])
        known = self.etas.get(job_id)
        if known is None or self.clock() - known[0] > ETA_FRESH_S:
            self._fetch_etas(job_id)
            known = self.etas.get(job_id)  # a synchronous sender has answered already
        return dict(known[1]) if known else {}

    def _fetch_etas(self, job_id: int) -> None:
        if job_id in self._eta_pending:
            return
        self._eta_pending.add(job_id)

        def ok(result: Mapping[str, Any]) -> None:
            self._eta_pending.discard(job_id)
            etas = {
                int(e["crew_id"]): float(e["eta_s"])
                for e in result.get("etas") or ()
                if e.get("eta_s") is not None and math.isfinite(float(e["eta_s"]))
            }
            self.etas[job_id] = (self.clock(), etas)
            if len(self.etas) > 200:  # keep the cache small: drop the oldest
                del self.etas[min(self.etas, key=lambda k: self.etas[k][0])]
            if self.controller.placing_job_id == job_id:
                self.controller.crews.set_etas(job_id, etas)
                self.etas_arrived.emit(job_id)

        def failed(_message: str) -> None:
            self._eta_pending.discard(job_id)

        self._query("crew_etas", {"job_id": job_id}, ok, failed)
