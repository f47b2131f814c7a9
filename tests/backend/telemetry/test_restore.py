"""Seeding a fresh detector from conditions known active (a restart) and the grouper likewise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.telemetry.alarm_grouping import AlarmGrouper
from backend.telemetry.detect import Detector
from backend.telemetry.findings import Finding, Rule, Severity
from backend.telemetry.rules import DetectorConfig

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
PUMP, SIGNAL = 7, 8
HEALTHY = [4.2, 4.25, 4.15, 4.22, 4.18]


def at(step: int) -> datetime:
    """The time of reading number ``step`` (one a minute)."""
    return T0 + timedelta(minutes=step)


def fresh() -> Detector:
    """A detector that knows one pump and one traffic signal, and nothing about their past."""
    d = Detector()
    d.register_assets([PUMP, SIGNAL], ["pump", "traffic_signal"])
    return d


def feed(d: Detector, metric: str, values: list[float], start: int, asset: int = PUMP) -> list:
    """One reading per minute from ``start``; returns (step, finding) pairs."""
    out = []
    for i, v in enumerate(values):
        out += [(start + i, f) for f in d.observe(asset, metric, at(start + i), v)]
    return out


def condition(
    rule: Rule, severity: Severity, message: str, metric: str = "pressure", asset: int = PUMP
) -> Finding:
    """An active condition as the service rebuilds it from an alarm row."""
    return Finding(asset, metric, rule, severity, message, T0, None)


def test_restored_low_limit_clears_like_the_original_and_does_not_raise_again() -> None:
    original = fresh()
    feed(original, "pressure", HEALTHY, 0)
    (raised,) = [f for _, f in feed(original, "pressure", [1.0], 5) if f.rule is Rule.LIMIT]
    assert raised.severity is Severity.CRITICAL and " below " in raised.message

    restarted = fresh()
    assert restarted.restore_active([raised]) == 1
    # The fault persists: nothing new on either (no duplicate), however many readings.
    assert feed(restarted, "pressure", [1.05, 1.0, 0.98], 6) == []
    # Healthy again: both clear on the same reading, after the same hysteresis.
    after = HEALTHY * 2
    want = feed(original, "pressure", [1.05, 1.0, 0.98, *after], 6)
    got = feed(restarted, "pressure", after, 9)
    clear_o = [(s, f.active) for s, f in want if f.rule is Rule.LIMIT]
    clear_r = [(s, f.active) for s, f in got if f.rule is Rule.LIMIT]
    assert clear_r == clear_o == [(9 + DetectorConfig().clear_after - 1, False)]


def test_restored_high_limit_keeps_its_side_and_escalates() -> None:
    d = fresh()
    major = condition(
        Rule.LIMIT,
        Severity.MAJOR,
        "vibration 9 mm/s above the alarm limit 7.1 mm/s",
        metric="vibration",
    )
    assert d.restore_active([major]) == 1
    assert feed(d, "vibration", [8.8], 0) == []  # still major: nothing to report
    (worse,) = [f for _, f in feed(d, "vibration", [12.0], 1) if f.rule is Rule.LIMIT]
    assert worse.active and worse.severity is Severity.CRITICAL


def test_restored_fault_code_clears_on_zero_and_missing_on_any_reading() -> None:
    d = fresh()
    seeded = d.restore_active(
        [
            condition(Rule.FAULT_CODE, Severity.MAJOR, "fault_code 3", "fault_code", SIGNAL),
            condition(Rule.MISSING, Severity.MINOR, "no cycle_time reading", "cycle_time", SIGNAL),
        ]
    )
    assert seeded == 2
    # Still silent: the missing-data condition is not found a second time.
    assert d.check_missing(at(100)) == []
    (back,) = [f for _, f in feed(d, "cycle_time", [90.0], 0, SIGNAL)]
    assert (back.rule, back.active) == (Rule.MISSING, False)
    (cleared,) = [f for _, f in feed(d, "fault_code", [0.0], 0, SIGNAL)]
    assert (cleared.rule, cleared.active) == (Rule.FAULT_CODE, False)
    assert "nan" not in cleared.message


def test_restored_stuck_and_rate_end_as_usual() -> None:
    d = fresh()
    assert d.restore_active([condition(Rule.STUCK, Severity.MINOR, "pressure stuck at 4.2 bar")])
    # The first reading has nothing to compare with; the same value again is still stuck.
    assert feed(d, "pressure", [4.2, 4.2], 0) == []
    (unstuck,) = feed(d, "pressure", [4.25], 2)
    assert (unstuck[1].rule, unstuck[1].active) == (Rule.STUCK, False)

    d = fresh()
    assert d.restore_active([condition(Rule.RATE, Severity.MINOR, "pressure jumped up")])
    settle = DetectorConfig().rate_settle
    out = feed(d, "pressure", (HEALTHY * 2)[: settle + 1], 0)
    assert [(s, f.rule, f.active) for s, f in out] == [(settle, Rule.RATE, False)]


def test_clears_unknown_assets_and_metrics_are_not_seeded() -> None:
    d = fresh()
    cleared = Finding(PUMP, "pressure", Rule.LIMIT, Severity.INFO, "ok", T0, 4.2, active=False)
    unknown = [
        cleared,
        condition(Rule.LIMIT, Severity.MAJOR, "x", asset=999),
        condition(Rule.LIMIT, Severity.MAJOR, "x", metric="load"),  # pumps report no load
    ]
    assert d.restore_active(unknown) == 0
    assert feed(d, "pressure", HEALTHY, 0) == []


def test_grouper_restore_puts_the_condition_back_in_its_group() -> None:
    grouper = AlarmGrouper({})
    old = condition(Rule.LIMIT, Severity.MAJOR, "low")
    grouper.restore("area/2490/6010", old)
    assert [g.key for g in grouper.open_groups()] == ["area/2490/6010"]
    # A new condition of the same asset joins the restored group; clearing both closes it.
    new = condition(Rule.RATE, Severity.MINOR, "jump")
    assert grouper.assign(new).key == "area/2490/6010"
    for f in (old, new):
        done = Finding(f.asset_id, f.metric, f.rule, Severity.INFO, "ok", T0, 4.2, active=False)
        assert grouper.assign(done).key == "area/2490/6010"
    assert grouper.open_groups() == []
