"""The all-kinds risk model end to end on the seeded demo city: evaluate, no leakage, score."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from backend.analytics.asset_features import asset_features_at, attribute_covariates
from backend.analytics.assets_history import load_asset_history
from backend.analytics.history import to_years
from backend.db.engine import make_engine
from backend.db.migrate import upgrade
from backend.db.models import Asset, AssetEvent, AssetRisk
from backend.demo_city.generate import build_demo_city

ROOT = Path(__file__).resolve().parents[3]
AS_OF = datetime(2025, 3, 1, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    """The seed-7 demo city, generated once into SQLite."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'city.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    build_demo_city(engine, seed=7, as_of=AS_OF)
    yield engine, url
    engine.dispose()


def _main(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_evaluate_beats_age_on_the_demo_city(demo: tuple[Engine, str]) -> None:
    _engine, url = demo
    result = _main("risk", "evaluate", "--db", url)
    assert result["source"] == "demo"
    assert result["c_index"] >= 0.75
    assert result["c_index"] > result["baseline_c_index"] + 0.05
    assert result["assets"] > 9000 and result["failures_in_test"] > 500
    # Default windows: the history's last two years tested, the ten before trained.
    until = datetime.fromisoformat(result["until"]).replace(tzinfo=UTC)
    cutoff = datetime.fromisoformat(result["cutoff"]).replace(tzinfo=UTC)
    assert AS_OF - timedelta(days=3) <= until <= AS_OF
    assert abs((until - cutoff).days - 730) <= 1
    # Within a kind, where age is a fair rival, the model still ranks at least as well.
    by_kind = result["c_index_by_kind"]
    assert by_kind["street_light"]["c_index"] > by_kind["street_light"]["baseline_c_index"]
    assert by_kind["hydrant"]["c_index"] > by_kind["hydrant"]["baseline_c_index"]


def test_explicit_windows_and_bad_dates(demo: tuple[Engine, str]) -> None:
    _engine, url = demo
    result = _main(
        "risk",
        "evaluate",
        "--db",
        url,
        "--train-from",
        "2019-01-01",
        "--cutoff",
        "2022-01-01",
        "--until",
        "2024-01-01",
    )
    assert (result["train_from"], result["cutoff"], result["until"]) == (
        "2019-01-01",
        "2022-01-01",
        "2024-01-01",
    )
    assert result["c_index"] > result["baseline_c_index"]
    bad = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "risk",
            "evaluate",
            "--db",
            url,
            "--train-from",
            "2023-01-01",
            "--cutoff",
            "2022-01-01",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "train_from < cutoff < until" in bad.stderr


def test_features_at_cutoff_ignore_everything_after_it(
    demo: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, _url = demo
    cutoff = AS_OF - timedelta(days=730)
    before = load_asset_history(engine, "demo")
    static = attribute_covariates(before.assets)
    expected = asset_features_at(before, to_years(cutoff), static)
    # Rewrite the future: drop every later event and invent failures on other assets.
    copy = make_engine(f"sqlite:///{tmp_path / 'future.sqlite'}")
    upgrade(copy)
    build_demo_city(copy, seed=7, as_of=AS_OF)
    with Session(copy) as s, s.begin():
        s.execute(delete(AssetEvent).where(AssetEvent.ts >= cutoff))
        ids = list(s.scalars(select(Asset.id).where(Asset.source == "demo").limit(300)))
        s.add_all(
            AssetEvent(
                asset_id=i,
                kind=kind,
                ts=cutoff + timedelta(days=5 + k),
                source="future",
                source_id=f"{i}/{kind}",
                attributes={"condition": 5},
            )
            for k, i in enumerate(ids)
            for kind in ("failure", "inspection")
        )
    after = load_asset_history(copy, "demo")
    copy.dispose()
    got = asset_features_at(after, to_years(cutoff), attribute_covariates(after.assets))
    pd.testing.assert_frame_equal(got, expected)


def test_score_stores_thirty_day_probabilities_with_reasons(demo: tuple[Engine, str]) -> None:
    engine, url = demo
    result = _main("risk", "score", "--db", url)
    (summary,) = result["sources"]
    assert summary["source"] == "demo" and summary["assets"] > 9000
    with Session(engine) as s:
        rows = s.execute(select(AssetRisk, Asset.kind).join(Asset)).all()
    assert len(rows) == summary["assets"]
    assert all(0.0 < r.p30 < 1.0 and r.reasons for r, _k in rows)
    by_kind = pd.DataFrame([(k, r.p30) for r, k in rows], columns=["kind", "p30"])
    mean = by_kind.groupby("kind")["p30"].mean()
    # Pumps (3.5-year scale) fail far more often than water mains (70-year scale).
    assert mean["pump"] > 10 * mean["water_main"]
    mains = [r for r, k in rows if k == "water_main"]
    assert all(r.length_m and r.length_m > 0 for r in mains)
    # Mains laid before the evaluation cutoff carry the backtest the renewal view replays.
    tested = [r for r in mains if isinstance(r.backtest, dict)]
    assert len(tested) > 0.9 * len(mains)
    assert all(r.backtest["cutoff"] < "2023-03-02" < r.backtest["until"] for r in tested)
    assert sum(r.backtest["failures"] for r in tested) > 0
    assert all(r.as_of <= AS_OF for r, _k in rows)
