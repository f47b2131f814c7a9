"""Synthetic sensors: healthy signals stay inside limits, faults show the way they should."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from backend.simulator.telemetry import Fault, FaultKind, SensorModel, random_fault
from backend.telemetry.catalog import metric

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _pump(seed: int = 1) -> SensorModel:
    return SensorModel(asset_id=1, kind="pump", rng=np.random.default_rng(seed))


def test_healthy_pump_stays_within_limits() -> None:
    pump = _pump()
    for i in range(500):
        for name, value in pump.sample(NOON + timedelta(minutes=i)):
            m = metric("pump", name)
            assert m is not None
            assert m.low_limit is None or value > m.low_limit
            assert m.high_limit is None or value < m.high_limit


def test_step_drift_stuck_dropout_spike() -> None:
    pump = _pump()
    spread = metric("pump", "vibration").spread  # type: ignore[union-attr]
    pump.inject(Fault(FaultKind.DRIFT, "vibration", NOON, magnitude=6.0))
    later = dict(pump.sample(NOON + timedelta(hours=2)))
    assert later["vibration"] > 2.1 + 10 * spread
    pump.inject(Fault(FaultKind.DROPOUT, "flow", NOON, 0.0))
    assert "flow" not in dict(pump.sample(NOON))
    pump.inject(Fault(FaultKind.STUCK, "pressure", NOON, 0.0))
    stuck = {dict(pump.sample(NOON + timedelta(minutes=i)))["pressure"] for i in range(5)}
    assert len(stuck) == 1
    pump.inject(Fault(FaultKind.SPIKE, "temperature", NOON, 60.0))
    first = dict(pump.sample(NOON))["temperature"]
    second = dict(pump.sample(NOON))["temperature"]
    assert first > 48.0 + 40 and second < 60.0  # one wild reading, then normal
    pump.repair()
    assert not pump.faults


def test_street_light_is_on_at_night() -> None:
    light = SensorModel(asset_id=2, kind="street_light", rng=np.random.default_rng(0))
    assert dict(light.sample(NOON))["on"] == 0.0
    assert dict(light.sample(NOON.replace(hour=23)))["on"] == 1.0


def test_signal_fault_code() -> None:
    signal = SensorModel(asset_id=3, kind="traffic_signal", rng=np.random.default_rng(0))
    assert dict(signal.sample(NOON))["fault_code"] == 0.0
    signal.inject(Fault(FaultKind.STEP, "fault_code", NOON, 4.0))
    assert dict(signal.sample(NOON))["fault_code"] == 4.0


def test_same_seed_same_signal() -> None:
    a, b = _pump(5), _pump(5)
    assert [a.sample(NOON) for _ in range(3)] == [b.sample(NOON) for _ in range(3)]
    assert random_fault(_pump(2), NOON) == random_fault(_pump(2), NOON)
    assert random_fault(SensorModel(9, "building", np.random.default_rng(0)), NOON) is None
