"""The risk panels' pure models: ranking, kind filter, the inspection job draft, plan texts."""

from __future__ import annotations

from console.risk.model import RenewalPlan, RiskListModel, inspection_draft


def _reply() -> dict:
    return {
        "count": 3,
        "scored_at": "2026-11-27T03:00:00.000000Z",
        "assets": [
            {"asset_id": 5, "kind": "pump", "name": "P05", "p30": 0.02, "reasons": ["pump"]},
            {
                "asset_id": 9,
                "kind": "water_main",
                "name": "Elm St",
                "p30": 0.12,
                "reasons": ["3 failures since 2012", "cast iron"],
                "length_m": 80.0,
            },
            {"asset_id": 2, "kind": "pump", "name": None, "p30": 0.02, "reasons": []},
        ],
    }


def test_rows_rank_riskiest_first_and_filter_by_kind() -> None:
    m = RiskListModel()
    seen: list[None] = []
    m.changed.connect(seen.append)
    m.set_reply(_reply())
    assert [(r.rank, r.asset_id) for r in m.rows()] == [(1, 9), (2, 2), (3, 5)]
    assert m.kinds() == ["pump", "water_main"] and m.total == 3
    m.set_kind("pump")
    assert [r.asset_id for r in m.rows()] == [2, 5] and len(seen) == 2
    assert m.find(9) is None and m.find(5) is not None


def test_inspection_draft_says_why_and_orders_by_risk() -> None:
    m = RiskListModel()
    m.set_reply(_reply())
    main = m.find(9)
    assert main is not None and main.why == "3 failures since 2012, cast iron"
    draft = inspection_draft(main)
    assert (
        draft.title == "Inspect Water main 9 (Elm St): 12 % risk in 30 days (3 failures since 2012)"
    )
    assert draft.priority == 2 and draft.skills == ["water"]
    pump = m.find(2)
    assert pump is not None
    assert inspection_draft(pump).priority == 3 and inspection_draft(pump).skills == [
        "water",
        "mechanical",
    ]


def test_renewal_plan_in_words() -> None:
    plan = RenewalPlan.from_reply(
        {
            "budget_m": 2000.0,
            "length_m": 1950.0,
            "network_length_m": 39000.0,
            "expected_failures_30d": 0.31,
            "pipes": [{"asset_id": 9, "kind": "water_main", "p30": 0.12, "length_m": 80.0}],
            "backtest": {
                "cutoff": "2023-01-01",
                "until": "2025-01-01",
                "pipes": 20,
                "length_m": 1990.0,
                "failures_in_test": 60,
                "avoided": 19,
                "share": 0.3167,
            },
        }
    )
    assert plan.summary().startswith(
        "1 pipes, 1.95 km of the 2.00 km budget (5.0 % of the network)"
    )
    assert "would have avoided 19 of 60 failures (31.7 %)" in plan.backtest_text()
    assert "No backtest" in RenewalPlan.from_reply({"budget_m": 1.0}).backtest_text()
