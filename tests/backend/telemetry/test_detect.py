"""Detection on the simulator's synthetic signals with known faults, and its delays."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.simulator.telemetry import Fault, FaultKind, SensorModel
from backend.telemetry.catalog import metric
from backend.telemetry.detect import Detector
from backend.telemetry.findings import Finding, Rule, Severity
from backend.telemetry.rules import DetectorConfig, metric_code

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
PERIOD = timedelta(minutes=1)
KINDS = ("pump", "transformer", "street_light", "traffic_signal", "hydrant", "substation")


def at(step: int) -> datetime:
    """The time of reading number ``step`` (one a minute from midnight)."""
    return T0 + step * PERIOD


def run(
    model: SensorModel,
    steps: int,
    faults: dict[int, Fault] | None = None,
    detector: Detector | None = None,
    repair_at: int | None = None,
) -> tuple[Detector, list[tuple[int, Finding]]]:
    """Feed a sensor model reading by reading, checking for missing data each period."""
    detector = detector or Detector()
    detector.register_assets([model.asset_id], [model.kind], now=at(0))
    out: list[tuple[int, Finding]] = []
    for step in range(steps):
        if faults and step in faults:
            model.inject(faults[step])
        if step == repair_at:
            model.repair()
        readings = model.sample(at(step))
        found = detector.observe_batch(
            [model.asset_id] * len(readings),
            [name for name, _ in readings],
            [at(step)] * len(readings),
            [value for _, value in readings],
        )
        out += [(step, f) for f in found + detector.check_missing(at(step))]
    return detector, out


def pump(seed: int = 1) -> SensorModel:
    """A healthy pump with a seeded noise generator."""
    return SensorModel(asset_id=7, kind="pump", rng=np.random.default_rng(seed))


def raised(out: list[tuple[int, Finding]], rule: Rule, name: str) -> list[tuple[int, Finding]]:
    """The active findings of one rule on one metric."""
    return [(s, f) for s, f in out if f.rule is rule and f.metric == name and f.active]


def test_healthy_fleet_of_10000_readings_raises_nothing() -> None:
    """Seeded healthy signals of every kind, a week of minutes, fed as one big batch."""
    models = [SensorModel(i, KINDS[i % len(KINDS)], np.random.default_rng(i)) for i in range(12)]
    detector = Detector()
    detector.register_assets([m.asset_id for m in models], [m.kind for m in models])
    ids, names, ts, values = [], [], [], []
    for step in range(10_000):
        for m in models:
            for name, value in m.sample(at(step)):
                ids.append(m.asset_id)
                names.append(name)
                ts.append(at(step))
                values.append(value)
    found = detector.observe_batch(ids, names, ts, values)
    assert found == []
    assert detector.stats["observed"] == len(values) > 200_000
    assert detector.check_missing(at(10_000)) == []


def test_step_found_on_first_faulty_reading_and_raised_once() -> None:
    fault = Fault(FaultKind.STEP, "pressure", at(100), 30.0)
    _, out = run(pump(), 400, {100: fault})
    first = [(s, f.rule) for s, f in out if f.active and s == 100]
    assert (100, Rule.RATE) in first and (100, Rule.LIMIT) in first  # 4.2 + 30 * 0.08 > 6.5
    limit = raised(out, Rule.LIMIT, "pressure")
    assert [(s, f.severity) for s, f in limit] == [(100, Severity.MAJOR)]
    assert "6.5 bar" in limit[0][1].message and "pressure" in limit[0][1].message
    # While the step persists: the rate finding clears once the level settles,
    # the drift detector raises once (within ~10 readings), and nothing repeats.
    counts = Counter((f.rule, f.active) for _, f in out)
    assert counts == {
        (Rule.RATE, True): 1,
        (Rule.RATE, False): 1,
        (Rule.LIMIT, True): 1,
        (Rule.DRIFT, True): 1,
    }
    ((drift_step, _),) = raised(out, Rule.DRIFT, "pressure")
    assert 100 < drift_step <= 112


def test_drift_of_6_spreads_per_hour_found_on_the_crossing_reading() -> None:
    model = pump(3)
    detector = Detector()
    detector.register_assets([7], ["pump"])
    threshold = detector.config.drift_threshold
    model.inject(Fault(FaultKind.DRIFT, "vibration", at(60), 6.0))
    scores: list[float] = []
    found_at = None
    drift_findings: list[Finding] = []
    for step in range(400):
        readings = dict(model.sample(at(step)))
        found = detector.observe(7, "vibration", at(step), readings["vibration"])
        scores.append(detector.drift_score(7, "vibration"))
        drift = [f for f in found if f.rule is Rule.DRIFT]
        drift_findings += drift
        if drift and found_at is None:
            found_at = step
            assert drift[0].active and drift[0].severity is Severity.MINOR
            assert "drifting up" in drift[0].message and "mm/s" in drift[0].message
    assert found_at is not None
    assert len(drift_findings) == 1  # raised once while the drift goes on for 5 hours
    # Raised on the very reading where the smoothed residual crosses the threshold.
    assert scores[found_at] > threshold >= max(scores[detector.config.warmup : found_at])
    # 6 spreads/hour from 2.1 mm/s: the drift is found within 50 readings, while the
    # signal is still far below the warning level (4.5 mm/s, ~1.6 h after onset).
    assert found_at - 60 <= 50
    spread = metric("pump", "vibration").spread  # type: ignore[union-attr]
    assert 2.1 + 6.0 * spread * (found_at - 60) / 60 < 4.5


def test_downward_drift_on_flow_through_its_daily_cycle() -> None:
    fault = Fault(FaultKind.DRIFT, "flow", at(600), -6.0)
    _, out = run(pump(4), 800, {600: fault})
    drift = raised(out, Rule.DRIFT, "flow")
    assert len(drift) == 1 and "drifting down" in drift[0][1].message
    # At 10:00 the daily cycle rises against the drift (about 0.5 spread/hour): within an hour.
    assert 600 < drift[0][0] <= 660
    warn = raised(out, Rule.LIMIT, "flow")
    assert warn and warn[0][0] > drift[0][0]  # the statistical detector is first


def test_spike_raises_rate_then_clears_without_drift_alarm() -> None:
    fault = Fault(FaultKind.SPIKE, "temperature", at(100), 60.0)
    _, out = run(pump(), 300, {100: fault})
    rate = [(s, f.active) for s, f in out if f.rule is Rule.RATE]
    assert rate == [(100, True), (101, False)]
    limit = [(s, f.severity, f.active) for s, f in out if f.rule is Rule.LIMIT]
    clear_after = DetectorConfig().clear_after
    assert limit == [(100, Severity.CRITICAL, True), (100 + clear_after, Severity.INFO, False)]
    assert not [f for _, f in out if f.rule is Rule.DRIFT]  # clipped residual: no drift


def test_stuck_sensor_found_at_the_nth_identical_reading_and_cleared_on_repair() -> None:
    fault = Fault(FaultKind.STUCK, "pressure", at(100), 0.0)
    _, out = run(pump(), 300, {100: fault}, repair_at=250)
    stuck = [(s, f.active) for s, f in out if f.rule is Rule.STUCK]
    n = DetectorConfig().stuck_n
    assert stuck == [(100 + n - 1, True), (250, False)]
    assert "stuck at" in out[0][1].message and "bar" in out[0][1].message


def test_missing_data_raised_after_m_periods_and_cleared_by_a_reading() -> None:
    fault = Fault(FaultKind.DROPOUT, "flow", at(100), 0.0)
    _, out = run(pump(), 200, {100: fault}, repair_at=150)
    missing = [(s, f.active, f.value) for s, f in out if f.rule is Rule.MISSING]
    # Last reading at step 99; silent for more than 3 periods at the check of step 103.
    assert missing[0][:2] == (103, True) and missing[0][2] is None
    assert missing[1][:2] == (150, False) and len(missing) == 2
    assert "no flow reading for 4 min" in out[0][1].message


def test_registered_sensor_that_never_reports_is_missing() -> None:
    detector = Detector()
    detector.register_assets([1, 2], ["hydrant", "hydrant"], now=at(0))
    detector.observe(1, "pressure", at(4), 5.0)
    found = detector.check_missing(at(4))
    assert [(f.asset_id, f.metric, f.rule) for f in found] == [(2, "pressure", Rule.MISSING)]
    assert detector.check_missing(at(5)) == []  # raised once


def test_fault_code_raised_changed_and_cleared() -> None:
    signal = SensorModel(3, "traffic_signal", np.random.default_rng(0))
    _, out = run(
        signal,
        80,
        {
            20: Fault(FaultKind.STEP, "fault_code", at(20), 4.0),
            40: Fault(FaultKind.STEP, "fault_code", at(40), 7.0),
        },
        repair_at=60,
    )
    codes = [(s, f.severity, f.value) for s, f in out if f.rule is Rule.FAULT_CODE]
    assert codes == [(20, Severity.MAJOR, 4.0), (40, Severity.MAJOR, 7.0), (60, Severity.INFO, 0.0)]
    assert not [f for _, f in out if f.rule is not Rule.FAULT_CODE]


def feed(detector: Detector, asset: int, name: str, values: list[float]) -> list[list[Finding]]:
    """Feed one value per minute; the findings of each reading."""
    return [detector.observe(asset, name, at(i), v) for i, v in enumerate(values)]


def test_limit_hysteresis_escalation_and_no_flapping() -> None:
    detector = Detector(DetectorConfig(clear_after=3))
    detector.register_assets([1], ["pump"])
    # Vibration: warn 4.5, alarm 7.1, critical 9.6; hysteresis one spread (0.25).
    values = [2.1, 4.6, 4.4, 4.6, 4.3, 4.4, 4.3, 7.2, 9.7, 9.0, 8.0, 8.1, 4.2, 4.1, 4.0, 2.0]
    per_reading = feed(detector, 1, "vibration", values)
    limit = [
        (i, f.severity, f.active)
        for i, found in enumerate(per_reading)
        for f in found
        if f.rule is Rule.LIMIT
    ]
    assert limit == [
        (1, Severity.MINOR, True),  # above the warning level; 4.3-4.4 stay inside the band
        (7, Severity.MAJOR, True),
        (8, Severity.CRITICAL, True),
        (11, Severity.MAJOR, True),  # three readings below 9.35 lower it one step at a time
        (14, Severity.INFO, False),  # three readings below 4.25 clear it
    ]
    assert per_reading[8][0].message.startswith("vibration 9.7 mm/s far above the alarm limit")


def test_low_side_and_jump_across_sides() -> None:
    detector = Detector(DetectorConfig(clear_after=1))
    detector.register_assets([1], ["pump"])
    found = feed(detector, 1, "pressure", [4.2, 7.0, 2.0, 4.2])
    limit = [f for fs in found for f in fs if f.rule is Rule.LIMIT]
    assert [(f.severity, f.active) for f in limit] == [
        (Severity.MAJOR, True),
        (Severity.MAJOR, True),
        (Severity.INFO, False),
    ]
    assert "below the alarm limit 2.5 bar" in limit[1].message


def test_street_light_power_judged_only_while_on() -> None:
    light = SensorModel(5, "street_light", np.random.default_rng(2))
    detector, out = run(light, 36 * 60)  # day 0.8 W would be far below the 5 W limit
    assert out == []
    # The lamp fails at night: on, but drawing nothing.
    night = at(36 * 60).replace(hour=23)
    found = detector.observe_batch([5, 5], ["on", "power"], [night, night], [1.0, 0.0])
    assert next((f.rule, f.severity) for f in found if f.active) == (Rule.LIMIT, Severity.MAJOR)
    # Gate and gated rows in any order within a batch, at the same time.
    later = night + PERIOD
    found = detector.observe_batch([5, 5], ["power", "on"], [later, later], [0.5, 0.0])
    assert found == []  # switched off: no judgement, no repeat


def test_batch_equals_reading_by_reading() -> None:
    """The round-based batch path gives the same findings as feeding one period at a time."""
    models = [SensorModel(i, KINDS[i % 4], np.random.default_rng(10 + i)) for i in range(8)]
    kinds = [FaultKind.STEP, FaultKind.DRIFT, FaultKind.SPIKE, FaultKind.STUCK]
    rows: list[tuple[int, str, datetime, float]] = []
    for step in range(300):
        for i, m in enumerate(models):
            if step == 100 + 10 * i and m.kind != "traffic_signal":
                name = m.metrics[-1].name
                m.inject(Fault(kinds[i % 4], name, at(step), 30.0 if i % 4 == 0 else 6.0))
            rows += [(m.asset_id, n, at(step), v) for n, v in m.sample(at(step))]
    streaming, batched = Detector(), Detector()
    for d in (streaming, batched):
        d.register_assets([m.asset_id for m in models], [m.kind for m in models])
    one_by_one = []
    for step in range(300):
        part = [r for r in rows if r[2] == at(step)]
        one_by_one += streaming.observe_batch(*map(list, zip(*part, strict=True)))
    shuffled = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    all_at_once = batched.observe_batch(*map(list, zip(*shuffled, strict=True)))
    assert len(one_by_one) >= 6
    assert all_at_once == one_by_one


def test_codes_epoch_seconds_and_datetime64_are_accepted() -> None:
    detector = Detector()
    detector.register_assets([1], ["pump"])
    code = metric_code("temperature")
    t = np.array([at(0).timestamp(), at(1).timestamp()])
    assert detector.observe_batch(np.array([1, 1]), np.array([code, code]), t, [48.0, 48.1]) == []
    t64 = np.array(["2026-06-01T00:02", "2026-06-01T00:03"], dtype="datetime64[s]")
    found = detector.observe_batch([1, 1], ["temperature"] * 2, t64, [48.0, 90.0])
    assert [(f.rule, f.ts) for f in found] == [(Rule.LIMIT, at(3)), (Rule.RATE, at(3))]


def test_unknown_stale_and_bad_input() -> None:
    detector = Detector()
    assert detector.register_assets([1, 2, 1], ["pump", "building", "pump"]) == 2
    with pytest.raises(ValueError, match="registered as 'pump'"):
        detector.register_assets([1], ["hydrant"])
    found = detector.observe_batch(
        [1, 9, 1, 2, 1],
        ["flow", "flow", "colour", "flow", "flow"],
        [at(1), at(1), at(1), at(1), at(1)],
        [42.0, 42.0, 1.0, 1.0, float("nan")],
    )
    assert found == [] and detector.stats["unknown"] == 4
    detector.observe_batch([1, 1], ["flow", "flow"], [at(0), at(1)], [1.0, 1.0])
    assert detector.stats["stale"] == 2  # older than, and equal to, the last reading
    with pytest.raises(ValueError, match="same length"):
        detector.observe_batch([1], ["flow", "flow"], [at(2)], [1.0])
    with pytest.raises(ValueError, match="timezone-aware"):
        detector.observe(1, "flow", datetime(2026, 6, 1, 0, 5), 42.0)
    with pytest.raises(ValueError):
        DetectorConfig(drift_clear=3.0)
    assert detector.observe_batch([], [], [], []) == []


def test_state_stays_small_for_10000_assets() -> None:
    detector = Detector()
    kinds = [KINDS[i % len(KINDS)] for i in range(10_000)]
    detector.register_assets(range(10_000), kinds)
    assert 20_000 < detector.slots < 30_000
    assert detector.state_bytes / detector.slots < 1_000  # bytes per (asset, metric)
