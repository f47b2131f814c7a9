"""Failure risk for every asset kind: a penalised Cox model, a time-split evaluation, reasons.

The same library and reasoning as the water-main model
(:mod:`backend.analytics.model`: lifelines' ``CoxPHFitter``, coefficients
that read as hazard ratios so each score splits into reasons), over the
covariates of :mod:`backend.analytics.asset_features`. One model covers all
kinds: the kind indicators carry each kind's base rate, and the per-kind
time-since-renewal terms let wear-out differ by kind (a Weibull hazard is
linear in log time), so a pump and a water main are ranked on one scale.

:func:`evaluate_assets` trains on yearly origins in ``[train_from, cutoff)``
and judges the ranking at the cutoff on the failures in ``[cutoff, until)``,
with age alone as the baseline in the same run. :func:`probability_within`
turns a fitted model into the probability of a failure within a horizon
(30 days for the console) from the Breslow baseline hazard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from lifelines.utils import concordance_index

from backend.analytics.asset_features import (
    AttributeCovariates,
    asset_features_at,
    asset_outcomes,
    asset_training_frame,
    attribute_covariates,
    model_columns,
    years_text,
)
from backend.analytics.assets_history import AssetHistory
from backend.analytics.cox import CoxModel

PENALIZER = 0.001
FIT_OPTIONS = {"step_size": 0.5}
#: Default windows, counted back from the end of the history (its newest event).
TEST_YEARS = 2.0
TRAIN_YEARS = 10.0
MIN_KIND_FAILURES = 3
#: Unit suffixes dropped from attribute names in reasons ("rated_flow_lps" -> "rated flow").
UNIT_WORDS = frozenset({"m", "mm", "km", "w", "kw", "kv", "lps", "pct", "years"})
GRADE_WORDS = {1: "as new", 2: "good", 3: "fair", 4: "worn", 5: "poor"}


def _group(column: str) -> str:
    """The reason group a covariate belongs to."""
    if column.startswith(("cat_", "num_")):
        return "attributes"
    if column.startswith(("failures_", "fail_rate")):
        return "history"
    if column.startswith(("since_renewal_", "renewed_age_")):
        return "age"
    if column.startswith("grade"):
        return "inspection"
    if column == "log_alarms_90d":
        return "alarms"
    if column == "down":
        return "down"
    return "kind"


class AssetFailureModel(CoxModel):
    """A fitted Cox model over the covariates of one history (constant columns dropped)."""

    fit_options = FIT_OPTIONS

    def __init__(self, penalizer: float = PENALIZER) -> None:
        super().__init__(penalizer)

    def fit(self, frame: pd.DataFrame, candidates: list[str]) -> AssetFailureModel:
        """Fit on an :func:`asset_training_frame` over the ``candidates`` columns."""
        self.fit_columns(frame, candidates)
        return self

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each reason group's share of the log risk, against the training average."""
        parts = (frame[self.columns] - self.means) * self.coefficients[self.columns]
        groups: dict[str, list[str]] = {}
        for c in self.columns:
            groups.setdefault(_group(c), []).append(c)
        return pd.DataFrame({g: parts[cols].sum(axis=1) for g, cols in groups.items()})


def _attribute_words(
    row: pd.Series, model: AssetFailureModel, static: AttributeCovariates
) -> str | None:
    """The attribute that raises this asset's risk most, in words ("cast iron", "lamp type HPS")."""
    best, best_value = None, 0.0
    for col, (_kind, key, value) in static.meaning.items():
        if col not in model.columns or row[col] == 0:
            continue
        effect = float((row[col] - model.means[col]) * model.coefficients[col])
        if effect > best_value:
            best, best_value = (key, value, row[col]), effect
    if best is None:
        return None
    key, value, x = best
    if value is None:
        words = [w for w in key.lower().split("_") if w not in UNIT_WORDS]
        return f"{'high' if x > 0 else 'low'} {' '.join(words) or key}"
    text = value.replace("_", " ")
    return (
        text
        if key in ("material", "type", "model", "controller")
        else f"{key.replace('_', ' ')} {text}"
    )


def reasons(
    row: pd.Series,
    parts: pd.Series,
    model: AssetFailureModel,
    static: AttributeCovariates,
    top: int = 3,
) -> list[str]:
    """The main reasons an asset scores high, in a control room's words."""
    words: list[str] = []
    for group, value in parts.sort_values(ascending=False).items():
        if value <= 0 or len(words) >= top:
            break
        text: str | None = None
        if group == "history" and row["past_failures"] > 0:
            n = int(row["past_failures"])
            text = f"{n} failure{'s' if n != 1 else ''} since {years_text(row['first_failure'])}"
        elif group == "age":
            if pd.notna(row["last_repair"]):
                installed, repaired = years_text(row["installed"]), years_text(row["last_repair"])
                text = f"installed {installed}, repaired {repaired}"
            else:
                text = f"installed {years_text(row['installed'])}"
        elif group == "attributes":
            text = _attribute_words(row, model, static)
        elif group == "inspection" and pd.notna(row["grade_raw"]):
            g = int(row["grade_raw"])
            text = f"last inspection grade {g} ({GRADE_WORDS.get(g, '?')})"
        elif group == "alarms" and row["alarms_90d"] > 0:
            text = f"{int(row['alarms_90d'])} alarms in 90 days"
        elif group == "down":
            text = "failed, not yet repaired"
        elif group == "kind":
            text = str(row["kind"]).replace("_", " ")
        if text and text not in words:
            words.append(text)
    return words or [f"installed {years_text(row['installed'])}"]


@dataclass(slots=True)
class ScoredAssets:
    """A fitted model's view of every asset at one origin."""

    origin: float
    features: pd.DataFrame
    log_risk: pd.Series
    p30: pd.Series
    reasons: dict[int, list[str]] = field(default_factory=dict)


def fit_and_score(
    history: AssetHistory, origin: float, train_years: float = TRAIN_YEARS, explain: bool = True
) -> tuple[AssetFailureModel, ScoredAssets]:
    """Fit on the ``train_years`` before ``origin``, then score every asset at ``origin``."""
    static = attribute_covariates(history.assets)
    frame = asset_training_frame(history, static, origin - train_years, origin)
    model = AssetFailureModel().fit(frame, model_columns(history, static))
    feats = asset_features_at(history, origin, static)
    log_risk = model.log_risk(feats)
    scored = ScoredAssets(origin, feats, log_risk, model.probability_within(feats, 30 / 365.25))
    if explain:
        parts = model.contributions(feats)
        for asset_id in feats.index:
            scored.reasons[int(asset_id)] = reasons(
                feats.loc[asset_id], parts.loc[asset_id], model, static
            )
    return model, scored


def _c_index(test: pd.DataFrame, risk: pd.Series) -> float:
    return float(concordance_index(test["duration"], -risk, test["event"]))


def default_windows(history: AssetHistory) -> tuple[float, float, float]:
    """(train_from, cutoff, until) in years: the last two years tested, five before trained."""
    until = history.end
    cutoff = until - TEST_YEARS
    return cutoff - TRAIN_YEARS, cutoff, until


def evaluate_assets(
    history: AssetHistory, train_from: float, cutoff: float, until: float
) -> dict[str, Any]:
    """Train on ``[train_from, cutoff)``, judge on failures in ``[cutoff, until)``."""
    if not train_from < cutoff < until:
        raise ValueError("dates must satisfy train_from < cutoff < until")
    static = attribute_covariates(history.assets)
    frame = asset_training_frame(history, static, train_from, cutoff)
    model = AssetFailureModel().fit(frame, model_columns(history, static))
    feats = asset_features_at(history, cutoff, static)
    test = feats.join(asset_outcomes(history, feats.index, cutoff, until))
    if test["event"].sum() == 0:
        raise ValueError("no failure in the test window: nothing to score against")
    risk = model.log_risk(test)
    by_kind = {}
    for kind, group in test.groupby("kind"):
        failing = int(group["event"].sum())
        if MIN_KIND_FAILURES <= failing < len(group):
            by_kind[str(kind)] = {
                "c_index": round(_c_index(group, risk[group.index]), 4),
                "baseline_c_index": round(_c_index(group, group["age"]), 4),
                "assets": len(group),
            }
    return {
        "c_index": round(_c_index(test, risk), 4),
        "baseline_c_index": round(_c_index(test, test["age"]), 4),
        "assets": len(test),
        "failures_in_test": int(test["failures"].sum()),
        "assets_failed_in_test": int(test["event"].sum()),
        "c_index_by_kind": dict(sorted(by_kind.items())),
        "covariates": len(model.columns),
        "training_rows": len(frame),
        "model": "lifelines CoxPHFitter (penalised), all asset kinds",
        "source": history.source,
    }


def backtest_scores(
    history: AssetHistory, train_from: float, cutoff: float, until: float
) -> pd.DataFrame:
    """Scores at ``cutoff`` from a model trained before it, and the failures after it.

    Columns: p (probability of failing within the test window's first year... as
    relative score: the hazard over ``until - cutoff`` years), failures.
    """
    static = attribute_covariates(history.assets)
    frame = asset_training_frame(history, static, train_from, cutoff)
    model = AssetFailureModel().fit(frame, model_columns(history, static))
    feats = asset_features_at(history, cutoff, static)
    out = asset_outcomes(history, feats.index, cutoff, until)[["failures"]].copy()
    out["score"] = model.probability_within(feats, 1.0)
    return out
