"""Read-only risk commands: the most-at-risk assets, and a water-main renewal plan for a budget.

Both read the scores :mod:`backend.analytics.scoring` stores in
``asset_risk``; they never fit a model, so they answer in milliseconds. An
asset never scored has no risk and is left out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.analytics.renewal import RenewalCandidate, plan_renewal
from backend.analytics.scoring import RENEWAL_KIND
from backend.db.models import Asset, AssetRisk
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg
from backend.service.entities import wire_time

MAX_RISK_LIMIT = 5000
#: The longest budget a renewal plan takes (1,000 km: more than a city's whole network).
MAX_BUDGET_M = 1_000_000.0


def _scored(
    ctx: CommandContext, kind: str | None, source: str | None, limit: int | None = None
) -> list[tuple[Any, ...]]:
    """(asset_id, kind, name, source, source_id, lon, lat, status, risk map), riskiest first."""
    query = (
        select(
            Asset.id,
            Asset.kind,
            Asset.name,
            Asset.source,
            Asset.source_id,
            Asset.lon,
            Asset.lat,
            Asset.status,
            AssetRisk,
        )
        .join(AssetRisk, AssetRisk.asset_id == Asset.id)
        .order_by(AssetRisk.p30.desc(), Asset.id)
    )
    if kind is not None:
        query = query.where(Asset.kind == kind)
    if source is not None:
        query = query.where(Asset.source == source)
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for *head, r in ctx.session.execute(query):
        risk = {
            "p30": r.p30,
            "score": r.score,
            "rank": r.rank,
            "reasons": list(r.reasons or []),
            "length_m": r.length_m,
            "model": r.model,
            "as_of": wire_time(r.as_of),
            "scored_at": wire_time(r.scored_at),
            "backtest": r.backtest,
        }
        rows.append((*head, risk))
    return rows


def _count(ctx: CommandContext, kind: str | None, source: str | None) -> int:
    query = select(func.count()).select_from(AssetRisk).join(Asset, Asset.id == AssetRisk.asset_id)
    if kind is not None:
        query = query.where(Asset.kind == kind)
    if source is not None:
        query = query.where(Asset.source == source)
    return int(ctx.session.scalar(query) or 0)


def get_risk(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Assets by their probability of failing in the next 30 days, highest first.

    Args (optional): ``kind`` (e.g. ``"water_main"``), ``source``, ``limit``
    (default 100, at most 5000). Reply: ``assets`` (asset_id, kind, name,
    source, source_id, lon, lat, status, p30, score, rank, reasons, length_m,
    as_of, scored_at), ``count`` (every scored asset that matches), ``scored_at``
    (the newest score listed).
    """
    kind = arg(args, "kind", str, required=False)
    source = arg(args, "source", str, required=False)
    limit = arg(args, "limit", int, required=False, default=100)
    if not 1 <= limit <= MAX_RISK_LIMIT:
        raise CommandError("bad_args", f"limit must be 1..{MAX_RISK_LIMIT}", {"argument": "limit"})
    rows = _scored(ctx, kind, source, limit)
    assets = [
        {
            "asset_id": aid,
            "kind": k,
            "name": name,
            "source": src,
            "source_id": sid,
            "lon": lon,
            "lat": lat,
            "status": status,
            "p30": risk["p30"],
            "score": risk["score"],
            "rank": risk["rank"],
            "reasons": risk["reasons"],
            "length_m": risk["length_m"],
            "as_of": risk["as_of"],
            "scored_at": risk["scored_at"],
        }
        for aid, k, name, src, sid, lon, lat, status, risk in rows
    ]
    newest = max((a["scored_at"] for a in assets), default=None)
    return {"assets": assets, "count": _count(ctx, kind, source), "scored_at": newest}


def get_renewal(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """The water mains to renew within a length budget, and what that would have avoided.

    Args: ``budget_m`` (metres of main); optional ``source``. Pipes go in order
    of expected failures per metre (30-day probability / length) while they
    fit. ``backtest`` replays the same rule on the scores the model gave at
    its evaluation cutoff and counts the failures those pipes then had in the
    test period (``avoided``), against all test failures.
    """
    budget = arg(args, "budget_m", float)
    if not 0 < budget <= MAX_BUDGET_M:
        raise CommandError(
            "bad_args", f"budget_m must be in (0, {MAX_BUDGET_M:.0f}]", {"argument": "budget_m"}
        )
    source = arg(args, "source", str, required=False)
    rows = _scored(ctx, RENEWAL_KIND, source)
    now = [
        RenewalCandidate(r[0], float(r[8]["p30"]), float(r[8].get("length_m") or 0.0))
        for r in rows
        if float(r[8].get("length_m") or 0.0) > 0
    ]
    plan = plan_renewal(now, budget)
    by_id = {r[0]: r for r in rows}
    pipes = []
    for asset_id in plan.asset_ids:
        aid, kind, name, src, sid, lon, lat, status, risk = by_id[asset_id]
        pipes.append(
            {
                "asset_id": aid,
                "kind": kind,
                "name": name,
                "source": src,
                "source_id": sid,
                "lon": lon,
                "lat": lat,
                "status": status,
                "length_m": float(risk["length_m"]),
                "p30": float(risk["p30"]),
                "reasons": list(risk.get("reasons") or []),
            }
        )
    return {
        "budget_m": budget,
        "length_m": round(plan.length_m, 1),
        "network_length_m": round(sum(c.length_m for c in now), 1),
        "expected_failures_30d": round(sum(p["p30"] for p in pipes), 4),
        "pipes": pipes,
        "backtest": _backtest(rows, budget),
    }


def _backtest(rows: list[tuple[Any, ...]], budget: float) -> dict[str, Any] | None:
    """The same budget at the evaluation cutoff: failures its pipes had in the test period."""
    tested = [(r[0], r[8]) for r in rows if isinstance(r[8].get("backtest"), dict)]
    if not tested:
        return None
    first = tested[0][1]["backtest"]
    candidates = [
        RenewalCandidate(aid, float(risk["backtest"]["score"]), float(risk.get("length_m") or 0.0))
        for aid, risk in tested
        if float(risk.get("length_m") or 0.0) > 0
    ]
    plan = plan_renewal(candidates, budget)
    failures = {aid: int(risk["backtest"].get("failures") or 0) for aid, risk in tested}
    total = sum(failures.values())
    avoided = sum(failures[a] for a in plan.asset_ids)
    return {
        "cutoff": first.get("cutoff"),
        "until": first.get("until"),
        "pipes": len(plan.asset_ids),
        "length_m": round(plan.length_m, 1),
        "failures_in_test": total,
        "avoided": avoided,
        "share": round(avoided / total, 4) if total else 0.0,
    }
