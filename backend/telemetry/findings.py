"""What detection reports: one :class:`Finding` per change of a condition's state.

A finding is raised once when a condition starts (or changes severity) and
cleared once when it ends, so a fault that persists for hours is one alarm,
not one per reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Severity(StrEnum):
    """How urgent a finding is, lowest first."""

    INFO = "info"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 (info) to 3 (critical), for sorting and taking the worst of a group."""
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.MINOR: 1, Severity.MAJOR: 2, Severity.CRITICAL: 3}


class Rule(StrEnum):
    """Which check found the condition."""

    LIMIT = "limit"  # outside warning or alarm limits
    RATE = "rate"  # a jump between consecutive readings
    FAULT_CODE = "fault_code"  # a discrete fault code is non-zero
    STUCK = "stuck"  # the same exact value for many readings
    MISSING = "missing"  # no reading for several reading periods
    DRIFT = "drift"  # the smoothed residual left the learned baseline


@dataclass(frozen=True, slots=True)
class Finding:
    """One state change of one rule on one asset metric.

    ``active`` is True when the condition is raised (or its severity changed)
    and False for the finding that clears it; a clear has severity ``info``.
    ``value`` is None only for missing-data findings, which no reading caused.
    """

    asset_id: int
    metric: str
    rule: Rule
    severity: Severity
    message: str
    ts: datetime
    value: float | None
    active: bool = True

    @property
    def key(self) -> tuple[int, str, str]:
        """The identity of the condition: a clear finding has the key of what it clears."""
        return (self.asset_id, self.metric, self.rule.value)


def fmt(value: float, unit: str) -> str:
    """A value with its unit in words, e.g. ``7.4 mm/s`` or ``3`` for unitless codes."""
    text = f"{value:.4g}"
    return f"{text} {unit}" if unit else text
