"""Features of every asset as known at an origin date, for any mix of asset kinds.

The same rule as :mod:`backend.analytics.features`: a feature at origin ``t``
reads only events strictly before ``t``; outcomes read only what happens from
``t`` on. Attributes are taken as known from installation (kind, material,
lamp type, controller model, size...).

What a maintenance engineer would look at, per asset:

* its kind, and per kind: the time since its last renewal (install or
  repair; wear-out makes the hazard grow with it), its age when last renewed
  (old assets come back from repair weaker), and its failures so far;
* its failure rate over its life (a frail asset keeps failing);
* its latest inspection grade, when the inspection came after the last
  renewal (a grade from before a repair says nothing about the repaired part);
* whether it is down (failed, not yet repaired), and the alarms raised on it in
  the last 90 days;
* its attributes: for each kind, short categorical attributes (material, lamp
  type, controller...) as indicators against the kind's most common value, and
  positive numeric ones (length, diameter, rating...) as logs against the
  kind's median.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backend.analytics.assets_history import AssetHistory

#: A categorical attribute with more values than this (street names...) is not a covariate.
MAX_CATEGORIES = 8
#: Failures counted per asset are capped here: beyond it, more says little more.
MAX_FAILURES = 20
ALARM_WINDOW_YEARS = 90 / 365.25
#: Shortest time since renewal the log takes (about 2 weeks), so a fresh repair is not -inf.
MIN_SINCE_RENEWAL = 0.04


def slug(text: str) -> str:
    """A column-name-safe form of a kind, key or value."""
    return "".join(ch if ch.isalnum() else "_" for ch in str(text).lower()).strip("_")


@dataclass(slots=True)
class AttributeCovariates:
    """The static attribute columns of a history, and what each one means in words."""

    frame: pd.DataFrame
    #: Column -> (kind, attribute key, value); value None for a numeric (log) column.
    meaning: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)


def attribute_covariates(assets: pd.DataFrame) -> AttributeCovariates:
    """Indicator and log columns from each kind's attributes (see the module docstring)."""
    columns: dict[str, pd.Series] = {}
    meaning: dict[str, tuple[str, str, str | None]] = {}
    for kind, group in assets.groupby("kind", sort=True):
        attrs = pd.DataFrame(list(group["attributes"]), index=group.index)
        for key in sorted(attrs.columns, key=str):
            values = attrs[key]
            numeric = pd.to_numeric(values, errors="coerce")
            is_number = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
            if is_number.all() and (numeric > 0).all() and numeric.nunique() > 1:
                name = f"num_{slug(kind)}_{slug(key)}"
                col = np.log(numeric / float(numeric.median()))
                columns[name] = col.reindex(assets.index, fill_value=0.0)
                meaning[name] = (str(kind), str(key), None)
                continue
            texts = values.map(lambda v: v if isinstance(v, str) else None)
            if texts.isna().any():
                continue
            counts = texts.value_counts()
            if not 2 <= len(counts) <= MAX_CATEGORIES:
                continue
            for value in counts.index[1:]:  # the commonest value is the reference
                name = f"cat_{slug(kind)}_{slug(key)}_{slug(value)}"
                col = (texts == value).astype(float)
                columns[name] = col.reindex(assets.index, fill_value=0.0)
                meaning[name] = (str(kind), str(key), str(value))
    frame = (
        pd.DataFrame(columns, index=assets.index) if columns else pd.DataFrame(index=assets.index)
    )
    return AttributeCovariates(frame.astype(float), meaning)


def kinds_of(history: AssetHistory) -> list[str]:
    """The history's asset kinds, commonest first (the first is the reference kind)."""
    counts = history.assets["kind"].value_counts()
    return sorted(counts.index, key=lambda k: (-counts[k], k))


def asset_features_at(
    history: AssetHistory, origin: float, static: AttributeCovariates
) -> pd.DataFrame:
    """One row per asset installed before ``origin`` (a fractional year), index asset id.

    Model columns are listed by :func:`model_columns`; readable columns kept for
    reasons: kind, installed, age, past_failures, first_failure, last_repair, grade_raw,
    alarms_90d.
    """
    a = history.assets[history.assets["installed"] < origin]
    ev = history.events
    past = ev[(ev["t"] < origin) & ev["asset_id"].isin(a.index)]
    out = pd.DataFrame(index=a.index)
    out["kind"] = a["kind"]
    out["installed"] = a["installed"]
    out["age"] = origin - a["installed"]

    fails = past[past["kind"] == "failure"].groupby("asset_id")["t"]
    n_fail = fails.size().reindex(out.index, fill_value=0).astype(float)
    last_fail = fails.max().reindex(out.index)
    last_repair = past[past["kind"] == "repair"].groupby("asset_id")["t"].max().reindex(out.index)
    renewal = np.fmax(a["installed"].to_numpy(), last_repair.fillna(-np.inf).to_numpy())
    out["past_failures"] = n_fail
    out["first_failure"] = fails.min().reindex(out.index)
    out["last_repair"] = last_repair
    out["down"] = (last_fail.fillna(-np.inf).to_numpy() > renewal).astype(float)
    since = np.clip(origin - renewal, MIN_SINCE_RENEWAL, None)
    age_at_renewal = renewal - a["installed"].to_numpy()

    insp = past[past["kind"] == "inspection"].dropna(subset=["grade"])
    latest = insp.groupby("asset_id").tail(1).set_index("asset_id")  # events are time-sorted
    grade_t = latest["t"].reindex(out.index)
    grade = latest["grade"].reindex(out.index)
    fresh = grade_t.to_numpy() >= renewal
    out["grade_raw"] = grade.where(fresh)
    out["grade"] = ((out["grade_raw"] - 1.0) / 4.0).fillna(0.0)
    out["graded"] = out["grade_raw"].notna().astype(float)

    al = history.alarms
    recent = al[(al["t"] < origin) & (al["t"] >= origin - ALARM_WINDOW_YEARS)]
    out["alarms_90d"] = recent.groupby("asset_id").size().reindex(out.index, fill_value=0)
    out["log_alarms_90d"] = np.log1p(out["alarms_90d"].astype(float))
    # Failures per decade of life: the visible trace of a frailty no attribute shows.
    out["fail_rate"] = np.log1p(10.0 * n_fail / np.clip(out["age"], 1.0, None))

    kinds = kinds_of(history)
    capped = np.minimum(n_fail, MAX_FAILURES)
    for k, kind in enumerate(kinds):
        is_kind = (out["kind"] == kind).to_numpy(dtype=float)
        s = slug(kind)
        if k > 0:
            out[f"kind_{s}"] = is_kind
        out[f"since_renewal_{s}"] = np.log(since) * is_kind
        out[f"renewed_age_{s}"] = age_at_renewal / 10.0 * is_kind
        out[f"failures_{s}"] = capped * is_kind
    return out.join(static.frame.reindex(out.index))


def model_columns(history: AssetHistory, static: AttributeCovariates) -> list[str]:
    """Every covariate the model may use for this history (constant ones drop out at fit)."""
    cols = ["grade", "graded", "down", "log_alarms_90d", "fail_rate"]
    for k, kind in enumerate(kinds_of(history)):
        s = slug(kind)
        if k > 0:
            cols.append(f"kind_{s}")
        cols += [f"since_renewal_{s}", f"renewed_age_{s}", f"failures_{s}"]
    return cols + list(static.frame.columns)


def asset_outcomes(
    history: AssetHistory, index: pd.Index, start: float, end: float
) -> pd.DataFrame:
    """Each asset's time to its first failure in ``[start, end)``, censored at ``end``."""
    ev = history.events
    window = ev[
        (ev["kind"] == "failure")
        & (ev["t"] >= start)
        & (ev["t"] < end)
        & ev["asset_id"].isin(index)
    ]
    first = window.groupby("asset_id")["t"].min().reindex(index)
    count = window.groupby("asset_id").size().reindex(index, fill_value=0)
    duration = (first - start).fillna(end - start).clip(lower=1.0 / 365.25)
    return pd.DataFrame(
        {"duration": duration, "event": first.notna().astype(int), "failures": count}, index=index
    )


def asset_training_frame(
    history: AssetHistory,
    static: AttributeCovariates,
    train_from: float,
    cutoff: float,
    horizon: float = 1.0,
) -> pd.DataFrame:
    """Stacked yearly origins in ``[train_from, cutoff)``, each labelled up to ``horizon``
    years on or the cutoff, whichever is first (no training label reaches past the cutoff)."""
    frames = []
    origin = train_from
    while origin < cutoff - 1e-9:
        feats = asset_features_at(history, origin, static)
        frame = feats.join(
            asset_outcomes(history, feats.index, origin, min(origin + horizon, cutoff))
        )
        frame["origin"] = origin
        frames.append(frame)
        origin += 1.0
    if not frames:
        raise ValueError("the training window holds no origin: --train-from must precede --cutoff")
    return pd.concat(frames)


def years_text(t: float) -> str:
    """A fractional year as its calendar year (``"2012"``)."""
    return str(math.floor(t))
