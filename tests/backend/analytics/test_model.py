"""The renewal ranking and the reasons, on hand-made scores (no database needed)."""

from __future__ import annotations

import pandas as pd

from backend.analytics.model import AssetRisk, _reason, select_renewal


def risk(asset_id: int, score: float, rank: int, length_m: float) -> AssetRisk:
    """One scored pipe."""
    return AssetRisk(
        asset_id=asset_id, source_id=str(asset_id), score=score, rank=rank, length_m=length_m
    )


def test_renewal_buys_most_risk_per_metre() -> None:
    # The long main is riskiest as a whole, the short ones per metre.
    scores = [risk(1, 10.0, 1, 500.0), risk(2, 4.0, 2, 50.0), risk(3, 3.0, 3, 50.0)]
    plan = select_renewal(scores, budget_m=500.0)
    assert plan.asset_ids == [2, 3]  # 7 units of hazard in 100 m beat 10 in 500 m
    assert plan.length_m == 100.0
    by_hazard = select_renewal(scores, budget_m=500.0, per_metre=False)
    assert by_hazard.asset_ids == [1]


def test_renewal_skips_what_overruns_the_budget() -> None:
    scores = [risk(1, 9.0, 1, 30.0), risk(2, 8.0, 2, 100.0), risk(3, 1.0, 3, 60.0)]
    plan = select_renewal(scores, budget_m=100.0)
    assert plan.asset_ids == [1, 3]  # the 100 m main would overrun; the 60 m one fits
    assert plan.length_m <= plan.budget_m


def test_reasons_name_street_and_neighbourhood() -> None:
    row = pd.Series({"near": 0.0, "near_all": 4.0, "segment_breaks_5y": 1.0})
    assert _reason("near", row) == "4 breaks within 200 m before"
    assert _reason("segment", row) == "1 other break on the street in 5 years"
    quiet = pd.Series({"near": 0.0, "near_all": 0.0, "segment_breaks_5y": 0.0})
    assert _reason("near", quiet) is None and _reason("segment", quiet) is None
