"""A network's pipes and break history, read from the database into plain tables.

Everything the risk model knows comes through :func:`load_history`: the pipe
inventory (install date, material, size, length, zone, street segment) and
every break event with its time and place. The asset's own ``lon``/``lat`` is
deliberately not read: the importer derives it from *all* breaks, later ones
included, so using it for a feature would leak the future.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.db.models import Asset, AssetEvent
from backend.importers.watermains import ASSET_KIND, BREAK_KINDS, SOURCE

#: Source columns (Kitchener names) the model reads from a pipe's attributes.
PIPE_FIELDS = {
    "material": "MATERIAL",
    "diameter": "PIPE_SIZE",
    "length": "Shape__Length",
    "zone": "PRESSURE_ZONE",
    "segment": "ROADSEGMENTID",
    "lined": "LINED",
    "lined_date": "LINED_DATE",
}
#: Source columns the model reads from a break's attributes.
BREAK_FIELDS = {"segment": "ROADSEGMENTID", "pipe": "ASSETID"}

DAYS_PER_YEAR = 365.25


def to_years(ts: datetime | date | pd.Timestamp | None) -> float:
    """A time as fractional years (the model's clock), NaN for None."""
    if ts is None or (isinstance(ts, float) and np.isnan(ts)):
        return float("nan")
    if isinstance(ts, datetime):
        stamp = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        day = stamp.astimezone(UTC)
        ordinal = day.toordinal() + (day.hour * 3600 + day.minute * 60 + day.second) / 86400
    else:
        ordinal = float(ts.toordinal())
    return (ordinal - date(1970, 1, 1).toordinal()) / DAYS_PER_YEAR + 1970.0


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


@dataclass(slots=True)
class NetworkHistory:
    """Pipes and breaks as pandas tables, times in fractional years.

    ``pipes``: index asset id; columns source_id, installed (year, NaN if
    unknown), material, diameter_mm, length_m, zone, segment, lined_at.
    ``breaks``: one row per break event; columns event_id, asset_id (NaN if unmatched),
    kind, t (year), lon, lat, segment.
    """

    pipes: pd.DataFrame
    breaks: pd.DataFrame


def load_history(
    engine_or_session: Engine | Session, source: str = SOURCE, kind: str = ASSET_KIND
) -> NetworkHistory:
    """Read the pipes of ``source`` and all their break events."""
    if isinstance(engine_or_session, Session):
        return _load(engine_or_session, source, kind)
    with Session(engine_or_session) as session:
        return _load(session, source, kind)


def _load(session: Session, source: str, kind: str) -> NetworkHistory:
    pipe_rows = []
    for aid, sid, installed, attrs in session.execute(
        select(Asset.id, Asset.source_id, Asset.install_date, Asset.attributes).where(
            Asset.source == source, Asset.kind == kind
        )
    ):
        attrs = attrs or {}
        lined_at = float("nan")
        if str(attrs.get(PIPE_FIELDS["lined"], "")).upper() in {"YES", "Y", "TRUE"}:
            raw = str(attrs.get(PIPE_FIELDS["lined_date"], ""))[:10].replace("/", "-")
            try:
                lined_at = to_years(date.fromisoformat(raw))
            except ValueError:
                lined_at = float("nan")  # lined at an unknown time: not counted as lined
        pipe_rows.append(
            {
                "asset_id": aid,
                "source_id": sid,
                "installed": to_years(installed),
                "material": str(attrs.get(PIPE_FIELDS["material"], "") or "UNKNOWN").upper(),
                "diameter_mm": _number(attrs.get(PIPE_FIELDS["diameter"])),
                "length_m": _number(attrs.get(PIPE_FIELDS["length"])),
                "zone": str(attrs.get(PIPE_FIELDS["zone"], "") or "UNKNOWN").upper(),
                "segment": str(attrs.get(PIPE_FIELDS["segment"], "") or ""),
                "lined_at": lined_at,
            }
        )
    pipes = pd.DataFrame(
        pipe_rows,
        columns=[
            "asset_id",
            "source_id",
            "installed",
            "material",
            "diameter_mm",
            "length_m",
            "zone",
            "segment",
            "lined_at",
        ],
    ).set_index("asset_id")
    pipes = pipes.sort_index()  # database row order is not stable (PostgreSQL after updates)
    break_rows = [
        {
            "event_id": eid,
            "asset_id": float("nan") if aid is None else float(aid),
            "kind": k,
            "t": to_years(ts),
            "lon": np.nan if lon is None else lon,
            "lat": np.nan if lat is None else lat,
            "segment": str((attrs or {}).get(BREAK_FIELDS["segment"], "") or ""),
        }
        for eid, aid, k, ts, lon, lat, attrs in session.execute(
            select(
                AssetEvent.id,
                AssetEvent.asset_id,
                AssetEvent.kind,
                AssetEvent.ts,
                AssetEvent.lon,
                AssetEvent.lat,
                AssetEvent.attributes,
            ).where(AssetEvent.source == source, AssetEvent.kind.in_(BREAK_KINDS))
        )
    ]
    breaks = pd.DataFrame(
        break_rows, columns=["event_id", "asset_id", "kind", "t", "lon", "lat", "segment"]
    )
    breaks = breaks.sort_values(["t", "event_id"]).reset_index(drop=True)
    return NetworkHistory(pipes=pipes, breaks=breaks)
