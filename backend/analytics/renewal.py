"""Choosing pipes to renew within a length budget (pure: no database, no model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RenewalCandidate:
    """A pipe that could be renewed: its risk (any score that adds up per pipe) and length."""

    asset_id: int
    risk: float
    length_m: float


@dataclass(frozen=True, slots=True)
class RenewalChoice:
    """The pipes chosen, in the order taken, and the metres they use."""

    asset_ids: list[int]
    length_m: float
    budget_m: float


def plan_renewal(candidates: Sequence[RenewalCandidate], budget_m: float) -> RenewalChoice:
    """Take pipes by risk per metre (most avoided failures per metre renewed) while they fit.

    A pipe that would overrun the budget is passed over; shorter ones further
    down may still fill what is left. Ties go to the higher risk, then the
    lower id, so a plan is reproducible.
    """
    chosen: list[int] = []
    used = 0.0
    ranked = sorted(
        (c for c in candidates if c.length_m > 0),
        key=lambda c: (-c.risk / c.length_m, -c.risk, c.asset_id),
    )
    for c in ranked:
        if used + c.length_m <= budget_m:
            chosen.append(c.asset_id)
            used += c.length_m
    return RenewalChoice(chosen, used, budget_m)
