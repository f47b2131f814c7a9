"""The alarm list's model: active alarms grouped, sorted, filtered, counted, with critical alerts.

Fed from the live replica's entity maps (``alarm/<id>`` and ``asset/<id>``
topics, the same ``load``/``apply_many`` calls as the dispatch models); read
by :class:`widgets.alarm_list.AlarmTreeModel`. No Qt: time comes from an
injected clock, so ages, shelve countdowns and the new-critical flash are
exact in tests.

Grouping follows the backend's ``group_key`` (``asset/<id>`` or
``area/<ix>/<iy>``, see ``backend/telemetry/alarm_grouping.py``): a key with
two or more visible alarms becomes one expandable group row; a key with one
visible alarm shows that alarm alone, since a group of one is only clutter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from console.dispatch.common import Clock, ModelChange, Notifier, parse_time, topic_id, utc_now
from layers.palette import alarm_severity_style

SEVERITY_ORDER = ("info", "minor", "major", "critical")
#: States the backend can put an alarm in (backend/db/models.py ALARM_STATES).
ALARM_STATES = ("raised", "acknowledged", "shelved", "cleared")
#: State filter presets: name → states shown (None: every state, cleared included).
STATE_FILTERS: dict[str, frozenset[str] | None] = {
    "active": frozenset({"raised", "acknowledged"}),
    "unacknowledged": frozenset({"raised"}),
    "shelved": frozenset({"shelved"}),
    "all": None,
}
#: States an operator can acknowledge from (the backend's rule in ack_alarm).
ACKABLE_STATES = frozenset({"raised", "shelved"})
#: States an operator can shelve from.
SHELVABLE_STATES = frozenset({"raised", "acknowledged", "shelved"})


def severity_rank(severity: str) -> int:
    """0 (info) to 3 (critical); unknown severities rank as info."""
    return alarm_severity_style(severity).rank


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One alarm as the list shows it (its asset's name joined in)."""

    id: int
    version: int
    asset_id: int | None
    asset_name: str
    metric: str
    rule: str
    severity: str
    state: str
    message: str
    group_key: str
    raised_at: datetime | None
    acked_by: str
    acked_at: datetime | None
    shelved_until: datetime | None
    shelve_reason: str
    cleared_at: datetime | None

    @property
    def rank(self) -> int:
        """The severity's rank (3 = critical)."""
        return severity_rank(self.severity)


@dataclass(frozen=True, slots=True)
class AlarmGroupRow:
    """Two or more visible alarms sharing a ``group_key``: one asset's, or one area's."""

    key: str
    alarm_ids: tuple[int, ...]  # sorted like the list
    severity: str  # the worst
    newest: datetime | None
    oldest: datetime | None
    asset_ids: frozenset[int]
    unacked: int

    @property
    def rank(self) -> int:
        """The worst severity's rank."""
        return severity_rank(self.severity)

    @property
    def is_area(self) -> bool:
        """True for an area group (several assets close together)."""
        return self.key.startswith("area/")


#: A top-level entry of the list: a group row or a lone alarm's id.
TopEntry = AlarmGroupRow | int


@dataclass(frozen=True, slots=True)
class AlarmCounts:
    """Numbers for the status bar and the dock title."""

    active: int  # raised + acknowledged
    unacknowledged: int
    shelved: int
    critical_unacknowledged: int
    by_severity: Mapping[str, int]  # active alarms per severity


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class AlarmListModel:
    """Alarms for the operator: grouped by ``group_key``, sorted by severity then age, filtered.

    ``changed`` announces a :class:`ModelChange` of alarm ids (``structure=True``
    when the visible entries, their grouping or their order changed).
    ``new_critical`` announces the ids of alarms that just became raised
    critical alarms (new, escalated, or raised again), batch by batch; a
    snapshot load never alerts. ``counts_changed`` carries :class:`AlarmCounts`.
    """

    def __init__(self, clock: Clock = utc_now, flash_s: float = 10.0) -> None:
        self.clock = clock
        self.flash_s = flash_s
        self.changed: Notifier[ModelChange] = Notifier()
        self.new_critical: Notifier[list[int]] = Notifier()
        self.counts_changed: Notifier[AlarmCounts] = Notifier()
        self.alarms: dict[int, dict[str, Any]] = {}
        self.asset_names: dict[int, str] = {}
        self._rows: dict[int, AlarmRow] = {}
        self._alarms_of_asset: dict[int, set[int]] = {}
        self._flash_until: dict[int, datetime] = {}
        self.state_filter: frozenset[str] | None = STATE_FILTERS["active"]
        self.min_severity = 0
        #: Newest first within a severity (a fresh alarm shows at the top of its band).
        self.newest_first = True
        #: Group keys the operator expanded (kept across resets by the view).
        self.expanded: set[str] = set()
        self._top: list[TopEntry] | None = None
        self._counts: AlarmCounts | None = None

    # -- feeding ------------------------------------------------------------------------

    def load(self, entities: Mapping[str, Mapping[str, Any] | None]) -> None:
        """Replace everything from a snapshot (``{topic: state}``); nothing alerts."""
        self.alarms.clear()
        self.asset_names.clear()
        self._rows.clear()
        self._alarms_of_asset.clear()
        self._flash_until.clear()
        for t, state in entities.items():
            self._apply_one(t, state, alert=None)
        self._invalidate()
        self.changed.emit(ModelChange(frozenset(self.alarms), structure=True))
        self._announce_counts()

    def apply(self, topic: str, state: Mapping[str, Any] | None) -> None:
        """One entity's new state (None: deleted); kinds other than alarm and asset are ignored."""
        self.apply_many([(topic, state)])

    def apply_many(self, items: Iterable[tuple[str, Mapping[str, Any] | None]]) -> None:
        """A batch of entity changes, announced as one change (and one alert at most)."""
        before = self.top_level()
        touched: set[int] = set()
        alerts: list[int] = []
        for t, state in items:
            touched |= self._apply_one(t, state, alert=alerts)
        if not touched:
            return
        self._invalidate()
        after = self.top_level()
        self.changed.emit(ModelChange(frozenset(touched), structure=before != after))
        self._announce_counts()
        if alerts:
            self.new_critical.emit(alerts)

    def _apply_one(
        self, t: str, state: Mapping[str, Any] | None, alert: list[int] | None
    ) -> set[int]:
        parsed = topic_id(t)
        if parsed is None:
            return set()
        kind, entity_id = parsed
        if kind == "asset":
            name = _text((state or {}).get("name")) or (
                f"{(state or {}).get('kind') or 'asset'} {entity_id}"
            )
            if state is None:
                self.asset_names.pop(entity_id, None)
            elif self.asset_names.get(entity_id) == name:
                return set()
            else:
                self.asset_names[entity_id] = name
            ids = set(self._alarms_of_asset.get(entity_id, ()))
            for i in ids:
                self._rows[i] = self._row(self.alarms[i])
            return ids
        if kind != "alarm":
            return set()
        old = self.alarms.pop(entity_id, None)
        if old is not None and old.get("asset_id") is not None:
            self._alarms_of_asset.get(int(old["asset_id"]), set()).discard(entity_id)
        if state is None:
            self._rows.pop(entity_id, None)
            self._flash_until.pop(entity_id, None)
            return {entity_id} if old is not None else set()
        alarm = dict(state)
        self.alarms[entity_id] = alarm
        if alarm.get("asset_id") is not None:
            self._alarms_of_asset.setdefault(int(alarm["asset_id"]), set()).add(entity_id)
        self._rows[entity_id] = self._row(alarm)
        fresh = old is None or not self._is_raised_critical(old)
        if alert is not None and fresh and self._is_raised_critical(alarm):
            alert.append(entity_id)
            self._flash_until[entity_id] = self.clock() + timedelta(seconds=self.flash_s)
        if alarm.get("state") != "raised":
            self._flash_until.pop(entity_id, None)  # acknowledged or shelved: seen
        return {entity_id}

    @staticmethod
    def _is_raised_critical(alarm: Mapping[str, Any]) -> bool:
        return alarm.get("state") == "raised" and alarm.get("severity") == "critical"

    def _row(self, a: Mapping[str, Any]) -> AlarmRow:
        asset_id = None if a.get("asset_id") is None else int(a["asset_id"])
        name = "" if asset_id is None else self.asset_names.get(asset_id, f"asset {asset_id}")
        alarm_id = int(a["id"])
        return AlarmRow(
            id=alarm_id,
            version=int(a.get("version") or 1),
            asset_id=asset_id,
            asset_name=name,
            metric=_text(a.get("metric")),
            rule=_text(a.get("rule")),
            severity=_text(a.get("severity")) or "info",
            state=_text(a.get("state")) or "raised",
            message=_text(a.get("message")),
            group_key=_text(a.get("group_key")) or f"alarm/{alarm_id}",
            raised_at=parse_time(a.get("raised_at")),
            acked_by=_text(a.get("acked_by")),
            acked_at=parse_time(a.get("acked_at")),
            shelved_until=parse_time(a.get("shelved_until")),
            shelve_reason=_text(a.get("shelve_reason")),
            cleared_at=parse_time(a.get("cleared_at")),
        )

    def _invalidate(self) -> None:
        self._top = None
        self._counts = None

    # -- filters ------------------------------------------------------------------------

    def set_state_filter(self, preset: str) -> None:
        """Show one preset of :data:`STATE_FILTERS` (``active``, ``unacknowledged``, ...)."""
        if preset not in STATE_FILTERS:
            raise ValueError(
                f"unknown state filter {preset!r}; expected one of {list(STATE_FILTERS)}"
            )
        self._refilter(lambda: setattr(self, "state_filter", STATE_FILTERS[preset]))

    def set_min_severity(self, severity: str) -> None:
        """Show alarms of this severity and worse."""
        if severity not in SEVERITY_ORDER:
            raise ValueError(f"unknown severity {severity!r}; expected one of {SEVERITY_ORDER}")
        self._refilter(lambda: setattr(self, "min_severity", severity_rank(severity)))

    def set_newest_first(self, newest_first: bool) -> None:
        """Within a severity: newest first (the default) or oldest first."""
        self._refilter(lambda: setattr(self, "newest_first", newest_first))

    def _refilter(self, change: Any) -> None:
        before = self.top_level()
        change()
        self._top = None
        if self.top_level() != before:
            self.changed.emit(ModelChange(frozenset(self.alarms), structure=True))

    def passes(self, row: AlarmRow) -> bool:
        """True when the alarm passes the state and severity filters."""
        if self.state_filter is not None and row.state not in self.state_filter:
            return False
        return row.rank >= self.min_severity

    # -- reading ------------------------------------------------------------------------

    def row(self, alarm_id: int) -> AlarmRow:
        """The list row of an alarm (KeyError when unknown)."""
        return self._rows[alarm_id]

    def find(self, alarm_id: int) -> AlarmRow | None:
        """The list row of an alarm, or None when this console does not know it."""
        return self._rows.get(alarm_id)

    def _order(self, rank: int, when: datetime | None, tie: Any) -> tuple[Any, ...]:
        t = when.timestamp() if when is not None else 0.0
        return (-rank, -t if self.newest_first else t, tie)

    def top_level(self) -> list[TopEntry]:
        """The list's top-level entries in order: groups (two or more alarms) and lone alarms."""
        if self._top is None:
            by_key: dict[str, list[AlarmRow]] = {}
            for r in self._rows.values():
                if self.passes(r):
                    by_key.setdefault(r.group_key, []).append(r)
            entries: list[tuple[tuple[Any, ...], TopEntry]] = []
            for key, rows in by_key.items():
                rows.sort(key=lambda r: self._order(r.rank, r.raised_at, r.id))
                if len(rows) == 1:
                    r = rows[0]
                    entries.append((self._order(r.rank, r.raised_at, r.id), r.id))
                    continue
                times = [r.raised_at for r in rows if r.raised_at is not None]
                group = AlarmGroupRow(
                    key=key,
                    alarm_ids=tuple(r.id for r in rows),
                    severity=rows[0].severity,
                    newest=max(times, default=None),
                    oldest=min(times, default=None),
                    asset_ids=frozenset(r.asset_id for r in rows if r.asset_id is not None),
                    unacked=sum(1 for r in rows if r.state == "raised"),
                )
                when = group.newest if self.newest_first else group.oldest
                entries.append((self._order(group.rank, when, rows[0].id), group))
            entries.sort(key=lambda e: e[0])
            self._top = [e for _, e in entries]
        return list(self._top)

    def visible_ids(self) -> list[int]:
        """Every visible alarm id, in list order (groups' members in place)."""
        out: list[int] = []
        for entry in self.top_level():
            out.extend(entry.alarm_ids if isinstance(entry, AlarmGroupRow) else (entry,))
        return out

    def group(self, key: str) -> AlarmGroupRow | None:
        """The visible group with this key (None when it has fewer than two visible alarms)."""
        for entry in self.top_level():
            if isinstance(entry, AlarmGroupRow) and entry.key == key:
                return entry
        return None

    def group_title(self, group: AlarmGroupRow) -> str:
        """One line for a group: whose alarms, and how many."""
        n = len(group.alarm_ids)
        if group.is_area:
            return f"Area: {n} alarms on {len(group.asset_ids)} assets"
        names = sorted({self._rows[i].asset_name for i in group.alarm_ids})
        return f"{', '.join(names) or group.key}: {n} alarms"

    def age_s(self, alarm_id: int) -> float | None:
        """Seconds since the alarm was raised (None: no raise time)."""
        raised = self._rows[alarm_id].raised_at
        return None if raised is None else (self.clock() - raised).total_seconds()

    def shelved_left_s(self, alarm_id: int) -> float | None:
        """Seconds until a shelved alarm comes back (None when not shelved or no end time)."""
        r = self._rows[alarm_id]
        if r.state != "shelved" or r.shelved_until is None:
            return None
        return (r.shelved_until - self.clock()).total_seconds()

    # -- counts and alerts --------------------------------------------------------------

    def counts(self) -> AlarmCounts:
        """Active, unacknowledged, shelved and per-severity counts over every alarm (no filter)."""
        if self._counts is None:
            by_severity = dict.fromkeys(SEVERITY_ORDER, 0)
            active = unacked = shelved = crit = 0
            for r in self._rows.values():
                if r.state in ("raised", "acknowledged"):
                    active += 1
                    by_severity[r.severity if r.severity in by_severity else "info"] += 1
                if r.state == "raised":
                    unacked += 1
                    crit += r.severity == "critical"
                elif r.state == "shelved":
                    shelved += 1
            self._counts = AlarmCounts(active, unacked, shelved, crit, by_severity)
        return self._counts

    def _announce_counts(self) -> None:
        self.counts_changed.emit(self.counts())

    def is_flashing(self, alarm_id: int) -> bool:
        """True while a new critical alarm's row should flash."""
        until = self._flash_until.get(alarm_id)
        return until is not None and self.clock() < until

    def flashing_ids(self) -> list[int]:
        """Alarms flashing now."""
        return [i for i in self._flash_until if self.is_flashing(i)]

    def tick(self) -> list[int]:
        """Forget finished flashes; returns the alarms that just stopped flashing."""
        now = self.clock()
        done = [i for i, until in self._flash_until.items() if now >= until]
        for i in done:
            del self._flash_until[i]
        return done
