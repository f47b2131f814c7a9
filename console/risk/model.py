"""What the risk panels show, as plain data: ranked assets, inspection job drafts, renewal plans.

Built from the backend's ``get_risk`` and ``get_renewal`` replies; no Qt, so
the ranking, the words and the job a click sends are tested without a screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from console.alarms.history import DEFAULT_SKILLS, JobDraft
from console.dispatch.common import Notifier
from layers.risk.model import band_of, percent

#: Skills of an inspection job for kinds the history panel has no default for.
EXTRA_SKILLS = {"water_main": ["water"]}
#: Inspection priority by probability band (riskier sooner; 1 is most urgent).
PRIORITY_BY_BAND = {"p4": 2, "p3": 2, "p2": 3, "p1": 4, "p0": 4}


@dataclass(frozen=True, slots=True)
class RiskRow:
    """One scored asset as the list shows it."""

    asset_id: int
    rank: int  # position in the list, 1 = riskiest shown
    kind: str
    name: str
    p30: float
    reasons: tuple[str, ...]
    length_m: float | None = None

    @property
    def percent(self) -> str:
        """The probability as text (``"4.2 %"``)."""
        return percent(self.p30)

    @property
    def why(self) -> str:
        """The reasons in one line (``"3 failures since 2012, cast iron, installed 1931"``)."""
        return ", ".join(self.reasons)

    @property
    def label(self) -> str:
        """``Water main 812 (Elm Street)``."""
        kind = self.kind.replace("_", " ").capitalize()
        return f"{kind} {self.asset_id}" + (f" ({self.name})" if self.name else "")


def _row(rank: int, a: Mapping[str, Any]) -> RiskRow:
    return RiskRow(
        asset_id=int(a["asset_id"]),
        rank=rank,
        kind=str(a.get("kind") or "asset"),
        name=str(a.get("name") or ""),
        p30=float(a["p30"]),
        reasons=tuple(str(r) for r in a.get("reasons") or ()),
        length_m=None if a.get("length_m") is None else float(a["length_m"]),
    )


@dataclass
class RiskListModel:
    """The most-at-risk list: the ``get_risk`` rows, optionally one kind, riskiest first."""

    assets: list[dict[str, Any]] = field(default_factory=list)
    kind: str | None = None
    scored_at: str | None = None
    total: int = 0
    changed: Notifier[None] = field(default_factory=Notifier)

    def set_reply(self, result: Mapping[str, Any]) -> None:
        """Take a ``get_risk`` reply."""
        self.assets = [dict(a) for a in result.get("assets") or () if a.get("asset_id") is not None]
        self.scored_at = result.get("scored_at")
        self.total = int(result.get("count") or len(self.assets))
        self.changed.emit(None)

    def set_kind(self, kind: str | None) -> None:
        """Show one kind only (None: every kind)."""
        if kind != self.kind:
            self.kind = kind
            self.changed.emit(None)

    def kinds(self) -> list[str]:
        """The kinds present, alphabetically."""
        return sorted({str(a.get("kind") or "asset") for a in self.assets})

    def rows(self) -> list[RiskRow]:
        """The rows shown, riskiest first (ties: lower id first)."""
        chosen = [a for a in self.assets if self.kind is None or a.get("kind") == self.kind]
        chosen.sort(key=lambda a: (-float(a["p30"]), int(a["asset_id"])))
        return [_row(i, a) for i, a in enumerate(chosen, start=1)]

    def find(self, asset_id: int) -> RiskRow | None:
        """The shown row of an asset, if any."""
        return next((r for r in self.rows() if r.asset_id == asset_id), None)


def inspection_draft(row: RiskRow) -> JobDraft:
    """The inspection job one click creates for a risky asset: title says why, priority by band."""
    skills = list(DEFAULT_SKILLS.get(row.kind, EXTRA_SKILLS.get(row.kind, ["general"])))
    title = f"Inspect {row.label}: {row.percent} risk in 30 days"
    if row.reasons:
        title += f" ({row.reasons[0]})"
    return JobDraft(title[:200], PRIORITY_BY_BAND[band_of(row.p30).key], skills)


@dataclass(frozen=True, slots=True)
class RenewalPlan:
    """A ``get_renewal`` reply in words and rows."""

    budget_m: float
    length_m: float
    network_length_m: float
    expected_failures_30d: float
    pipes: tuple[RiskRow, ...]
    backtest: Mapping[str, Any] | None

    @classmethod
    def from_reply(cls, result: Mapping[str, Any]) -> RenewalPlan:
        """Parse a ``get_renewal`` reply."""
        pipes = tuple(_row(i, p) for i, p in enumerate(result.get("pipes") or (), start=1))
        return cls(
            budget_m=float(result.get("budget_m") or 0.0),
            length_m=float(result.get("length_m") or 0.0),
            network_length_m=float(result.get("network_length_m") or 0.0),
            expected_failures_30d=float(result.get("expected_failures_30d") or 0.0),
            pipes=pipes,
            backtest=result.get("backtest"),
        )

    def summary(self) -> str:
        """One line: what the budget buys now."""
        share = 100 * self.length_m / self.network_length_m if self.network_length_m else 0.0
        return (
            f"{len(self.pipes)} pipes, {self.length_m / 1000:.2f} km of the "
            f"{self.budget_m / 1000:.2f} km budget ({share:.1f} % of the network); "
            f"expected failures avoided in the next 30 days: {self.expected_failures_30d:.2f}"
        )

    def backtest_text(self) -> str:
        """One line: what the same rule would have avoided in the evaluation's test period."""
        b = self.backtest
        if not b:
            return "No backtest: the model has no evaluation period for these pipes yet."
        return (
            f"Test period {b.get('cutoff')} to {b.get('until')}: renewing the "
            f"{b.get('pipes')} riskiest-per-metre pipes at the start "
            f"({float(b.get('length_m') or 0) / 1000:.2f} km) would have avoided "
            f"{b.get('avoided')} of {b.get('failures_in_test')} failures "
            f"({100 * float(b.get('share') or 0):.1f} %)."
        )
