"""Alarms from telemetry: the service's one detector, findings → ``alarms`` rows and asset status.

:class:`TelemetryMonitor` owns the service's :class:`~backend.telemetry.detect.Detector`
and :class:`~backend.telemetry.alarm_grouping.AlarmGrouper`. ``ingest_readings``
feeds it each batch inside the command's transaction, so what it finds is
written (and published) with the readings that caused it:

* a raised finding opens an alarm (``raised``), or updates the severity of the
  alarm already active for the same asset, metric and rule (one alarm per
  condition, however long it lasts); an escalation of an acknowledged alarm
  raises it again, so someone looks at the worse news;
* a clearing finding clears that alarm, whatever its state (acknowledged or
  shelved: the condition is over);
* the asset's status follows its worst active alarm: ``alarm`` for major and
  critical, ``warning`` for minor, back to ``ok`` when none is left. An asset
  that is ``out_of_service`` or ``under_repair`` keeps that status: people set
  it, detection does not overrule them.

:func:`telemetry_tick` runs on the server's timer (about once a reading
period) through the same transactional path: missing-data findings from
:meth:`Detector.check_missing`, and shelved alarms whose ``shelved_until`` has
passed go back to ``raised`` (an alarm still shelved is still active: a
cleared one is no longer shelved).

The detector's state lives in memory and moves before the transaction
commits. If the transaction rolls back (the database went away, a rule broke)
the monitor resets its detector, so no finding is ever believed raised while
the database never heard of it. Whenever the detector starts afresh (the
service started, or after such a reset) the monitor seeds it, on first use,
from the alarms still active in the database
(:meth:`Detector.restore_active`): an alarm whose condition ended while
nobody watched is cleared by the next healthy readings, and a condition still
present is matched to its alarm instead of raised again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backend.db.columnar import ReadingBatch
from backend.db.models import Alarm, Asset
from backend.protocol.topics import topic
from backend.service.context import CommandContext
from backend.service.entities import wire_time
from backend.telemetry.alarm_grouping import AlarmGrouper
from backend.telemetry.catalog import metrics_for
from backend.telemetry.detect import Detector
from backend.telemetry.findings import Finding, Rule, Severity
from backend.telemetry.rules import DetectorConfig, metric_code

log = logging.getLogger(__name__)

#: ``Session.info`` key under which the processor hands its monitor to handlers.
MONITOR_KEY = "telemetry_monitor"
#: Alarm states that mean "the condition is (believed) still there".
ACTIVE = ("raised", "acknowledged", "shelved")
#: Statuses people set; detection never overrides them.
MANUAL_STATUSES = frozenset({"out_of_service", "under_repair"})
_RANK = {s.value: s.rank for s in Severity}


def monitor_of(session: Session) -> TelemetryMonitor | None:
    """The monitor the processor attached to this session, or None (detection off)."""
    monitor = session.info.get(MONITOR_KEY)
    return monitor if isinstance(monitor, TelemetryMonitor) else None


def status_for(severities: Iterable[str]) -> str:
    """The asset status its active alarms' severities call for."""
    worst = max((_RANK.get(s, 0) for s in severities), default=-1)
    if worst >= Severity.MAJOR.rank:
        return "alarm"
    if worst >= 0:
        return "warning"
    return "ok"


class TelemetryMonitor:
    """Detection state for every monitored asset, and the writer of its alarms.

    Not thread-safe: the service applies commands one at a time on one thread.
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.kinds: dict[int, str] = {}
        self._known: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)  # kinds' ids, sorted
        self.locations: dict[int, tuple[float, float]] = {}
        self.resets = 0
        self.restored = 0  # conditions seeded from active alarms, over the monitor's life
        self._loaded = False
        self._seeded = False
        self.detector = Detector(self.config)
        self.grouper = AlarmGrouper(self.locations)

    # -- assets ------------------------------------------------------------------------------

    def _add(self, rows: Iterable[Any]) -> None:
        new_ids: list[int] = []
        new_kinds: list[str] = []
        for asset_id, kind, lon, lat in rows:
            if asset_id in self.kinds:
                continue
            self.kinds[asset_id] = kind
            if lon is not None and lat is not None:
                self.locations[asset_id] = (float(lon), float(lat))
            if metrics_for(kind):
                new_ids.append(asset_id)
                new_kinds.append(kind)
        # No ``now``: a sensor counts as missing only after it has reported once,
        # so a city of assets without sensors does not turn into missing-data alarms.
        self.detector.register_assets(new_ids, new_kinds)
        if len(self.kinds) != len(self._known):
            self._known = np.sort(np.fromiter(self.kinds, dtype=np.int64, count=len(self.kinds)))

    def ensure_loaded(self, session: Session) -> None:
        """Register every asset once, and seed the detector from active alarms when it is fresh."""
        if not self._loaded:
            self._add(session.execute(select(Asset.id, Asset.kind, Asset.lon, Asset.lat)))
            self._loaded = True
        if not self._seeded:
            self.restore_active(session)
            self._seeded = True

    def restore_active(self, session: Session) -> int:
        """Seed detector and grouper with the alarms active in the database; returns how many.

        Only alarms the detector could have raised count (a known rule, an
        asset and a metric); others (imported, hand-made) are left to people.
        """
        rules = {r.value for r in Rule}
        conditions: list[tuple[str | None, Finding]] = []
        for alarm in session.scalars(
            select(Alarm)
            .where(
                Alarm.state.in_(ACTIVE),
                Alarm.asset_id.is_not(None),
                Alarm.metric.is_not(None),
                Alarm.rule.in_(rules),
            )
            .order_by(Alarm.id)
        ):
            if alarm.asset_id is None or alarm.metric is None or alarm.severity not in _RANK:
                continue
            finding = Finding(
                asset_id=alarm.asset_id,
                metric=alarm.metric,
                rule=Rule(alarm.rule),
                severity=Severity(alarm.severity),
                message=alarm.message,
                ts=alarm.raised_at,
                value=None,
            )
            conditions.append((alarm.group_key, finding))
        seeded = self.detector.restore_active(f for _, f in conditions)
        for key, finding in conditions:
            self.grouper.restore(key or f"asset/{finding.asset_id}", finding)
        self.restored += seeded
        if conditions:
            log.info("telemetry monitor: %d active alarms seeded into the detector", seeded)
        return seeded

    def unknown_assets(self, session: Session, ids: npt.NDArray[np.int64]) -> list[int]:
        """Which of ``ids`` (distinct) are not assets; new ones are registered on the way.

        One array lookup per batch: this runs for every telemetry batch.
        """
        self.ensure_loaded(session)
        unseen = ids[~np.isin(ids, self._known, assume_unique=True)].tolist()
        if not unseen:
            return []
        self._add(
            session.execute(
                select(Asset.id, Asset.kind, Asset.lon, Asset.lat).where(Asset.id.in_(unseen))
            )
        )
        return [i for i in unseen if i not in self.kinds]

    def reset(self) -> None:
        """Forget detection state (after a rollback); assets stay registered."""
        self.resets += 1
        log.warning("telemetry monitor reset after a rolled-back transaction")
        self.detector = Detector(self.config)
        self.grouper = AlarmGrouper(self.locations)
        ids = [a for a, k in self.kinds.items() if metrics_for(k)]
        self.detector.register_assets(ids, [self.kinds[a] for a in ids])
        # The session that rolled back cannot be read now: seed on the next use.
        self._seeded = False

    def _guard(self, session: Session) -> None:
        """Reset the detector if this session's transaction rolls back instead of committing."""
        if session.info.get("telemetry_guarded"):
            return
        session.info["telemetry_guarded"] = True
        outcome = {"committed": False}

        def committed(_session: Session) -> None:
            outcome["committed"] = True

        def rolled_back(_session: Session) -> None:
            if not outcome["committed"]:
                self.reset()

        event.listen(session, "after_commit", committed)
        event.listen(session, "after_rollback", rolled_back)

    # -- findings ----------------------------------------------------------------------------

    def observe(self, ctx: CommandContext, batch: ReadingBatch) -> int:
        """Check a batch of readings; write what changed. Returns the alarms changed."""
        self.ensure_loaded(ctx.session)
        self._guard(ctx.session)
        codes = np.array([metric_code(m) for m in batch.metrics], dtype=np.int64)
        findings = self.detector.observe_batch(
            batch.asset_id, codes[batch.metric], batch.ts / 1e6, batch.value
        )
        return self.apply(ctx, findings) if findings else 0

    def check_missing(self, ctx: CommandContext) -> int:
        """Raise missing-data alarms for sensors silent too long; returns alarms changed."""
        self.ensure_loaded(ctx.session)
        self._guard(ctx.session)
        findings = self.detector.check_missing(ctx.now)
        return self.apply(ctx, findings) if findings else 0

    def apply(self, ctx: CommandContext, findings: list[Finding]) -> int:
        """Turn findings into alarm rows, events and asset statuses; returns alarms changed."""
        s = ctx.session
        touched: set[int] = set()
        changed = 0
        for f in findings:
            assignment = self.grouper.assign(f)
            if assignment.merged:
                changed += self._regroup(ctx, assignment.merged, assignment.key)
            alarm = s.scalars(
                select(Alarm)
                .where(
                    Alarm.asset_id == f.asset_id,
                    Alarm.metric == f.metric,
                    Alarm.rule == f.rule.value,
                    Alarm.state.in_(ACTIVE),
                )
                .order_by(Alarm.id.desc())
                .limit(1)
            ).first()
            if f.active:
                if alarm is None:
                    alarm = Alarm(
                        asset_id=f.asset_id,
                        metric=f.metric,
                        rule=f.rule.value,
                        severity=f.severity.value,
                        state="raised",
                        message=f.message,
                        group_key=assignment.key,
                        raised_at=f.ts,
                        version=1,
                    )
                    s.add(alarm)
                    s.flush()
                    ctx.emit_entity("alarm.raised", topic("alarm", alarm.id), alarm)
                elif alarm.severity != f.severity.value:
                    escalated = _RANK[f.severity.value] > _RANK.get(alarm.severity, 0)
                    alarm.severity = f.severity.value
                    alarm.message = f.message
                    if escalated and alarm.state == "acknowledged":
                        alarm.state = "raised"
                    alarm.version += 1
                    ctx.emit_entity("alarm.severity", topic("alarm", alarm.id), alarm)
                else:
                    continue
            else:
                if alarm is None:
                    continue
                alarm.state = "cleared"
                alarm.cleared_at = f.ts
                alarm.shelved_until = None
                alarm.version += 1
                ctx.emit_entity("alarm.cleared", topic("alarm", alarm.id), alarm)
            changed += 1
            touched.add(f.asset_id)
        if touched:
            update_asset_status(ctx, touched)
        return changed

    def _regroup(self, ctx: CommandContext, merged: tuple[str, ...], key: str) -> int:
        """Active alarms of asset groups that folded into an area group follow it."""
        moved = 0
        for alarm in ctx.session.scalars(
            select(Alarm).where(Alarm.group_key.in_(merged), Alarm.state.in_(ACTIVE))
        ):
            alarm.group_key = key
            alarm.version += 1
            ctx.emit_entity("alarm.grouped", topic("alarm", alarm.id), alarm)
            moved += 1
        return moved


def update_asset_status(ctx: CommandContext, asset_ids: set[int]) -> int:
    """Set each asset's status from its active alarms (sparing manual statuses); returns moves."""
    s = ctx.session
    active: dict[int, list[str]] = {a: [] for a in asset_ids}
    for asset_id, severity in s.execute(
        select(Alarm.asset_id, Alarm.severity).where(
            Alarm.asset_id.in_(asset_ids), Alarm.state.in_(ACTIVE)
        )
    ):
        if asset_id is not None:
            active[asset_id].append(severity)
    moved = 0
    for asset in s.scalars(select(Asset).where(Asset.id.in_(asset_ids)).order_by(Asset.id)):
        if asset.status in MANUAL_STATUSES:
            continue
        status = status_for(active[asset.id])
        if status == asset.status:
            continue
        asset.status = status
        asset.version += 1
        asset.updated_at = ctx.now
        patch = {"status": status, "version": asset.version, "updated_at": wire_time(ctx.now)}
        ctx.emit("asset.status", topic("asset", asset.id), {"patch": patch})
        moved += 1
    return moved


def unshelve_expired(ctx: CommandContext) -> int:
    """Shelved alarms past ``shelved_until`` return to ``raised``; returns how many."""
    s = ctx.session
    expired = list(
        s.scalars(
            select(Alarm)
            .where(Alarm.state == "shelved", Alarm.shelved_until <= ctx.now)
            .order_by(Alarm.id)
        )
    )
    for alarm in expired:
        alarm.state = "raised"
        alarm.shelved_until = None
        alarm.version += 1
        ctx.emit_entity("alarm.unshelved", topic("alarm", alarm.id), alarm)
    if expired:
        update_asset_status(ctx, {a.asset_id for a in expired if a.asset_id is not None})
    return len(expired)


def telemetry_tick(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """The server's periodic pass: missing-data alarms and shelves that ran out."""
    monitor = monitor_of(ctx.session)
    missing = monitor.check_missing(ctx) if monitor is not None else 0
    return {"missing": missing, "unshelved": unshelve_expired(ctx)}
