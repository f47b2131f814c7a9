"""The emerging-problems scan on synthetic reports: a planted cluster is found, noise is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import pandas as pd
import pytest

from backend.analytics.emerging import EmergingConfig, find_emerging

AS_OF = datetime(2025, 6, 2, tzinfo=UTC)
DAYS = 63  # 56 days of baseline and a 7-day window
LON0, LAT0 = -71.08, 42.33  # a 6 x 6 km square city
SPAN_LON, SPAN_LAT = 0.073, 0.054


def background(
    rng: np.random.Generator, per_day: dict[str, float], start_id: int = 1
) -> pd.DataFrame:
    """Reports spread uniformly over the city and the 63 days, Poisson counts per service."""
    frames = []
    next_id = start_id
    for service, rate in per_day.items():
        n = int(rng.poisson(rate * DAYS))
        seconds = rng.uniform(0, DAYS * 86400, n)
        frames.append(
            pd.DataFrame(
                {
                    "id": np.arange(next_id, next_id + n),
                    "service": service,
                    "category": service.replace("_", " ").title(),
                    "lon": LON0 + rng.uniform(0, SPAN_LON, n),
                    "lat": LAT0 + rng.uniform(0, SPAN_LAT, n),
                    "requested_at": [AS_OF - timedelta(seconds=float(s)) for s in seconds],
                }
            )
        )
        next_id += n
    return pd.concat(frames, ignore_index=True)


def planted(
    rng: np.random.Generator, n: int, lon: float, lat: float, start_id: int
) -> pd.DataFrame:
    """``n`` street-light reports within about 100 m of a point over the last four days."""
    return pd.DataFrame(
        {
            "id": np.arange(start_id, start_id + n),
            "service": "streetlight_out",
            "category": "Streetlight Out",
            "lon": lon + rng.normal(0, 0.0008, n),
            "lat": lat + rng.normal(0, 0.0006, n),
            "requested_at": [AS_OF - timedelta(days=float(d)) for d in rng.uniform(0.01, 4, n)],
        }
    )


RATES = {"streetlight_out": 25.0, "pothole": 6.0, "signal_repair": 1.5}


@pytest.mark.parametrize("seed", range(3))
def test_a_planted_cluster_is_found_where_it_was_planted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    noise = background(rng, RATES)
    lon, lat = LON0 + 0.03, LAT0 + 0.02
    spike = planted(rng, 10, lon, lat, start_id=10**6)
    result = find_emerging(pd.concat([noise, spike], ignore_index=True), AS_OF)
    assert result.clusters, result.services
    top = result.clusters[0]
    assert top.service == "streetlight_out"
    assert h3.latlng_to_cell(lat, lon, 9) in top.cells
    assert top.observed >= 8 and top.observed > 5 * top.expected
    assert top.p_value < 0.01 and top.p_raw <= top.p_value
    # Its sample is (mostly) the planted reports, newest first, inside the window.
    planted_ids = set(spike["id"])
    assert sum(i in planted_ids for i in top.issue_ids) >= 0.7 * len(top.issue_ids)
    assert result.window_start <= top.first_report <= top.last_report < AS_OF
    # Nothing else is flagged: the background is uniform.
    assert len(result.clusters) == 1, [c.to_json() for c in result.clusters]


def test_uniform_background_raises_next_to_no_alarms() -> None:
    flagged = 0
    tested = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        result = find_emerging(background(rng, RATES), AS_OF)
        flagged += len(result.clusters)
        tested += result.zones_tested
    # The family-wise error rate is 1 % per scan: over 20 scans, one alarm would be rare.
    assert tested > 0
    assert flagged <= 1


def test_a_city_wide_surge_is_not_a_local_cluster() -> None:
    rng = np.random.default_rng(7)
    noise = background(rng, {"streetlight_out": 25.0})
    # A storm week: three times the reports everywhere in the window.
    window = noise[noise["requested_at"] >= AS_OF - timedelta(days=7)]
    extra = [window.assign(id=window["id"] + k * 10**6) for k in (1, 2)]
    result = find_emerging(pd.concat([noise, *extra], ignore_index=True), AS_OF)
    assert result.services["streetlight_out"]["trend"] > 2.5
    assert result.clusters == []


def test_sparse_history_widens_the_expectation_instead_of_zeroing_it() -> None:
    rng = np.random.default_rng(3)
    noise = background(rng, {"signal_repair": 1.5})
    # Three reports where there were none before: unusual, not yet a flag (min_count 4).
    few = planted(rng, 3, LON0 + 0.01, LAT0 + 0.01, start_id=10**6).assign(service="signal_repair")
    result = find_emerging(pd.concat([noise, few], ignore_index=True), AS_OF)
    assert result.clusters == []
    # Lowering min_count lets it be tested; it is still judged against a non-zero expectation.
    loose = find_emerging(
        pd.concat([noise, few], ignore_index=True), AS_OF, EmergingConfig(min_count=3)
    )
    for c in loose.clusters:
        assert c.expected > 0


def test_short_history_is_skipped_and_said_so() -> None:
    rng = np.random.default_rng(1)
    noise = background(rng, {"pothole": 6.0})
    began = AS_OF - timedelta(days=15)  # the records begin 8 days before the window
    recent = noise[noise["requested_at"] >= began]
    result = find_emerging(recent, AS_OF, history_start=began)
    assert "only 8.0 days of history" in result.services["pothole"]["skipped"]
    # Without being told, the oldest report given is where the records begin.
    assert find_emerging(recent, AS_OF).services["pothole"]["baseline_days"] < 8
    assert result.clusters == [] and result.zones_tested == 0


def test_bad_input() -> None:
    frame = background(np.random.default_rng(0), {"pothole": 1.0})
    with pytest.raises(ValueError, match="timezone-aware"):
        find_emerging(frame, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="lack columns"):
        find_emerging(frame.drop(columns=["lat"]), AS_OF)
    for bad in (
        {"window_days": 0},
        {"baseline_days": 3},
        {"alpha": 1.5},
        {"rings": 9},
        {"min_count": 0},
    ):
        with pytest.raises(ValueError):
            EmergingConfig(**bad)  # type: ignore[arg-type]
    # Rows without a usable position or time are ignored, not fatal.
    junk = frame.copy()
    junk.loc[0, "lat"] = np.nan
    junk.loc[1, "lon"] = 500.0
    result = find_emerging(junk, AS_OF)
    assert result.reports_in_window + result.reports_in_baseline == len(frame) - 2
    empty = find_emerging(frame.iloc[:0], AS_OF)
    assert empty.clusters == [] and empty.reports_in_window == 0
