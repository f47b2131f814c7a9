"""Citizens' reports from the database as a DataFrame, for :mod:`backend.analytics.emerging`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, func, select

from backend.db.models import Issue

#: A report's service type: its Open311 code, else its category (Boston's export has no codes).
SERVICE = func.coalesce(Issue.service_code, Issue.category)


def load_reports(
    conn: Connection,
    start: datetime,
    end: datetime,
    services: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Located reports requested in ``[start, end)``: id, service, category, lon, lat, time."""
    query = select(
        Issue.id,
        SERVICE.label("service"),
        Issue.category,
        Issue.lon,
        Issue.lat,
        Issue.requested_at,
    ).where(
        Issue.requested_at >= start,
        Issue.requested_at < end,
        Issue.lon.is_not(None),
        Issue.lat.is_not(None),
    )
    if services:
        query = query.where(SERVICE.in_(list(services)))
    rows = conn.execute(query).all()
    df = pd.DataFrame(rows, columns=["id", "service", "category", "lon", "lat", "requested_at"])
    df["requested_at"] = pd.to_datetime(df["requested_at"], utc=True)
    return df


def newest_report(conn: Connection) -> datetime | None:
    """When the newest report was requested (None without reports)."""
    newest: datetime | None = conn.execute(select(func.max(Issue.requested_at))).scalar()
    return newest


def oldest_report(conn: Connection) -> datetime | None:
    """When the oldest report was requested: where the records begin (None without reports)."""
    oldest: datetime | None = conn.execute(select(func.min(Issue.requested_at))).scalar()
    return oldest
