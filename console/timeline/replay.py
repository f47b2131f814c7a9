"""Replay of a time window: where crews were and what state jobs, issues and alarms were in at T.

Pure (no Qt). Built from what the timeline already fetched (its entries carry
each entity's full state after every event, and ``before`` the states just
before the window) plus the crews' decimated tracks (``get_crew_tracks``):

* an entity's state at T is the state its newest event at or before T left;
  before its first event in the window, the state it had before the window
  (none: it did not exist yet, or nothing is known, and it is not shown);
* a crew's position at T is interpolated between the two track points around
  T, held after its last point, unknown before its first; its status comes
  from its ``crew.status`` events (``unknown`` before the first when nothing
  is known from before the window), else from the live replica (a crew whose
  status did not change in the window);
* shown: every crew with a position, jobs not yet done or cancelled, issues
  not closed, alarms not cleared; an alarm stands at its asset.

:class:`ReplayClock` is the play head: a time in the window, a speed, play
and pause.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.protocol.columns import decode_columns
from console.timeline.model import TimelineEntry

Array = npt.NDArray[Any]

#: Columns of a ``get_crew_tracks`` reply.
TRACK_COLUMNS = {"crew_id": "i8", "ts": "ts", "lon": "f8", "lat": "f8"}
TRACK_OPTIONAL = {"heading": "f8"}
#: States in which an entity leaves the map.
GONE = {"job": {"done", "cancelled"}, "issue": {"closed"}, "alarm": {"cleared"}}
#: Playback speeds offered (window seconds per wall-clock second).
SPEEDS = (1.0, 10.0, 60.0, 300.0, 1200.0)


@dataclass(frozen=True, slots=True)
class Tracks:
    """Crews' positions as columns, sorted by crew then time; ``t`` in epoch seconds."""

    crew_id: Array
    t: Array
    lon: Array
    lat: Array
    heading: Array

    @classmethod
    def empty(cls) -> Tracks:
        """No positions."""
        f = np.empty(0)
        return cls(np.empty(0, dtype=np.int64), f, f, f, f)

    @classmethod
    def from_reply(cls, spec: Mapping[str, Any]) -> Tracks:
        """The ``tracks`` of a ``get_crew_tracks`` reply (ColumnError when malformed)."""
        if spec.get("n") == 0:
            return cls.empty()
        _, cols = decode_columns(spec, TRACK_COLUMNS, TRACK_OPTIONAL)
        n = len(cols["crew_id"])
        crew, t = cols["crew_id"].astype(np.int64), cols["ts"].astype(np.float64) / 1e6
        order = np.lexsort((t, crew))
        heading = cols.get("heading", np.full(n, np.nan))
        return cls(crew[order], t[order], cols["lon"][order], cols["lat"][order], heading[order])

    def crews(self) -> list[int]:
        """Crew ids with a track."""
        return [int(c) for c in np.unique(self.crew_id)]


@dataclass(frozen=True, slots=True)
class Marker:
    """One thing on the replay map at T."""

    kind: str  # crew, job, issue, alarm
    id: int
    lon: float
    lat: float
    status: str  # the crew's / job's / issue's status, the alarm's severity
    label: str = ""
    heading: float = float("nan")


@dataclass(slots=True)
class ReplayFrame:
    """Everything the replay shows at one time."""

    at: datetime
    markers: list[Marker] = field(default_factory=list)

    def of(self, kind: str) -> dict[int, Marker]:
        """The markers of one kind by id."""
        return {m.id: m for m in self.markers if m.kind == kind}


class ReplayModel:
    """States at any time T of a window, from the timeline's entries and the crews' tracks."""

    def __init__(
        self,
        since: datetime,
        until: datetime,
        entries: Sequence[TimelineEntry],
        before: Mapping[str, Mapping[str, Any]] | None = None,
        tracks: Tracks | None = None,
        crews: Mapping[int, Mapping[str, Any]] | None = None,
        asset_positions: Mapping[int, tuple[float, float]] | None = None,
    ) -> None:
        if until <= since:
            raise ValueError("the window must end after it starts")
        self.since, self.until = since, until
        self.before = dict(before or {})
        self.tracks = tracks or Tracks.empty()
        self.crews = dict(crews or {})
        self.asset_positions = asset_positions or {}
        #: Per topic: event times (epoch s) and the states after them.
        self._times: dict[str, list[float]] = {}
        self._states: dict[str, list[Mapping[str, Any]]] = {}
        for e in sorted(entries, key=lambda e: (e.ts, e.seq)):
            self._times.setdefault(e.topic, []).append(e.t)
            previous = self._states.setdefault(e.topic, [])
            base = previous[-1] if previous else self.before.get(e.topic, {})
            previous.append({**base, **e.entity})  # a patch-only body merges into what was
        self._segments: dict[int, tuple[int, int]] = {}
        ids, starts = np.unique(self.tracks.crew_id, return_index=True)
        ends = np.append(starts[1:], len(self.tracks.crew_id)) if len(ids) else starts
        for cid, a, b in zip(ids.tolist(), starts.tolist(), ends.tolist(), strict=True):
            self._segments[int(cid)] = (a, b)

    # -- states ---------------------------------------------------------------------------------

    def topics(self, kind: str) -> list[str]:
        """Topics of one kind the window's events or the states before it name."""
        prefix = kind + "/"
        return sorted({t for t in (*self._times, *self.before) if t.startswith(prefix)})

    def entity_at(self, topic: str, at: datetime) -> Mapping[str, Any] | None:
        """The entity's state at ``at`` (None: not there yet, or unknown)."""
        times = self._times.get(topic, [])
        i = bisect.bisect_right(times, at.timestamp()) - 1
        if i >= 0:
            return self._states[topic][i]
        if topic in self.before:
            return self.before[topic]
        return None  # created later in the window (or nothing known before its first event)

    def crew_position(self, crew_id: int, at: datetime) -> tuple[float, float, float] | None:
        """(lon, lat, heading) at ``at``: interpolated between track points, held after the last."""
        seg = self._segments.get(crew_id)
        if seg is None:
            return None
        a, b = seg
        t = self.tracks.t[a:b]
        x = at.timestamp()
        i = int(np.searchsorted(t, x, side="right")) - 1
        if i < 0:
            return None
        k = a + i
        heading = float(self.tracks.heading[k])
        if i == b - a - 1 or t[i] == x:
            return float(self.tracks.lon[k]), float(self.tracks.lat[k]), heading
        f = (x - t[i]) / (t[i + 1] - t[i])
        lon = self.tracks.lon[k] + f * (self.tracks.lon[k + 1] - self.tracks.lon[k])
        lat = self.tracks.lat[k] + f * (self.tracks.lat[k + 1] - self.tracks.lat[k])
        return float(lon), float(lat), heading

    def frame(self, at: datetime) -> ReplayFrame:
        """Everything shown at ``at`` (clamped to the window)."""
        at = min(max(at, self.since), self.until)
        out = ReplayFrame(at)
        crew_ids = sorted(set(self._segments) | {int(t[5:]) for t in self.topics("crew")})
        for cid in crew_ids:
            pos = self.crew_position(cid, at)
            if pos is None:
                continue
            live = self.crews.get(cid, {})
            topic = f"crew/{cid}"
            state = self.entity_at(topic, at)
            if state is None:
                # Before its first status change in the window, with nothing known before
                # it: unknown. A crew the window never changed: as it is live.
                state = {"status": "unknown"} if topic in self._times else live
            name = str(state.get("name") or live.get("name") or f"Crew {cid}")
            status = str(state.get("status") or "unknown")
            out.markers.append(Marker("crew", cid, pos[0], pos[1], status, name, pos[2]))
        for kind in ("job", "issue", "alarm"):
            for topic in self.topics(kind):
                marker = self._marker(kind, topic, at)
                if marker is not None:
                    out.markers.append(marker)
        return out

    def _marker(self, kind: str, topic: str, at: datetime) -> Marker | None:
        state = self.entity_at(topic, at)
        if state is None:
            return None
        eid = int(topic.partition("/")[2])
        status = str(state.get("state" if kind == "alarm" else "status") or "")
        if status in GONE[kind]:
            return None
        if kind == "alarm":
            asset = state.get("asset_id")
            where = self.asset_positions.get(int(asset)) if isinstance(asset, int) else None
            if where is None:
                return None
            return Marker(kind, eid, where[0], where[1], str(state.get("severity") or "major"))
        x, y = state.get("lon"), state.get("lat")
        if not isinstance(x, int | float) or not isinstance(y, int | float):
            return None
        return Marker(kind, eid, float(x), float(y), status)


class ReplayClock:
    """The play head: a time in ``[since, until]``, playing or paused, at a speed."""

    def __init__(self, since: datetime, until: datetime, speed: float = 60.0) -> None:
        if until <= since:
            raise ValueError("the window must end after it starts")
        self.since, self.until = since, until
        self.at = since
        self.speed = speed
        self.playing = False

    @property
    def fraction(self) -> float:
        """How far through the window the play head is, 0 to 1."""
        return (self.at - self.since) / (self.until - self.since)

    def seek(self, at: datetime) -> datetime:
        """Move the play head (clamped to the window)."""
        self.at = min(max(at, self.since), self.until)
        return self.at

    def seek_fraction(self, fraction: float) -> datetime:
        """Move the play head to a share of the window."""
        return self.seek(self.since + (self.until - self.since) * min(max(fraction, 0.0), 1.0))

    def play(self) -> None:
        """Start playing (from the start again when at the end)."""
        if self.at >= self.until:
            self.at = self.since
        self.playing = True

    def pause(self) -> None:
        """Stop where it is."""
        self.playing = False

    def advance(self, wall_seconds: float) -> datetime:
        """Wall-clock time passed: move on ``speed`` times as far; stop at the end."""
        if self.playing:
            self.seek(self.at + timedelta(seconds=wall_seconds * self.speed))
            if self.at >= self.until:
                self.playing = False
        return self.at
