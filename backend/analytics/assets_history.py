"""Any city's assets and their maintenance history, read into plain tables for the risk model.

Where :mod:`backend.analytics.history` reads one water network with its
source's own column names, this reads every asset kind of a source: the
inventory (kind, install date, attributes), the failures, repairs and
inspections (with their condition grade) from ``asset_events``, and the alarms
raised on each asset. Times are fractional years (:func:`to_years`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from backend.analytics.history import to_years
from backend.db.models import Alarm, Asset, AssetEvent

#: The event kinds the model reads.
HISTORY_KINDS = ("failure", "repair", "inspection")
#: Attribute keys an inspection's condition grade may sit under (1 as new .. 5 poor).
GRADE_KEYS = ("condition", "grade", "condition_grade")


@dataclass(slots=True)
class AssetHistory:
    """One source's assets and events.

    ``assets``: index asset id; columns source_id, kind, name, installed (year),
    attributes (dict). ``events``: asset_id, kind, t, grade (inspections; NaN
    otherwise). ``alarms``: asset_id, t, severity. ``end``: the newest time
    the history knows (the data's "now").
    """

    source: str
    assets: pd.DataFrame
    events: pd.DataFrame
    alarms: pd.DataFrame
    end: float


def _grade(attrs: Any) -> float:
    if isinstance(attrs, dict):
        for key in GRADE_KEYS:
            value = attrs.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return float("nan")


def sources_with_failures(engine: Engine) -> dict[str, int]:
    """Each asset source that has failure events, with its number of failures."""
    with Session(engine) as s:
        rows = s.execute(
            select(Asset.source, func.count())
            .join(AssetEvent, AssetEvent.asset_id == Asset.id)
            .where(AssetEvent.kind == "failure")
            .group_by(Asset.source)
        ).all()
    return {str(src): int(n) for src, n in rows}


def load_asset_history(engine_or_session: Engine | Session, source: str) -> AssetHistory:
    """Read the assets of ``source`` (with an install date) and their history."""
    if isinstance(engine_or_session, Session):
        return _load(engine_or_session, source)
    with Session(engine_or_session) as session:
        return _load(session, source)


def _load(session: Session, source: str) -> AssetHistory:
    rows = session.execute(
        select(
            Asset.id, Asset.source_id, Asset.kind, Asset.name, Asset.install_date, Asset.attributes
        )
        .where(Asset.source == source, Asset.install_date.is_not(None))
        .order_by(Asset.id)
    ).all()
    assets = pd.DataFrame(
        [
            {
                "asset_id": r.id,
                "source_id": r.source_id,
                "kind": r.kind,
                "name": r.name,
                "installed": to_years(r.install_date),
                "attributes": dict(r.attributes or {}),
            }
            for r in rows
        ],
        columns=["asset_id", "source_id", "kind", "name", "installed", "attributes"],
    ).set_index("asset_id")
    ev = session.execute(
        select(AssetEvent.asset_id, AssetEvent.kind, AssetEvent.ts, AssetEvent.attributes)
        .join(Asset, Asset.id == AssetEvent.asset_id)
        .where(Asset.source == source, AssetEvent.kind.in_(HISTORY_KINDS))
    ).all()
    events = pd.DataFrame(
        {
            "asset_id": np.array([e.asset_id for e in ev], dtype=np.int64),
            "kind": [e.kind for e in ev],
            "t": np.array([to_years(e.ts) for e in ev], dtype=float),
            "grade": np.array(
                [_grade(e.attributes) if e.kind == "inspection" else np.nan for e in ev],
                dtype=float,
            ),
        }
    )
    events = events.sort_values(["asset_id", "t"], kind="stable").reset_index(drop=True)
    al = session.execute(
        select(Alarm.asset_id, Alarm.raised_at, Alarm.severity)
        .join(Asset, Asset.id == Alarm.asset_id)
        .where(Asset.source == source)
    ).all()
    alarms = pd.DataFrame(
        {
            "asset_id": np.array([a.asset_id for a in al], dtype=np.int64),
            "t": np.array([to_years(a.raised_at) for a in al], dtype=float),
            "severity": [a.severity for a in al],
        }
    )
    times = [
        events["t"].max() if len(events) else np.nan,
        alarms["t"].max() if len(alarms) else np.nan,
    ]
    known = [t for t in times if np.isfinite(t)]
    end = (
        float(max(known)) if known else float(assets["installed"].max() if len(assets) else np.nan)
    )
    return AssetHistory(source=source, assets=assets, events=events, alarms=alarms, end=end)
