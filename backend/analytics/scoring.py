"""The ``risk score`` step: each asset's probability of failing in the next 30 days, stored.

For every asset source with failure history, a model is fitted on the years
before the history's end and scores every asset there: Kitchener-style water
mains (source ``kitchener-watermains``) with the water-main model of
:mod:`backend.analytics.model`, any other city (the demo city, a simulator
run) with the all-kinds model of :mod:`backend.analytics.asset_model`. The
scores replace the rows of ``asset_risk`` for that source in one transaction,
with one ``risk.scored`` event (topic ``city``) for the audit log.

Water mains also get a backtest: the score a model trained before the
evaluation cutoff gave them, and their failures after it, so the renewal view
can say what a budget would have avoided.

"Now" for a source is the end of its history (its newest event) when that
is earlier than the clock: a model scored three years past its data would
read a quiet network. The service calls :func:`score_all` at start and daily
(:class:`backend.service.risk_schedule.RiskScoringSchedule`).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from backend.analytics.asset_model import backtest_scores, default_windows, fit_and_score
from backend.analytics.assets_history import load_asset_history, sources_with_failures
from backend.analytics.history import DAYS_PER_YEAR, load_history, to_years
from backend.db.models import AssetRisk
from backend.db.outbox import NewEvent, append_events
from backend.importers.watermains import SOURCE as WATERMAIN_SOURCE

log = logging.getLogger(__name__)

#: The kind the renewal view plans for.
RENEWAL_KIND = "water_main"
HORIZON_DAYS = 30
EVENT_TYPE = "risk.scored"
#: Length attributes of a linear asset, by source convention.
LENGTH_KEYS = ("length_m", "Shape__Length", "length")


def from_years(t: float) -> datetime:
    """A fractional year (the models' clock) as an aware UTC datetime."""
    # Whole seconds: float years do not land exactly on midnight again.
    seconds = round((t - 1970.0) * DAYS_PER_YEAR * 86400.0)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def _length(attrs: dict[str, Any]) -> float | None:
    for key in LENGTH_KEYS:
        try:
            value = float(attrs[key])
        except (KeyError, TypeError, ValueError):
            continue
        if value > 0:
            return value
    return None


def _rows_generic(
    engine: Engine, source: str, now: float, scored_at: datetime
) -> list[dict[str, Any]]:
    history = load_asset_history(engine, source)
    at = min(now, history.end)
    _model, scored = fit_and_score(history, at)
    train_from, cutoff, until = default_windows(history)
    is_main = scored.features["kind"] == RENEWAL_KIND
    backtest = None
    if is_main.any():
        try:
            backtest = backtest_scores(history, train_from, cutoff, until)
        except ValueError as exc:  # too little history for a backtest: scores still stand
            log.info("no renewal backtest for %s: %s", source, exc)
    order = scored.p30.rank(ascending=False, method="first").astype(int)
    rows = []
    for asset_id in scored.features.index:
        attrs = history.assets.at[asset_id, "attributes"]
        kind = scored.features.at[asset_id, "kind"]
        row = {
            "asset_id": int(asset_id),
            "p30": float(scored.p30[asset_id]),
            "score": float(np.exp(scored.log_risk[asset_id])),
            "rank": int(order[asset_id]),
            "reasons": scored.reasons[int(asset_id)],
            "length_m": _length(attrs) if kind == RENEWAL_KIND else None,
            "model": "cox-all-kinds",
            "as_of": from_years(at),
            "scored_at": scored_at,
            "backtest": None,
        }
        if backtest is not None and kind == RENEWAL_KIND and asset_id in backtest.index:
            row["backtest"] = {
                "cutoff": from_years(cutoff).date().isoformat(),
                "until": from_years(until).date().isoformat(),
                "score": float(backtest.at[asset_id, "score"]),
                "failures": int(backtest.at[asset_id, "failures"]),
            }
        rows.append(row)
    return rows


def _rows_watermains(
    engine: Engine, source: str, now: float, scored_at: datetime
) -> list[dict[str, Any]]:
    from backend.analytics.features import features_at, outcomes, training_frame
    from backend.analytics.model import (
        DEFAULT_CUTOFF,
        DEFAULT_TRAIN_FROM,
        DEFAULT_UNTIL,
        FailureModel,
        explain,
    )

    history = load_history(engine, source=source)
    end = float(history.breaks["t"].max()) if len(history.breaks) else now
    at = min(now, end)
    model = FailureModel().fit(training_frame(history, at - 6.0, at))
    feats = features_at(history, at)
    scores = explain(model, feats, history.pipes["source_id"])
    p30 = model.probability_within(feats, HORIZON_DAYS / DAYS_PER_YEAR)
    cut, until = to_years(DEFAULT_CUTOFF), min(to_years(DEFAULT_UNTIL), end)
    backtest: pd.DataFrame | None = None
    if cut < until:
        old = FailureModel().fit(training_frame(history, to_years(DEFAULT_TRAIN_FROM), cut))
        then = features_at(history, cut)
        backtest = outcomes(history, then.index, cut, until)[["failures"]].copy()
        backtest["score"] = np.exp(old.log_risk(then))
    rows = []
    for s in scores:
        row = {
            "asset_id": s.asset_id,
            "p30": float(p30[s.asset_id]),
            "score": s.score,
            "rank": s.rank,
            "reasons": s.reasons,
            "length_m": s.length_m,
            "model": "cox-water-mains",
            "as_of": from_years(at),
            "scored_at": scored_at,
            "backtest": None,
        }
        if backtest is not None and s.asset_id in backtest.index:
            row["backtest"] = {
                "cutoff": DEFAULT_CUTOFF.isoformat(),
                "until": from_years(until).date().isoformat(),
                "score": float(backtest.at[s.asset_id, "score"]),
                "failures": int(backtest.at[s.asset_id, "failures"]),
            }
        rows.append(row)
    return rows


def score_source(engine: Engine, source: str, now: datetime | None = None) -> dict[str, Any]:
    """Fit, score and store one source's assets; returns a summary (source, assets, as_of)."""
    scored_at = (now or datetime.now(UTC)).astimezone(UTC)
    t_now = to_years(scored_at)
    build = _rows_watermains if source == WATERMAIN_SOURCE else _rows_generic
    rows = build(engine, source, t_now, scored_at)
    summary = {
        "source": source,
        "assets": len(rows),
        "as_of": rows[0]["as_of"].isoformat() if rows else None,
        "mean_p30": round(float(np.mean([r["p30"] for r in rows])), 5) if rows else None,
    }
    with Session(engine) as session, session.begin():
        from backend.db.models import Asset

        ids = select(Asset.id).where(Asset.source == source)
        session.execute(delete(AssetRisk).where(AssetRisk.asset_id.in_(ids)))
        if rows:
            session.execute(insert(AssetRisk), rows)
        append_events(
            session,
            [
                NewEvent(
                    type=EVENT_TYPE,
                    topic="city",
                    body={**summary, "scored_at": scored_at.isoformat()},
                    actor="risk-model",
                    ts=scored_at,
                )
            ],
        )
    return summary


def score_all(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    """Score every source that has failure history (one transaction each); summaries back.

    A source whose model cannot be fitted (too little history) is logged and
    skipped; its earlier scores stay.
    """
    out = []
    for source in sorted(sources_with_failures(engine)):
        try:
            out.append(score_source(engine, source, now))
        except ValueError as exc:
            log.warning("risk scores for %s not updated: %s", source, exc)
            out.append({"source": source, "assets": 0, "error": str(exc)})
    return out


def date_of(t: float) -> date:
    """A fractional year as a calendar date."""
    return from_years(t).date()
