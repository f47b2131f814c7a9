"""The backend keeps risk scores fresh in a child process, and only when they are stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from backend.db.engine import make_sessionmaker
from backend.db.models import Asset, AssetEvent, AssetRisk
from backend.service.risk_schedule import RiskScoringSchedule


def _asset(engine: Engine) -> int:
    with make_sessionmaker(engine).begin() as s:
        asset = Asset(kind="pump", source="t", source_id="1", lon=1.0, lat=2.0)
        s.add(asset)
        s.flush()
        return asset.id


def test_due_only_with_history_and_stale_scores(engine: Engine, db_url: str) -> None:
    schedule = RiskScoringSchedule(engine, db_url, timedelta(hours=24))
    assert not schedule.due()  # no failure history: nothing to fit
    asset_id = _asset(engine)
    now = datetime.now(UTC)
    with make_sessionmaker(engine).begin() as s:
        s.add(AssetEvent(asset_id=asset_id, kind="failure", ts=now - timedelta(days=400)))
    assert schedule.due()  # history, no scores yet
    with make_sessionmaker(engine).begin() as s:
        s.execute(
            insert(AssetRisk),
            [
                {
                    "asset_id": asset_id,
                    "p30": 0.1,
                    "score": 1.0,
                    "rank": 1,
                    "reasons": [],
                    "model": "cox",
                    "as_of": now,
                    "scored_at": now - timedelta(hours=2),
                }
            ],
        )
    assert not schedule.due(now)  # fresh enough
    assert schedule.due(now + timedelta(hours=23))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AssetRisk)) == 1


def test_stop_without_start_is_harmless(sqlite_engine: Engine) -> None:
    RiskScoringSchedule(sqlite_engine, "sqlite://").stop()
