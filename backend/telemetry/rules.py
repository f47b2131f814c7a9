"""Detection settings and the per-(kind, metric) rule table, as numpy arrays.

The catalog says what is normal for each metric; this module turns it into
the columns the vectorised detector indexes by profile id: limits with their
critical extensions, which rules apply, and which metric gates another (a
street light's power draw is only judged while the light is on: by day it
draws almost nothing, far below its "lamp failed" limit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backend.telemetry.catalog import CATALOG, Metric

# (kind, metric) -> the metric whose non-zero value switches its rules on.
GATES: dict[tuple[str, str], str] = {("street_light", "power"): "on"}

# Every metric name any kind reports; a metric's code is its index here.
METRIC_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(m.name for metrics in CATALOG.values() for m in metrics)
)
_CODES = {name: i for i, name in enumerate(METRIC_NAMES)}


def metric_code(name: str) -> int:
    """The integer code of a metric name (for the detector's fast path), -1 if unknown."""
    return _CODES.get(name, -1)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds and time constants of the detector.

    Counts are in readings; ``spreads`` are multiples of the metric's healthy
    noise (its catalog ``spread``). Time constants are in seconds of signal
    time and turned into per-reading weights with ``period_s``, so a faster
    reading rate does not make the baseline chase a drift.
    """

    period_s: float = 60.0  # nominal reading period
    rate_k: float = 8.0  # a jump of more than this many spreads raises
    rate_clear_k: float = 4.0  # back within this of the pre-jump value, or calm steps
    rate_settle: int = 5  # this many calm readings at a new level clear a rate finding
    stuck_n: int = 6  # this many identical readings in a row is a stuck sensor
    missing_periods: float = 3.0  # silence longer than this many periods is missing data
    limit_hysteresis: float = 1.0  # spreads back inside a limit before it lowers/clears
    clear_after: int = 5  # ...for this many readings in a row
    critical_margin: float = 0.5  # beyond a limit by this share of (limit - normal)
    warmup: int = 30  # readings for the robust (median/MAD) baseline
    ewma_lambda: float = 0.1  # weight of the newest residual in the drift statistic
    drift_threshold: float = 2.5  # |EWMA residual| in baseline scales that raises
    drift_clear: float = 1.0  # ...and that clears
    drift_clip: float = 4.0  # residuals are clipped here so one spike cannot raise drift
    baseline_tau_s: float = 3600.0  # the baseline follows slow daily cycles this slowly

    def __post_init__(self) -> None:
        if self.period_s <= 0 or self.baseline_tau_s <= 0:
            raise ValueError("period_s and baseline_tau_s must be positive")
        if not 0 < self.ewma_lambda <= 1:
            raise ValueError("ewma_lambda must be in (0, 1]")
        if self.warmup < 3 or self.stuck_n < 2 or min(self.rate_settle, self.clear_after) < 1:
            raise ValueError(
                "warmup >= 3, stuck_n >= 2, rate_settle and clear_after >= 1 are needed"
            )
        if not 0 <= self.drift_clear < self.drift_threshold:
            raise ValueError("drift_clear must be below drift_threshold")
        if self.rate_clear_k > self.rate_k:
            raise ValueError("rate_clear_k must not exceed rate_k")

    @property
    def baseline_alpha(self) -> float:
        """Per-reading weight of the slow baseline update."""
        return 1.0 - math.exp(-self.period_s / self.baseline_tau_s)


def _num(x: float | None) -> float:
    return math.nan if x is None else float(x)


class ProfileTable:
    """One row per (kind, metric) of the catalog, as parallel numpy columns."""

    def __init__(self, catalog: dict[str, tuple[Metric, ...]], critical_margin: float) -> None:
        rows = [(kind, m) for kind, metrics in catalog.items() for m in metrics]
        self.index: dict[tuple[str, str], int] = {(k, m.name): i for i, (k, m) in enumerate(rows)}
        self.metrics: tuple[Metric, ...] = tuple(m for _, m in rows)
        self.kinds: tuple[str, ...] = tuple(k for k, _ in rows)
        col = np.array
        self.normal = col([m.normal for m in self.metrics], dtype=np.float64)
        self.spread = col([m.spread for m in self.metrics], dtype=np.float64)
        self.low = col([_num(m.low_limit) for m in self.metrics])
        self.high = col([_num(m.high_limit) for m in self.metrics])
        self.warn_low = col([_num(m.warn_low) for m in self.metrics])
        self.warn_high = col([_num(m.warn_high) for m in self.metrics])
        # Critical: beyond the alarm limit by a share of its distance from normal.
        self.crit_high = self.high + critical_margin * (self.high - self.normal)
        self.crit_low = self.low - critical_margin * (self.normal - self.low)
        discrete = col([m.discrete for m in self.metrics], dtype=bool)
        # A discrete metric with a limit is a fault code: any non-zero value is a fault.
        self.fault_code = discrete & ~(np.isnan(self.high) & np.isnan(self.low))
        # Continuous and noisy: rate, stuck and drift rules make sense.
        self.continuous = ~discrete & (self.spread > 0)
        any_limit = ~(
            np.isnan(self.low)
            & np.isnan(self.high)
            & np.isnan(self.warn_low)
            & np.isnan(self.warn_high)
        )
        self.has_limits = ~discrete & any_limit
        self.gate_code = col(
            [metric_code(GATES.get((k, m.name), "")) for k, m in rows], dtype=np.int32
        )
        self.code = col([metric_code(m.name) for m in self.metrics], dtype=np.int32)

    def for_kind(self, kind: str) -> list[int]:
        """The profile ids of a kind's metrics (empty for kinds without telemetry)."""
        return [i for i, k in enumerate(self.kinds) if k == kind]
