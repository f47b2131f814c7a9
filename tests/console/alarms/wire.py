"""Alarm, asset, job and history entities in wire form, as the replica and the bus carry them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.console.dispatch.wire import T0, FixedClock, wt

__all__ = ["T0", "FixedClock", "alarm", "asset", "history", "wt"]


def alarm(
    alarm_id: int,
    *,
    asset_id: int | None = 1,
    severity: str = "major",
    state: str = "raised",
    raised: datetime = T0,
    group_key: str | None = None,
    metric: str | None = "vibration",
    message: str | None = None,
    version: int = 1,
    acked_by: str | None = None,
    shelved_until: datetime | None = None,
    shelve_reason: str | None = None,
) -> dict[str, Any]:
    """An alarm entity (backend/db/models.py ``Alarm`` columns)."""
    return {
        "id": alarm_id,
        "asset_id": asset_id,
        "metric": metric,
        "rule": "limit",
        "severity": severity,
        "state": state,
        "message": message or f"{metric} {severity} on asset {asset_id}",
        "group_key": group_key if group_key is not None else f"asset/{asset_id}",
        "raised_at": wt(raised),
        "acked_by": acked_by,
        "acked_at": None if acked_by is None else wt(raised + timedelta(minutes=1)),
        "shelved_until": None if shelved_until is None else wt(shelved_until),
        "shelve_reason": shelve_reason,
        "cleared_at": None,
        "version": version,
    }


def asset(
    asset_id: int, name: str, kind: str = "pump", latest: dict[str, list[Any]] | None = None
) -> dict[str, Any]:
    """An asset entity."""
    return {
        "id": asset_id,
        "kind": kind,
        "name": name,
        "lon": 24.94,
        "lat": 60.17,
        "status": "ok",
        "install_date": "2015-06-01",
        "attributes": {},
        "latest": latest or {},
    }


def history(
    a: dict[str, Any],
    readings: list[tuple[str, datetime, float]],
    events: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A ``get_asset_history`` result: readings newest first, times as the bus sends them."""
    ordered = sorted(readings, key=lambda r: r[1], reverse=True)
    return {
        "asset": a,
        "events": events or [],
        "readings": [[m, ts, v] for m, ts, v in ordered],
        "timeline": [],
        **extra,
    }
