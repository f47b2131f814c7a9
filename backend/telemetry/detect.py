"""Condition monitoring: per-metric rules and a drift detector over batches of readings.

:class:`Detector` keeps a few numbers per (asset, metric) "slot" in numpy
columns and checks a whole batch with array operations. A batch is sorted by
(slot, time) and processed in rounds: round r takes the r-th reading of every
slot, so each slot's state still advances in time order while one reading
per slot per round is vectorised across all assets (a live batch with one
reading per slot is a single round).

Rules (see :class:`~backend.telemetry.rules.DetectorConfig` for the numbers):

- limits: warning / alarm / critical bands with hysteresis;
- rate: a jump of more than ``rate_k`` spreads between consecutive readings,
  cleared when the signal returns (a spike) or settles at a new level (a step);
- fault codes: a discrete code that is non-zero;
- stuck: ``stuck_n`` identical readings on a metric that normally varies;
- missing: no reading for ``missing_periods`` periods, from :meth:`Detector.check_missing`;
- drift: an EWMA of the clipped residual against a robust baseline (median and
  MAD of a warm-up window), the baseline following slowly so daily cycles are
  not alarms, and frozen while the residual is large so a fault is not learned.

Every rule reports only state changes, as :class:`~backend.telemetry.findings.Finding`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.telemetry.catalog import CATALOG
from backend.telemetry.findings import Finding, Rule, Severity, fmt
from backend.telemetry.rules import METRIC_NAMES, DetectorConfig, ProfileTable, metric_code
from backend.telemetry.state import BoolArray, FloatArray, IntArray, SlotColumns

_LEVEL_SEVERITY = {1: Severity.MINOR, 2: Severity.MAJOR, 3: Severity.CRITICAL}


def _epoch_one(x: Any) -> float:
    if isinstance(x, datetime):
        if x.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return x.timestamp()
    return float(x)


def to_epoch(ts: Any) -> FloatArray:
    """Timestamps (aware datetimes, datetime64 or epoch seconds) as float epoch seconds."""
    if isinstance(ts, np.ndarray) and ts.dtype != object:
        if np.issubdtype(ts.dtype, np.datetime64):
            return ts.astype("datetime64[us]").astype(np.int64) / 1e6
        return ts.astype(np.float64)
    return np.array([_epoch_one(x) for x in ts], dtype=np.float64)


def _when(t: float) -> datetime:
    return datetime.fromtimestamp(float(t), UTC)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Detector(SlotColumns):
    """Condition monitoring for many assets: register them, then feed reading batches.

    State is a few numbers per (asset, metric) plus a warm-up window of
    ``config.warmup`` values; readings for unregistered assets or metrics their
    kind does not report are counted in ``stats["unknown"]`` and skipped, and
    readings no newer than the slot's last one in ``stats["stale"]``. Not
    thread-safe: feed it from the one thread that ingests readings.
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.profiles = ProfileTable(CATALOG, self.config.critical_margin)
        self.stats: dict[str, int] = {"observed": 0, "unknown": 0, "stale": 0, "findings": 0}
        self._kind_of: dict[int, str] = {}
        self._slot_rows: list[npt.NDArray[np.int64]] = []  # per asset index: slot per code
        self._sorted_ids: IntArray = np.empty(0, dtype=np.int64)
        self._sorted_aidx: IntArray = np.empty(0, dtype=np.int64)
        self._slot_table: IntArray = np.empty((0, len(METRIC_NAMES)), dtype=np.int64)
        self._n = 0
        super().__init__(self.config.warmup)

    # ----------------------------------------------------------------- set-up

    def register_assets(
        self, asset_ids: Iterable[int], kinds: Iterable[str], now: datetime | None = None
    ) -> int:
        """Start monitoring assets of the given kinds; returns how many were new.

        With ``now``, readings are expected from then on (a sensor that never
        reports becomes missing data); without it, only after a first reading.
        Registering an asset again with the same kind does nothing; with a
        different kind it is an error, since its state would mean something else.
        """
        since = math.nan if now is None else _epoch_one(now)
        added = 0
        for raw_id, kind in zip(asset_ids, kinds, strict=True):
            aid = int(raw_id)
            known = self._kind_of.get(aid)
            if known is not None:
                if known != kind:
                    raise ValueError(f"asset {aid} is registered as {known!r}, not {kind!r}")
                continue
            self._kind_of[aid] = kind
            row = np.full(len(METRIC_NAMES), -1, dtype=np.int64)
            profs = self.profiles.for_kind(kind)
            if self._n + len(profs) > self._cap:
                self._grow(self._n + len(profs))
            for p in profs:
                slot = self._n
                self._n += 1
                row[self.profiles.code[p]] = slot
                self.prof[slot] = p
                self.asset[slot] = aid
                self.heard_ts[slot] = since
            for p in profs:
                gate = int(self.profiles.gate_code[p])
                if gate >= 0 and row[gate] >= 0:
                    slot = int(row[self.profiles.code[p]])
                    self.gate_slot[slot] = row[gate]
                    self.is_gate[row[gate]] = True
            self._slot_rows.append(row)
            added += 1
        if added:
            ids = np.fromiter(self._kind_of.keys(), dtype=np.int64, count=len(self._kind_of))
            order = np.argsort(ids, kind="stable")
            self._sorted_ids = ids[order]
            self._sorted_aidx = order.astype(np.int64)  # dict order == registration order
            self._slot_table = np.vstack(self._slot_rows)
        return added

    @property
    def slots(self) -> int:
        """How many (asset, metric) pairs are monitored."""
        return self._n

    # --------------------------------------------------------------- readings

    def observe(
        self, asset_id: int, metric: str, ts: datetime | float, value: float
    ) -> list[Finding]:
        """Check one reading (a convenience over :meth:`observe_batch`)."""
        return self.observe_batch([asset_id], [metric], [ts], [value])

    def observe_batch(
        self,
        asset_ids: Sequence[int] | npt.NDArray[np.integer[Any]],
        metrics: Sequence[str] | npt.NDArray[Any],
        ts: Sequence[datetime | float] | npt.NDArray[Any],
        values: Sequence[float] | npt.NDArray[np.floating[Any]],
    ) -> list[Finding]:
        """Check a batch of readings; return the findings (state changes) in time order.

        ``metrics`` holds names, or integer codes from
        :func:`~backend.telemetry.rules.metric_code` (the fast path). ``ts`` is
        aware datetimes, datetime64 or epoch seconds. Rows may come in any order.
        """
        ids = np.asarray(asset_ids, dtype=np.int64)
        codes = self._codes(metrics)
        t = to_epoch(ts)
        v = np.asarray(values, dtype=np.float64)
        if not (len(ids) == len(codes) == len(t) == len(v)):
            raise ValueError("asset_ids, metrics, ts and values must have the same length")
        if len(ids) == 0:
            return []
        slot = self._slots_of(ids, codes)
        ok = (slot >= 0) & np.isfinite(v) & np.isfinite(t)
        self.stats["unknown"] += int(len(ok) - np.count_nonzero(ok))
        slot, t, v = slot[ok], t[ok], v[ok]
        order = np.lexsort((t, slot))
        slot, t, v = slot[order], t[order], v[order]
        # Stale: not newer than the slot's last reading (a resend, or arrived late).
        first = np.empty(len(slot), dtype=bool)
        first[:1] = True
        np.not_equal(slot[1:], slot[:-1], out=first[1:])
        prev_t = np.empty_like(t)
        prev_t[1:] = t[:-1]
        prev_t[first] = math.nan
        fresh = ~(t <= np.fmax(prev_t, self.last_ts[slot]))
        if not fresh.all():
            self.stats["stale"] += int(len(fresh) - np.count_nonzero(fresh))
            slot, t, v = slot[fresh], t[fresh], v[fresh]
            first = np.empty(len(slot), dtype=bool)
            first[:1] = True
            np.not_equal(slot[1:], slot[:-1], out=first[1:])
        self.stats["observed"] += len(slot)
        if len(slot) == 0:
            return []
        on = self._gates(slot, t, v)
        group = np.cumsum(first) - 1
        rank = np.arange(len(slot)) - np.flatnonzero(first)[group]
        found: list[Finding] = []
        if not rank.any():
            self._round(slot, t, v, on, found)
        else:
            by_rank = np.argsort(rank, kind="stable")
            bounds = np.cumsum(np.bincount(rank))[:-1]
            for idx in np.split(by_rank, bounds):
                self._round(slot[idx], t[idx], v[idx], on[idx], found)
        found.sort(key=lambda f: (f.ts, f.asset_id, f.metric))
        self.stats["findings"] += len(found)
        return found

    def check_missing(self, now: datetime | float) -> list[Finding]:
        """Raise missing-data findings for metrics silent longer than ``missing_periods``.

        Absence produces no reading, so the caller runs this on a timer (once a
        reading period is enough); a reading that arrives clears the finding.
        """
        t = _epoch_one(now)
        n = self._n
        limit = self.config.missing_periods * self.config.period_s
        late = ~self.missing[:n] & ((t - self.heard_ts[:n]) > limit)
        found: list[Finding] = []
        for s in np.flatnonzero(late):
            gap = t - self.heard_ts[s]
            msg = (
                f"no {self._name(s)} reading for {_duration(gap)} "
                f"(expected every {_duration(self.config.period_s)})"
            )
            found.append(self._finding(s, Rule.MISSING, Severity.MINOR, msg, t, None))
        self.missing[:n] |= late
        self.stats["findings"] += len(found)
        return found

    def restore_active(self, conditions: Iterable[Finding]) -> int:
        """Seed the state of conditions known to be active; returns how many were seeded.

        After a restart the detector knows nothing, while the alarms it raised
        are still active in the database: without this, a condition that ended
        meanwhile is never cleared. Each raised finding (say, rebuilt from an
        active alarm) marks its rule active at its severity, so the next
        healthy readings clear it as usual (hysteresis included) and a
        persisting fault finds nothing new to report. The limit side and drift
        direction come from the finding's text (this detector's own wording:
        "below", "drifting down"). A fault code's value and a drift's baseline
        are not known: the next reading decides the code, and drift clears once
        a fresh baseline has been learned. Unknown assets or metrics, and
        clearing findings, are skipped.
        """
        seeded = 0
        for c in conditions:
            if not c.active:
                continue
            slot = int(self._slots_of(np.array([c.asset_id]), np.array([metric_code(c.metric)]))[0])
            if slot < 0:
                continue
            down = " below " in c.message or "drifting down" in c.message
            if c.rule is Rule.LIMIT:
                if not self.profiles.has_limits[self.prof[slot]]:
                    continue
                level = max(c.severity.rank, 1)
                self.level[slot] = -level if down else level
                self.level_calm[slot] = 0
            elif c.rule is Rule.RATE:
                self.rate_on[slot] = True
                self.rate_calm[slot] = 0
            elif c.rule is Rule.FAULT_CODE:
                self.code[slot] = math.nan  # non-zero, value unknown
            elif c.rule is Rule.STUCK:
                self.stuck_on[slot] = True
            elif c.rule is Rule.MISSING:
                self.missing[slot] = True
            elif c.rule is Rule.DRIFT:
                self.drift_on[slot] = -1 if down else 1
            else:  # pragma: no cover - every Rule is handled above
                continue
            seeded += 1
        return seeded

    def drift_score(self, asset_id: int, metric: str) -> float:
        """The current smoothed residual in baseline scales (NaN while warming up or unknown)."""
        slot = int(self._slots_of(np.array([asset_id]), np.array([metric_code(metric)]))[0])
        if slot < 0 or self.warm_n[slot] < self.config.warmup:
            return math.nan
        return float(self.z[slot])

    # -------------------------------------------------------------- internals

    def _codes(self, metrics: Any) -> IntArray:
        if isinstance(metrics, np.ndarray) and metrics.dtype.kind in "iu":
            codes = metrics.astype(np.int64)
            codes[(codes < 0) | (codes >= len(METRIC_NAMES))] = -1
            return codes
        return np.array([metric_code(str(m)) for m in metrics], dtype=np.int64)

    def _slots_of(self, ids: IntArray, codes: IntArray) -> IntArray:
        if len(self._sorted_ids) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted_ids, ids), len(self._sorted_ids) - 1)
        known = (self._sorted_ids[pos] == ids) & (codes >= 0)
        aidx = self._sorted_aidx[pos]
        slot = self._slot_table[aidx, np.maximum(codes, 0)]
        return np.where(known, slot, -1)

    def _gates(self, slot: IntArray, t: FloatArray, v: FloatArray) -> BoolArray:
        """Whether each row's rules apply: its gate metric's latest value at that time is on."""
        gate = self.gate_slot[slot]
        gated = gate >= 0
        on = np.ones(len(slot), dtype=bool)
        if not gated.any():
            return on
        q = np.flatnonzero(gated)
        # As-of join on (slot, time): rows are sorted by both, so one combined key
        # sorts the same way and searchsorted finds each gated row's latest gate row.
        t0 = float(t.min())
        span = float(t.max()) - t0 + 1.0
        key = slot * span + (t - t0)
        g = np.flatnonzero(self.is_gate[slot])
        fallback = self.last_v[gate[q]]
        if len(g):
            pos = np.searchsorted(key[g], gate[q] * span + (t[q] - t0), side="right") - 1
            hit = (pos >= 0) & (slot[g][np.maximum(pos, 0)] == gate[q])
            value = np.where(hit, v[g][np.maximum(pos, 0)], fallback)
        else:
            value = fallback
        on[q] = np.nan_to_num(value, nan=0.0) != 0.0
        return on

    def _name(self, slot: int | np.integer[Any]) -> str:
        return self.profiles.metrics[int(self.prof[slot])].name

    def _unit(self, slot: int | np.integer[Any]) -> str:
        return self.profiles.metrics[int(self.prof[slot])].unit

    def _finding(
        self,
        slot: int | np.integer[Any],
        rule: Rule,
        severity: Severity,
        message: str,
        t: float,
        value: float | None,
        active: bool = True,
    ) -> Finding:
        return Finding(
            asset_id=int(self.asset[slot]),
            metric=self._name(slot),
            rule=rule,
            severity=severity if active else Severity.INFO,
            message=message,
            ts=_when(t),
            value=None if value is None else float(value),
            active=active,
        )

    def _round(
        self, s: IntArray, t: FloatArray, v: FloatArray, on: BoolArray, out: list[Finding]
    ) -> None:
        """Advance every slot in ``s`` (each at most once) by one reading."""
        back = self.missing[s]
        if back.any():
            for i in np.flatnonzero(back):
                u = self._unit(s[i])
                msg = f"{self._name(s[i])} readings again ({fmt(v[i], u)})"
                out.append(
                    self._finding(s[i], Rule.MISSING, Severity.MINOR, msg, t[i], v[i], False)
                )
            self.missing[s[back]] = False
        self.last_ts[s] = t
        self.heard_ts[s] = np.fmax(self.heard_ts[s], t)
        if not on.all():
            # Gated off: no rules, and the next gated-on reading starts afresh.
            off = s[~on]
            self.last_v[off] = math.nan
            self.stuck_run[off] = 0
            s, t, v = s[on], t[on], v[on]
        prof = self.prof[s]
        prev = self.last_v[s]
        P = self.profiles
        for mask, check in (
            (P.fault_code[prof], self._fault_codes),
            (P.has_limits[prof], self._limits),
            (P.continuous[prof], self._rate),
            (P.continuous[prof], self._stuck),
            (P.continuous[prof], self._drift),
        ):
            if mask.all():
                check(s, t, v, prev, out)
            elif mask.any():
                check(s[mask], t[mask], v[mask], prev[mask], out)
        self.last_v[s] = v

    def _fault_codes(
        self, s: IntArray, t: FloatArray, v: FloatArray, prev: FloatArray, out: list[Finding]
    ) -> None:
        old = self.code[s]
        changed = v != old
        for i in np.flatnonzero(changed):
            name = self._name(s[i])
            if v[i] != 0:
                # NaN: a restored fault whose code is unknown, nothing to compare.
                was = old[i] != 0 and not math.isnan(old[i])
                msg = f"{name} {v[i]:g}" + (f" (was {old[i]:g})" if was else "")
                out.append(self._finding(s[i], Rule.FAULT_CODE, Severity.MAJOR, msg, t[i], v[i]))
            else:
                msg = f"{name} cleared" + ("" if math.isnan(old[i]) else f" (was {old[i]:g})")
                out.append(
                    self._finding(s[i], Rule.FAULT_CODE, Severity.INFO, msg, t[i], v[i], False)
                )
        self.code[s] = v

    def _limits(
        self, s: IntArray, t: FloatArray, v: FloatArray, prev: FloatArray, out: list[Finding]
    ) -> None:
        P = self.profiles
        p = self.prof[s]
        hyst = self.config.limit_hysteresis * P.spread[p]
        wh, hh, ch = P.warn_high[p], P.high[p], P.crit_high[p]
        wl, ll, cl = P.warn_low[p], P.low[p], P.crit_low[p]

        def high(x: FloatArray) -> IntArray:
            return np.where(x > ch, 3, np.where(x > hh, 2, np.where(x > wh, 1, 0)))

        def low(x: FloatArray) -> IntArray:
            return np.where(x < cl, 3, np.where(x < ll, 2, np.where(x < wl, 1, 0)))

        # A level rises on the first reading beyond its threshold; it falls only
        # after clear_after readings in a row beyond the threshold by hyst, so a
        # noisy signal near a limit is one finding, not one per crossing.
        cur = self.level[s].astype(np.int64)
        up_h, up_l = high(v), low(v)
        hold_h, hold_l = high(v + hyst), low(v - hyst)
        rise_h = up_h > np.maximum(cur, 0)
        rise_l = up_l > np.maximum(-cur, 0)
        hold = np.where(cur > 0, hold_h >= cur, np.where(cur < 0, hold_l >= -cur, True))
        calm = np.where(rise_h | rise_l | hold, 0, self.level_calm[s] + 1)
        due = calm >= self.config.clear_after
        lower = np.where(cur > 0, hold_h, -hold_l)
        new = np.where(rise_h, up_h, np.where(rise_l, -up_l, np.where(due, lower, cur)))
        self.level_calm[s] = np.where(due, 0, calm)
        changed = np.flatnonzero(new != cur)
        self.level[s] = new
        for i in changed:
            out.append(self._limit_finding(int(s[i]), int(new[i]), float(t[i]), float(v[i])))

    def _limit_finding(self, slot: int, level: int, t: float, v: float) -> Finding:
        m = self.profiles.metrics[int(self.prof[slot])]
        u = m.unit
        head = f"{m.name} {fmt(v, u)}"
        if level == 0:
            return self._finding(
                slot, Rule.LIMIT, Severity.INFO, f"{head} back within limits", t, v, False
            )
        p = int(self.prof[slot])
        P = self.profiles
        if level > 0:
            side, warn, alarm, crit = "above", P.warn_high[p], P.high[p], P.crit_high[p]
        else:
            side, warn, alarm, crit = "below", P.warn_low[p], P.low[p], P.crit_low[p]
        word = "far " if abs(level) == 3 else ""
        if abs(level) == 1:
            text = f"{head} {side} the warning level {fmt(warn, u)}"
        else:
            text = f"{head} {word}{side} the alarm limit {fmt(alarm, u)}"
            if abs(level) == 3:
                text += f" (critical {side} {fmt(crit, u)})"
        return self._finding(slot, Rule.LIMIT, _LEVEL_SEVERITY[abs(level)], text, t, v)

    def _rate(
        self, s: IntArray, t: FloatArray, v: FloatArray, prev: FloatArray, out: list[Finding]
    ) -> None:
        cfg = self.config
        spread = self.profiles.spread[self.prof[s]]
        d = v - prev
        active = self.rate_on[s]
        jump = np.abs(d) > cfg.rate_k * spread
        start = ~active & jump
        calm = np.where(np.abs(d) <= cfg.rate_clear_k * spread, self.rate_calm[s] + 1, 0)
        returned = np.abs(v - self.rate_ref[s]) <= cfg.rate_clear_k * spread
        settled = calm >= cfg.rate_settle
        end = active & (returned | settled)
        self.rate_calm[s] = np.where(active & ~end, calm, 0)
        self.rate_on[s] = (active & ~end) | start
        if start.any():
            self.rate_ref[s[start]] = prev[start]
        for i in np.flatnonzero(start):
            u = self._unit(s[i])
            msg = (
                f"{self._name(s[i])} jumped {'up' if d[i] > 0 else 'down'} from "
                f"{fmt(prev[i], u)} to {fmt(v[i], u)} in one reading "
                f"({abs(d[i]) / spread[i]:.0f} spreads)"
            )
            out.append(self._finding(s[i], Rule.RATE, Severity.MINOR, msg, t[i], v[i]))
        for i in np.flatnonzero(end):
            u = self._unit(s[i])
            how = "back to" if returned[i] else "steady at"
            msg = f"{self._name(s[i])} {how} {fmt(v[i], u)} after a jump"
            out.append(self._finding(s[i], Rule.RATE, Severity.INFO, msg, t[i], v[i], False))

    def _stuck(
        self, s: IntArray, t: FloatArray, v: FloatArray, prev: FloatArray, out: list[Finding]
    ) -> None:
        same = v == prev
        run = np.where(same, self.stuck_run[s] + 1, 1)
        self.stuck_run[s] = run
        active = self.stuck_on[s]
        start = ~active & (run >= self.config.stuck_n)
        # No previous value (restored state, or gated back on): it neither confirms nor ends it.
        end = active & ~same & ~np.isnan(prev)
        self.stuck_on[s] = (active & ~end) | start
        for i in np.flatnonzero(start):
            u = self._unit(s[i])
            msg = f"{self._name(s[i])} stuck at {fmt(v[i], u)} for {run[i]} readings"
            out.append(self._finding(s[i], Rule.STUCK, Severity.MINOR, msg, t[i], v[i]))
        for i in np.flatnonzero(end):
            u = self._unit(s[i])
            msg = f"{self._name(s[i])} changing again ({fmt(v[i], u)})"
            out.append(self._finding(s[i], Rule.STUCK, Severity.INFO, msg, t[i], v[i], False))

    def _drift(
        self, s: IntArray, t: FloatArray, v: FloatArray, prev: FloatArray, out: list[Finding]
    ) -> None:
        cfg = self.config
        n = self.warm_n[s]
        warming = n < cfg.warmup
        if warming.any():
            sw = s[warming]
            self.warm_buf[sw, n[warming]] = v[warming]
            self.warm_n[sw] += 1
            done = sw[self.warm_n[sw] == cfg.warmup]
            if len(done):
                buf = self.warm_buf[done]
                med = np.median(buf, axis=1)
                mad = np.median(np.abs(buf - med[:, None]), axis=1)
                spread = self.profiles.spread[self.prof[done]]
                # Never tighter than the catalog's noise: a lucky quiet warm-up
                # must not turn ordinary noise into drift alarms later.
                self.base[done] = med
                self.scale[done] = np.maximum(1.4826 * mad, spread)
                self.z[done] = 0.0
            ready = ~warming
            s, t, v = s[ready], t[ready], v[ready]
            if len(s) == 0:
                return
        base, scale = self.base[s], self.scale[s]
        clip = cfg.drift_clip
        resid = np.clip((v - base) / scale, -clip, clip)
        z = (1.0 - cfg.ewma_lambda) * self.z[s] + cfg.ewma_lambda * resid
        state = self.drift_on[s]
        az = np.abs(z)
        start = (state == 0) & (az > cfg.drift_threshold)
        end = (state != 0) & (az < cfg.drift_clear)
        new = np.where(start, np.sign(z), np.where(end, 0, state)).astype(np.int8)
        # Follow slow cycles, but learn nothing while the residual is large.
        adapt = (new == 0) & (az < 0.5 * cfg.drift_threshold)
        self.base[s] = np.where(adapt, base + cfg.baseline_alpha * resid * scale, base)
        self.z[s] = z
        self.drift_on[s] = new
        for i in np.flatnonzero(start):
            u = self._unit(s[i])
            msg = (
                f"{self._name(s[i])} drifting {'up' if z[i] > 0 else 'down'}: {fmt(v[i], u)} "
                f"against a baseline of {fmt(base[i], u)} ({az[i]:.1f} spreads, smoothed)"
            )
            out.append(self._finding(s[i], Rule.DRIFT, Severity.MINOR, msg, t[i], v[i]))
        for i in np.flatnonzero(end):
            u = self._unit(s[i])
            msg = f"{self._name(s[i])} back near its baseline {fmt(base[i], u)} ({fmt(v[i], u)})"
            out.append(self._finding(s[i], Rule.DRIFT, Severity.INFO, msg, t[i], v[i], False))
