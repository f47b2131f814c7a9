"""The rule table built from the catalog, and the detector settings' checks."""

from __future__ import annotations

import math

import pytest

from backend.telemetry.catalog import CATALOG
from backend.telemetry.findings import Severity, fmt
from backend.telemetry.rules import METRIC_NAMES, DetectorConfig, ProfileTable, metric_code


def test_profile_flags_follow_the_catalog() -> None:
    table = ProfileTable(CATALOG, critical_margin=0.5)
    fault = table.index[("traffic_signal", "fault_code")]
    on = table.index[("street_light", "on")]
    power = table.index[("street_light", "power")]
    vibration = table.index[("pump", "vibration")]
    assert table.fault_code[fault] and not table.continuous[fault]
    assert not table.fault_code[on] and not table.has_limits[on]  # a state, not a fault
    assert table.gate_code[power] == metric_code("on") and table.gate_code[vibration] == -1
    assert table.continuous[vibration] and table.has_limits[vibration]
    assert table.crit_high[vibration] == pytest.approx(7.1 + 0.5 * (7.1 - 2.1))
    assert math.isnan(table.crit_low[vibration])
    assert table.for_kind("building") == []


def test_metric_codes_and_formatting() -> None:
    assert [metric_code(n) for n in METRIC_NAMES] == list(range(len(METRIC_NAMES)))
    assert metric_code("colour") == -1
    assert fmt(7.4123, "mm/s") == "7.412 mm/s" and fmt(3.0, "") == "3"
    assert sorted(Severity, key=lambda s: s.rank)[-1] is Severity.CRITICAL


def test_config_checks_and_per_reading_weight() -> None:
    assert DetectorConfig(period_s=3600, baseline_tau_s=3600).baseline_alpha == pytest.approx(
        1 - math.exp(-1)
    )
    for bad in ({"period_s": 0}, {"ewma_lambda": 0}, {"warmup": 2}, {"rate_clear_k": 9}):
        with pytest.raises(ValueError):
            DetectorConfig(**bad)  # type: ignore[arg-type]
