"""Alarm grouping: one faulty asset or one area is one group, not a flood of lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.simulator.telemetry import Fault, FaultKind, SensorModel
from backend.telemetry.alarm_grouping import AlarmGrouper, group_findings
from backend.telemetry.detect import Detector
from backend.telemetry.findings import Finding, Rule, Severity

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# Assets 1-4 in one 0.01-degree cell, 5 in a neighbouring cell, 6 with no location.
LOCATIONS = {
    1: (-79.3801, 43.6501),
    2: (-79.3805, 43.6509),
    3: (-79.3809, 43.6503),
    4: (-79.3802, 43.6507),
    5: (-79.3701, 43.6501),
}


def finding(
    asset: int,
    minute: float,
    rule: Rule = Rule.LIMIT,
    metric: str = "pressure",
    severity: Severity = Severity.MAJOR,
    active: bool = True,
) -> Finding:
    """A hand-made finding at ``minute`` past noon."""
    return Finding(
        asset, metric, rule, severity, "test", T0 + timedelta(minutes=minute), 1.0, active
    )


def test_one_asset_many_conditions_is_one_group_until_all_clear() -> None:
    grouper = AlarmGrouper(LOCATIONS)
    keys = {
        grouper.assign(finding(1, 0)).key,
        grouper.assign(finding(1, 1, Rule.RATE, severity=Severity.MINOR)).key,
        grouper.assign(finding(1, 2, Rule.DRIFT, "flow", Severity.MINOR)).key,
    }
    assert keys == {"asset/1"}
    (group,) = grouper.open_groups()
    assert group.severity is Severity.MAJOR and group.title == "asset 1: 3 active conditions"
    grouper.assign(finding(1, 3, Rule.RATE, active=False))
    grouper.assign(finding(1, 4, active=False))
    assert grouper.open_groups()[0].title == "asset 1: 1 active condition"
    grouper.assign(finding(1, 5, Rule.DRIFT, "flow", active=False))
    assert grouper.open_groups() == []
    # A new episode on the same asset opens a fresh group.
    grouper.assign(finding(1, 60))
    assert len(grouper.open_groups()[0].findings) == 1


def test_many_assets_in_one_area_fold_into_an_area_group() -> None:
    grouper = AlarmGrouper(LOCATIONS, window_s=300, min_assets=3)
    assert grouper.assign(finding(1, 0)).key == "asset/1"
    assert grouper.assign(finding(2, 1)).key == "asset/2"
    assert grouper.assign(finding(5, 1)).key == "asset/5"  # the next cell does not count
    third = grouper.assign(finding(3, 2, severity=Severity.CRITICAL))
    assert third.key.startswith("area/") and set(third.merged) == {"asset/1", "asset/2"}
    assert grouper.assign(finding(4, 3)).key == third.key  # joins the open area
    assert grouper.assign(finding(1, 4, Rule.RATE)).key == third.key  # a member stays in it
    groups = {g.key: g for g in grouper.open_groups()}
    assert set(groups) == {third.key, "asset/5"}
    area = groups[third.key]
    assert area.asset_ids == {1, 2, 3, 4} and area.severity is Severity.CRITICAL
    assert area.first_ts == T0 and area.title == "4 assets alarming in one area (5 active)"
    assert grouper.open_groups()[0] is area  # worst first
    # Clears find their way to the area group, which closes with the last one.
    for asset, rule in ((1, Rule.LIMIT), (2, Rule.LIMIT), (3, Rule.LIMIT), (4, Rule.LIMIT)):
        assert grouper.assign(finding(asset, 10, rule, active=False)).key == third.key
    assert grouper.assign(finding(1, 11, Rule.RATE, active=False)).key == third.key
    assert [g.key for g in grouper.open_groups()] == ["asset/5"]
    assert grouper.prune(T0 + timedelta(hours=1)) == 1


def test_findings_spread_in_time_or_without_location_stay_per_asset() -> None:
    findings = [finding(1, 0), finding(2, 10), finding(3, 20), finding(6, 20), finding(6, 21)]
    groups = group_findings(findings, LOCATIONS, window_s=300, min_assets=3)
    assert sorted(g.key for g in groups) == ["asset/1", "asset/2", "asset/3", "asset/6"]
    assert [len(g.findings) for g in groups if g.key == "asset/6"] == [2]
    tight = group_findings(findings, LOCATIONS, window_s=1800, min_assets=3)
    assert sorted(g.key for g in tight) == ["area/-7939/4365", "asset/6"]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        AlarmGrouper(LOCATIONS, min_assets=1)
    with pytest.raises(ValueError):
        AlarmGrouper(LOCATIONS, cell_deg=0)


def test_detector_findings_of_one_faulty_pump_make_one_group() -> None:
    pump = SensorModel(1, "pump", np.random.default_rng(1))
    detector = Detector()
    detector.register_assets([1], ["pump"])
    found: list[Finding] = []
    for step in range(200):
        ts = T0 + timedelta(minutes=step)
        if step == 60:
            pump.inject(Fault(FaultKind.STEP, "pressure", ts, 30.0))
        readings = pump.sample(ts)
        found += detector.observe_batch(
            [1] * len(readings),
            [n for n, _ in readings],
            [ts] * len(readings),
            [v for _, v in readings],
        )
    assert len(found) >= 3  # limit, rate raise and clear, drift
    (group,) = group_findings(found, LOCATIONS)
    assert group.key == "asset/1" and group.severity is Severity.MAJOR and group.is_open
