"""Synthetic telemetry: healthy signals with noise and daily cycles, and faults that develop.

Each asset carries a :class:`SensorModel`; the simulator samples every asset
every reading period and sends the batch through ``ingest_readings``. Faults
(step, drift, spike, stuck sensor, dropout) start at random with a small rate
and end when the asset is repaired, so detection has something honest to find.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np

from backend.telemetry.catalog import Metric, metrics_for


class FaultKind(StrEnum):
    """Ways a signal goes wrong."""

    STEP = "step"  # a sudden offset (a seal fails, a breaker trips)
    DRIFT = "drift"  # a slow ramp (bearing wear, fouling)
    SPIKE = "spike"  # one wild reading
    STUCK = "stuck"  # the sensor repeats its last value
    DROPOUT = "dropout"  # no readings at all


@dataclass(slots=True)
class Fault:
    """An active fault on one metric of one asset."""

    kind: FaultKind
    metric: str
    started: datetime
    magnitude: float  # in units of the metric's healthy spread (step/drift per hour)


@dataclass(slots=True)
class SensorModel:
    """One asset's signals: healthy behaviour plus any active faults."""

    asset_id: int
    kind: str
    rng: np.random.Generator
    faults: list[Fault] = field(default_factory=list)
    _stuck: dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The metrics this asset reports."""
        return metrics_for(self.kind)

    def inject(self, fault: Fault) -> None:
        """Start a fault (tests and the simulator's fault generator)."""
        self.faults = [f for f in self.faults if f.metric != fault.metric]
        self.faults.append(fault)

    def repair(self) -> None:
        """A crew fixed the asset: every fault ends."""
        self.faults.clear()
        self._stuck.clear()

    def healthy_value(self, metric: Metric, ts: datetime) -> float:
        """The signal without faults: normal value, a daily cycle and noise."""
        hour = ts.hour + ts.minute / 60.0
        night = hour < 6.5 or hour >= 18.5
        if self.kind == "street_light":
            if metric.name == "on":
                return 1.0 if night else 0.0
            if metric.name == "power":
                base = metric.normal if night else 0.8
                return base + float(self.rng.normal(0.0, metric.spread if night else 0.1))
        if metric.discrete:
            return metric.normal
        daily = 0.08 * metric.normal * math.sin((hour - 8.0) / 24.0 * 2 * math.pi)
        if metric.name in {"load", "flow"}:
            return metric.normal + daily + float(self.rng.normal(0.0, metric.spread))
        return metric.normal + float(self.rng.normal(0.0, metric.spread))

    def sample(self, ts: datetime) -> list[tuple[str, float]]:
        """The readings at ``ts``: (metric, value) pairs; a dropout sends nothing."""
        out: list[tuple[str, float]] = []
        active = {f.metric: f for f in self.faults}
        for metric in self.metrics:
            fault = active.get(metric.name)
            value = self.healthy_value(metric, ts)
            if fault is not None:
                hours = max((ts - fault.started).total_seconds() / 3600.0, 0.0)
                spread = metric.spread or 1.0
                if fault.kind is FaultKind.DROPOUT:
                    continue
                if fault.kind is FaultKind.STUCK:
                    value = self._stuck.setdefault(metric.name, value)
                elif fault.kind is FaultKind.STEP:
                    value += fault.magnitude * spread
                elif fault.kind is FaultKind.DRIFT:
                    value += fault.magnitude * spread * hours
                elif fault.kind is FaultKind.SPIKE:
                    value += fault.magnitude * spread
                    self.faults.remove(fault)  # one reading only
                if metric.discrete and metric.name == "fault_code":
                    value = float(int(abs(fault.magnitude)) or 3)
            out.append((metric.name, round(value, 4)))
        return out


def random_fault(model: SensorModel, ts: datetime) -> Fault | None:
    """A plausible fault for this asset, or None if it reports nothing."""
    metrics = [m for m in model.metrics if not (m.discrete and m.name == "on")]
    if not metrics:
        return None
    metric = metrics[int(model.rng.integers(len(metrics)))]
    if metric.discrete:
        return Fault(FaultKind.STEP, metric.name, ts, float(model.rng.integers(1, 9)))
    kinds = list(FaultKind)
    kind = kinds[int(model.rng.integers(len(kinds)))]
    sign = -1.0 if metric.low_limit is not None and metric.high_limit is None else 1.0
    magnitude = {
        FaultKind.STEP: 30.0,
        FaultKind.DRIFT: 6.0,
        FaultKind.SPIKE: 60.0,
        FaultKind.STUCK: 0.0,
        FaultKind.DROPOUT: 0.0,
    }[kind] * sign
    return Fault(kind, metric.name, ts, magnitude)
