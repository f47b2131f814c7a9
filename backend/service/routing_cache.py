"""The backend's road router: built once from the ``roads`` table, rebuilt when roads change.

Dispatch queries (:mod:`backend.service.handlers_dispatch`) need a
:class:`~backend.routing.Router` in memory: building one takes from a fraction
of a second (the demo city) to several seconds (a whole OSM extract), while a
query on it takes milliseconds. So one :class:`RoutingCache` per database
(per :class:`~sqlalchemy.Engine`) keeps the router and the *roads key* it was
built from: the count and the highest id of the ``roads`` rows. Importers only
ever add roads (``insert_new``), so an import that changes the network changes
the key; a query that sees a new key starts a rebuild in a background thread
and keeps answering from the old router until the new one is ready (a
control room would rather see a route on yesterday's network than wait). The
very first query waits for the first build, up to :data:`FIRST_BUILD_WAIT_S`.

The key costs one ``count(*)``/``max(id)`` per query (about a millisecond on
the Helsinki extract), which is cheaper and more robust than listening for
``import.completed`` events: roads written by any tool are noticed.

:func:`routing_for` is the registry the handlers use (commands only get a
session, whose bind is the engine); :func:`warm` starts the first build at
service start-up so the first dispatcher does not wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.db.engine import make_sessionmaker
from backend.db.models import Road
from backend.routing import Router, graph_from_db

log = logging.getLogger(__name__)

#: How long the very first query waits for the first graph build (s).
FIRST_BUILD_WAIT_S = 60.0
#: After a failed build, queries do not start another for this long (s).
RETRY_AFTER_S = 10.0


class RoutingUnavailable(Exception):
    """No router could be given: the first build is still running, or it failed."""


@dataclass(frozen=True, slots=True)
class RoadsKey:
    """What identifies the road network a router was built from."""

    count: int
    max_id: int


@dataclass(frozen=True, slots=True)
class RoutingState:
    """A built router, the roads key it reflects and how long it took to build."""

    router: Router
    key: RoadsKey
    built_at: datetime
    build_s: float


def roads_key(session: Session) -> RoadsKey:
    """The current :class:`RoadsKey` of the database behind ``session``."""
    count, max_id = session.execute(select(func.count(Road.id), func.max(Road.id))).one()
    return RoadsKey(int(count or 0), int(max_id or 0))


class RoutingCache:
    """One database's router, rebuilt in the background when its roads change."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self._lock = threading.Lock()
        self._state: RoutingState | None = None
        self._building: RoadsKey | None = None
        self._ready = threading.Event()  # set whenever no build is running
        self._ready.set()
        self._failed_at: float | None = None
        self.last_error: str | None = None
        self.builds = 0

    @property
    def state(self) -> RoutingState | None:
        """The router in use now (None before the first build finishes)."""
        return self._state

    def refresh(self, key: RoadsKey | None = None) -> bool:
        """Start a background rebuild unless one is running or the router is up to date.

        ``key`` is the roads key just seen (None: read it now). True when a build started.
        """
        if key is None:
            with self.sessions() as s:
                key = roads_key(s)
        with self._lock:
            state = self._state
            if self._building is not None or (state is not None and state.key == key):
                return False
            if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER_S:
                return False
            self._building = key
            self._ready.clear()
        thread = threading.Thread(target=self._build, name="routing-build", daemon=True)
        thread.start()
        return True

    def _build(self) -> None:
        started = time.perf_counter()
        try:
            # The key and the roads come from one transaction, so they describe the same network.
            with self.sessions.begin() as s:
                key = roads_key(s)
                graph = graph_from_db(s)
            router = Router(graph)
        except Exception as exc:  # a broken build must not take queries down with it
            log.exception("building the road graph failed")
            with self._lock:
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._failed_at = time.monotonic()
                self._building = None
                self._ready.set()
            return
        took = time.perf_counter() - started
        log.info(
            "road graph built: %d segments, %d arcs from %d roads in %.2f s",
            graph.n_segments,
            graph.n_arcs,
            key.count,
            took,
        )
        with self._lock:
            self._state = RoutingState(router, key, datetime.now(UTC), took)
            self.last_error = None
            self._failed_at = None
            self._building = None
            self.builds += 1
            self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until no build is running (True) or ``timeout`` passes (False)."""
        return self._ready.wait(timeout)

    def current(self, session: Session, wait_s: float = FIRST_BUILD_WAIT_S) -> RoutingState:
        """The router to answer a query with, checking the roads key on ``session``.

        Starts a rebuild when the roads changed and answers from the previous
        router meanwhile; only when there is none yet does it wait (up to
        ``wait_s``). Raises :class:`RoutingUnavailable` when no router is ready.
        """
        key = roads_key(session)
        state = self._state
        if state is None or state.key != key:
            self.refresh(key)
        if self._state is None:
            self._ready.wait(wait_s)
        state = self._state
        if state is None:
            why = self.last_error or "the road graph is still being built"
            raise RoutingUnavailable(why)
        return state


_CACHES: weakref.WeakKeyDictionary[Engine, RoutingCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def routing_for(engine: Engine) -> RoutingCache:
    """The routing cache of one database (made on first use, kept as long as the engine)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = RoutingCache(engine)
        return cache


def warm(engine: Engine) -> RoutingCache:
    """Start building the router of ``engine``'s database now (returns without waiting)."""
    cache = routing_for(engine)
    try:
        cache.refresh()
    except Exception as exc:  # the database may be down at start: the first query retries
        log.warning("could not start the road graph build: %s", exc)
    return cache
