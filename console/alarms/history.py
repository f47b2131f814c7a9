"""An asset's history as the panel shows it: reading series per metric, limits, alarms, events.

Pure Python (numpy, no Qt). Built from the ``get_asset_history`` reply
(``asset``, ``events``, ``readings`` and, when the backend sends them,
``jobs``, ``alarms`` and ``nearby_issues``) and kept live by the replica's
entity changes for the same asset (``latest`` readings, its alarms and jobs).
Limits and units come from :mod:`backend.telemetry.catalog`, the one table
the simulator, the detector and the console share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.telemetry.catalog import Metric, metrics_for
from console.dispatch.common import Notifier, parse_time, topic_id
from layers.palette import alarm_severity_style

FloatArray = npt.NDArray[np.float64]

#: Asset event kinds (backend/db/models.py ASSET_EVENT_KINDS) as the list names them.
EVENT_LABELS = {
    "install": "Installed",
    "inspection": "Inspection",
    "failure": "Failure",
    "repair": "Repair",
    "note": "Note",
    "predecessor_failure": "Predecessor failed",
    "unmatched_failure": "Failure (unmatched)",
    "job": "Job",
    "alarm": "Alarm",
    "report": "Citizen report",
}
#: Skills a new job for an asset kind needs by default (as the simulator's citizen reports ask).
DEFAULT_SKILLS = {
    "street_light": ["electrical"],
    "traffic_signal": ["signals"],
    "hydrant": ["water"],
    "pump": ["water", "mechanical"],
    "transformer": ["electrical"],
    "substation": ["electrical"],
    "building": ["general"],
}
#: A new job's default priority from the worst active alarm (1 most urgent).
PRIORITY_OF_SEVERITY = {"critical": 1, "major": 2, "minor": 3, "info": 4}


def epoch(value: Any) -> float | None:
    """A wire time, datetime or date as epoch seconds (None when absent or unreadable)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, str) and len(value) == 10:  # a bare ISO date (install_date)
        value = value + "T00:00:00+00:00"
    try:
        when = parse_time(value)
    except (TypeError, ValueError):
        return None
    return None if when is None else when.timestamp()


@dataclass(frozen=True, slots=True)
class Series:
    """One metric's readings, oldest first, as epoch seconds and values."""

    metric: str
    unit: str
    x: FloatArray
    y: FloatArray
    discrete: bool = False


@dataclass(frozen=True, slots=True)
class LimitLine:
    """A horizontal limit from the catalog: ``alarm`` or ``warn``, ``low`` or ``high``."""

    value: float
    level: str
    side: str

    @property
    def label(self) -> str:
        """``alarm high 7.1``."""
        return f"{self.level} {self.side} {self.value:g}"


@dataclass(frozen=True, slots=True)
class AlarmMarker:
    """Where an alarm sits on a chart: its raise time and severity."""

    alarm_id: int
    t: float
    severity: str
    message: str
    state: str


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One line of the asset's story, in time order."""

    t: float | None  # epoch seconds; None sorts last
    kind: str  # an EVENT_LABELS key
    title: str
    detail: str
    ref: str = ""  # a topic to open (``job/12``, ``alarm/3``, ``issue/7``), if any
    severity: str = ""  # alarms only


@dataclass(frozen=True, slots=True)
class JobDraft:
    """What the Create job dialog proposes."""

    title: str
    priority: int
    skills: list[str]


def _s(value: Any) -> str:
    return "" if value is None else str(value)


class AssetHistoryModel:
    """One asset's readings, limits, alarms and events; ``changed`` names what changed.

    ``changed`` carries a set of ``"asset"``, ``"readings"`` and ``"events"``.
    """

    def __init__(self) -> None:
        self.changed: Notifier[frozenset[str]] = Notifier()
        self.asset: dict[str, Any] | None = None
        self.crew_names: dict[int, str] = {}
        self._readings: dict[str, list[tuple[float, float]]] = {}
        self._series: dict[str, Series] = {}
        self._asset_events: list[dict[str, Any]] = []
        self.jobs: dict[int, dict[str, Any]] = {}
        self.alarms: dict[int, dict[str, Any]] = {}
        self.nearby_issues: list[dict[str, Any]] = []

    # -- feeding ------------------------------------------------------------------------

    @property
    def asset_id(self) -> int | None:
        """The asset shown (None: none yet)."""
        return None if self.asset is None else int(self.asset["id"])

    @property
    def kind(self) -> str:
        """The asset's kind ("" when none)."""
        return _s((self.asset or {}).get("kind"))

    @property
    def name(self) -> str:
        """The asset's name, or kind and id."""
        a = self.asset or {}
        return _s(a.get("name")) or f"{a.get('kind') or 'asset'} {a.get('id', '?')}"

    def set_history(self, result: Mapping[str, Any]) -> None:
        """Show a ``get_asset_history`` result (replaces whatever was shown)."""
        asset = result.get("asset")
        if not isinstance(asset, Mapping) or "id" not in asset:
            raise ValueError("an asset history needs an 'asset' with an 'id'")
        self.asset = dict(asset)
        self._readings = {}
        # The reply lists newest first (ties: the later row first); held oldest first, so a
        # stable sort then "keep the last of equal times" keeps the later row.
        for item in reversed(list(result.get("readings") or ())):
            metric, ts, value = item
            t = epoch(ts)
            if t is not None and value is not None:
                self._readings.setdefault(str(metric), []).append((t, float(value)))
        self._add_latest(self.asset.get("latest") or {})
        self._series = {}
        self._asset_events = [dict(e) for e in result.get("events") or ()]
        self.jobs = {int(j["id"]): dict(j) for j in result.get("jobs") or ()}
        for j in self.jobs.values():
            if j.get("crew_id") is not None and j.get("crew_name"):
                self.crew_names[int(j["crew_id"])] = str(j["crew_name"])
        self.alarms = {int(a["id"]): dict(a) for a in result.get("alarms") or ()}
        self.nearby_issues = [dict(i) for i in result.get("nearby_issues") or ()]
        self.changed.emit(frozenset({"asset", "readings", "events"}))

    def _add_latest(self, latest: Mapping[str, Any]) -> bool:
        """Add ``latest`` readings (``{metric: [ts, value]}``) newer than the newest held."""
        added = False
        for metric, pair in latest.items():
            if not pair or pair[1] is None:
                continue
            t = epoch(pair[0])
            points = self._readings.setdefault(str(metric), [])
            newest = max((p[0] for p in points), default=None)
            if t is not None and (newest is None or t > newest):
                points.append((t, float(pair[1])))
                self._series.pop(str(metric), None)
                added = True
        return added

    def apply_many(self, items: Iterable[tuple[str, Mapping[str, Any] | None]]) -> None:
        """Live entity changes: this asset's ``latest``, its alarms and jobs, crew names."""
        if self.asset is None:
            return
        what: set[str] = set()
        me = self.asset_id
        for t, state in items:
            parsed = topic_id(t)
            if parsed is None:
                continue
            kind, entity_id = parsed
            if kind == "crew" and state is not None and state.get("name"):
                self.crew_names[entity_id] = str(state["name"])
            elif kind == "asset" and entity_id == me and state is not None:
                self.asset = {**self.asset, **dict(state)}
                what.add("asset")
                if self._add_latest(state.get("latest") or {}):
                    what.add("readings")
            elif kind in ("alarm", "job"):
                held = self.alarms if kind == "alarm" else self.jobs
                mine = state is not None and state.get("asset_id") == me
                if mine and state is not None:
                    old = held.get(entity_id, {})
                    held[entity_id] = {**old, **dict(state)}
                    what.add("events")
                elif entity_id in held:
                    del held[entity_id]
                    what.add("events")
        if what:
            self.changed.emit(frozenset(what))

    # -- reading ------------------------------------------------------------------------

    def catalog(self) -> tuple[Metric, ...]:
        """The catalog's metrics for this asset's kind."""
        return metrics_for(self.kind)

    def metrics(self) -> list[str]:
        """Metrics to pick from: the kind's catalog order first, then any others with readings."""
        names = [m.name for m in self.catalog()]
        return names + sorted(m for m in self._readings if m not in names)

    def default_metric(self) -> str | None:
        """The first metric with readings (else the first the kind reports)."""
        names = self.metrics()
        return next((m for m in names if self._readings.get(m)), names[0] if names else None)

    def metric_info(self, metric: str) -> Metric | None:
        """The catalog entry of a metric of this kind."""
        return next((m for m in self.catalog() if m.name == metric), None)

    def series(self, metric: str) -> Series:
        """A metric's readings, oldest first (duplicate times keep the last value)."""
        cached = self._series.get(metric)
        if cached is not None:
            return cached
        points = self._readings.get(metric, [])
        x = np.array([p[0] for p in points], dtype=np.float64)
        y = np.array([p[1] for p in points], dtype=np.float64)
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        if len(x) > 1:
            keep = np.append(x[1:] != x[:-1], True)  # the later of equal times wins
            x, y = x[keep], y[keep]
        info = self.metric_info(metric)
        series = Series(
            metric, info.unit if info else "", x, y, bool(info.discrete) if info else False
        )
        self._series[metric] = series
        return series

    def limits(self, metric: str) -> list[LimitLine]:
        """The catalog's alarm and warning limits of a metric (none for unknown metrics)."""
        info = self.metric_info(metric)
        if info is None:
            return []
        pairs = (
            (info.low_limit, "alarm", "low"),
            (info.high_limit, "alarm", "high"),
            (info.warn_low, "warn", "low"),
            (info.warn_high, "warn", "high"),
        )
        return [LimitLine(float(v), level, side) for v, level, side in pairs if v is not None]

    def alarm_markers(self, metric: str) -> list[AlarmMarker]:
        """This metric's alarms (and asset-wide ones without a metric) at their raise times."""
        out: list[AlarmMarker] = []
        for a in self.alarms.values():
            if a.get("metric") not in (metric, None, ""):
                continue
            t = epoch(a.get("raised_at"))
            if t is None:
                continue
            out.append(
                AlarmMarker(
                    int(a["id"]),
                    t,
                    _s(a.get("severity")) or "info",
                    _s(a.get("message")),
                    _s(a.get("state")),
                )
            )
        out.sort(key=lambda m: (m.t, m.alarm_id))
        return out

    def crew_name(self, crew_id: Any) -> str:
        """A crew's name (``crew 3`` when unknown, "" for none)."""
        if crew_id is None:
            return ""
        return self.crew_names.get(int(crew_id), f"crew {crew_id}")

    def events(self) -> list[HistoryEvent]:
        """Install, maintenance events, jobs, alarms and nearby citizen reports, oldest first."""
        out: list[HistoryEvent] = []
        kinds = {_s(e.get("kind")) for e in self._asset_events}
        installed = (self.asset or {}).get("install_date")
        if installed and "install" not in kinds:
            out.append(HistoryEvent(epoch(installed), "install", "Installed", f"{self.name}"))
        for e in self._asset_events:
            kind = _s(e.get("kind")) or "note"
            bits = [_s(e.get("description"))]
            if e.get("crew_id") is not None:
                bits.append(f"by {self.crew_name(e['crew_id'])}")
            if e.get("job_id") is not None:
                bits.append(f"job #{e['job_id']}")
            ref = f"job/{e['job_id']}" if e.get("job_id") is not None else ""
            label = EVENT_LABELS.get(kind, kind.replace("_", " ").capitalize())
            out.append(
                HistoryEvent(epoch(e.get("ts")), kind, label, " · ".join(b for b in bits if b), ref)
            )
        for j in self.jobs.values():
            crew = _s(j.get("crew_name")) or self.crew_name(j.get("crew_id"))
            bits = [f"P{j.get('priority', '?')}", _s(j.get("status")).replace("_", " ")]
            if crew:
                bits.append(f"by {crew}")
            if j.get("closed_at"):
                bits.append(f"closed {_s(j['closed_at'])[:16].replace('T', ' ')}")
            out.append(
                HistoryEvent(
                    epoch(j.get("created_at")),
                    "job",
                    f"Job #{j['id']}: {_s(j.get('title'))}",
                    " · ".join(b for b in bits if b),
                    f"job/{j['id']}",
                )
            )
        for a in self.alarms.values():
            style = alarm_severity_style(_s(a.get("severity")))
            state = _s(a.get("state"))
            bits = [state + (f" by {a['acked_by']}" if a.get("acked_by") else "")]
            if a.get("shelve_reason"):
                bits.append(f"shelved: {a['shelve_reason']}")
            if a.get("cleared_at"):
                bits.append(f"cleared {_s(a['cleared_at'])[:16].replace('T', ' ')}")
            out.append(
                HistoryEvent(
                    epoch(a.get("raised_at")),
                    "alarm",
                    f"{style.glyph} {style.label} alarm: {_s(a.get('message'))}",
                    " · ".join(b for b in bits if b),
                    f"alarm/{a['id']}",
                    style.severity,
                )
            )
        for i in self.nearby_issues:
            bits = [_s(i.get("description")), _s(i.get("status"))]
            if i.get("distance_m") is not None:
                bits.append(f"{float(i['distance_m']):.0f} m away")
            out.append(
                HistoryEvent(
                    epoch(i.get("requested_at")),
                    "report",
                    f"Citizen report: {_s(i.get('category'))}",
                    " · ".join(b for b in bits if b),
                    f"issue/{i['id']}" if i.get("id") is not None else "",
                )
            )
        out.sort(key=lambda e: (e.t is None, e.t or 0.0))
        return out

    def job_draft(self) -> JobDraft:
        """A proposed job: named after the worst open alarm, prioritised by its severity."""
        open_alarms = [a for a in self.alarms.values() if a.get("state") != "cleared"]
        worst = max(
            open_alarms,
            key=lambda a: (
                alarm_severity_style(_s(a.get("severity"))).rank,
                _s(a.get("raised_at")),
            ),
            default=None,
        )
        skills = list(DEFAULT_SKILLS.get(self.kind, ["general"]))
        if worst is None:
            return JobDraft(f"Inspect {self.name}", 3, skills)
        priority = PRIORITY_OF_SEVERITY.get(_s(worst.get("severity")), 3)
        return JobDraft(f"{self.name}: {_s(worst.get('message'))}"[:200], priority, skills)


@dataclass(frozen=True, slots=True)
class AssetEntry:
    """One searchable asset."""

    id: int
    name: str
    kind: str

    @property
    def label(self) -> str:
        """``Pump 12 · pump · #12``: what the completer lists."""
        return f"{self.name or self.kind} · {self.kind} · #{self.id}"


class AssetIndex:
    """Find assets by id or name: exact id, name prefix, id prefix, word prefixes, substring."""

    def __init__(self, entries: Sequence[tuple[int, str, str]] = ()) -> None:
        self.entries: list[AssetEntry] = []
        self.set_entries(entries)

    def set_entries(self, entries: Sequence[tuple[int, str, str]]) -> None:
        """Replace the list of ``(id, name, kind)``."""
        self.entries = [AssetEntry(int(i), _s(n), _s(k)) for i, n, k in entries]
        self._by_id = {e.id: e for e in self.entries}
        self._folded = [(e.name.casefold(), e.kind.casefold()) for e in self.entries]

    @classmethod
    def from_entities(cls, entities: Mapping[str, Mapping[str, Any]]) -> AssetIndex:
        """An index over the ``asset/<id>`` entities of a replica copy."""
        rows = []
        for t, e in entities.items():
            parsed = topic_id(t)
            if parsed is not None and parsed[0] == "asset":
                rows.append((parsed[1], _s(e.get("name")), _s(e.get("kind"))))
        rows.sort()
        return cls(rows)

    def get(self, asset_id: int) -> AssetEntry | None:
        """The entry of an id."""
        return self._by_id.get(asset_id)

    def find(self, text: str, limit: int = 20) -> list[AssetEntry]:
        """The best matches for what the operator typed (``#12``, ``12``, ``pump 1``...)."""
        q = text.strip().casefold()
        if not q:
            return []
        ranked: list[tuple[int, int, AssetEntry]] = []
        digits = q.lstrip("#")
        exact = self._by_id.get(int(digits)) if digits.isdigit() else None
        if exact is not None:
            ranked.append((0, 0, exact))
        words = q.split()
        for n, (e, (name, kind)) in enumerate(zip(self.entries, self._folded, strict=True)):
            if e is exact:
                continue
            if name.startswith(q):
                rank = 1
            elif digits.isdigit() and str(e.id).startswith(digits):
                rank = 2
            elif all(any(w.startswith(x) for w in name.split()) for x in words):
                rank = 3
            elif all(x in f"{name} {kind} #{e.id}" for x in words):
                rank = 4
            else:
                continue
            ranked.append((rank, n, e))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [e for _, _, e in ranked[:limit]]
