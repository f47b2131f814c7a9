"""Nothing after an origin may reach its features: change the future, features stay put."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from backend.analytics.features import features_at, outcomes, training_frame
from backend.analytics.history import load_history, to_years
from backend.analytics.model import evaluate
from backend.importers.base import ImportOptions
from backend.importers.registry import import_files
from tests.backend.importers.test_watermains import BREAKS_HEADER, INVENTORY_HEADER, write_csv

CUTOFF = date(2015, 1, 1)
MATERIALS = ("CI", "DI", "PVC")


def network(tmp_path: Path, seed: int = 3) -> tuple[Path, Path]:
    """60 pipes on 6 streets and 150 breaks from 1998 to 2014, all before the cutoff."""
    rng = np.random.default_rng(seed)
    pipes = []
    for i in range(60):
        year = int(rng.integers(1930, 2005))
        pipes.append(
            f"{i},{1000 + i},ACTIVE,KIT {4 + i % 2},{i % 6},label,{150 + 50 * (i % 3)},"
            f"{MATERIALS[i % 3]},NO,,{year}/01/01 00:00:00+00,{rng.uniform(5, 300):.1f}"
        )
    breaks = []
    for j in range(150):
        pipe = int(rng.integers(0, 60)) if j % 10 else 99 + j  # some unmatched
        when = f"{int(rng.integers(1998, 2015))}/{int(rng.integers(1, 13)):02d}/15 00:00:00+00"
        x, y = -80.5 + (pipe % 6) * 0.001, 43.4 + rng.uniform(0, 0.001)
        breaks.append(
            f"{x:.6f},{y:.6f},{j},{5000 + j},{when},MAIN,UNKNOWN,OTHER,,"
            f"{pipe % 6},1,ST,{1000 + pipe}"
        )
    return (
        write_csv(tmp_path / "mains.csv", INVENTORY_HEADER, pipes),
        write_csv(tmp_path / "breaks.csv", BREAKS_HEADER, breaks),
    )


def future(tmp_path: Path) -> tuple[Path, Path]:
    """After the cutoff: a new pipe, and breaks far away on old pipes (they move the pipes)."""
    pipes = ["999,2000,ACTIVE,KIT 4,0,new,150,PVC,YES,2016/01/01 00:00:00+00,2016/01/01,50"]
    breaks = [
        f"-80.{40 + j:02d},43.5,{900 + j},{9000 + j},2016/0{1 + j % 9}/02 00:00:00+00,"
        f"MAIN,UNKNOWN,OTHER,,{j % 6},1,ST,{1000 + j}"
        for j in range(30)
    ]
    breaks.append("-80.5,43.4,999,9999,2017/01/01 00:00:00+00,MAIN,UNKNOWN,OTHER,,0,1,ST,2000")
    return (
        write_csv(tmp_path / "mains_later.csv", INVENTORY_HEADER, pipes),
        write_csv(tmp_path / "breaks_later.csv", BREAKS_HEADER, breaks),
    )


def test_changing_the_future_leaves_features_unchanged(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, list(network(tmp_path)), ImportOptions())
    before = load_history(engine)
    origin = to_years(CUTOFF)
    train_before = training_frame(before, 2009.0, origin)
    test_before = features_at(before, origin)
    assert train_before["breaks"].sum() > 0 and test_before["near"].sum() > 0
    # The neighbourhood features are live here, so a leak into them would show below.
    assert test_before["near_all"].sum() > 0 and test_before["segment_breaks_5y"].sum() > 0

    result = import_files(engine, list(future(tmp_path)), ImportOptions())
    assert not result.refused
    after = load_history(engine)
    assert len(after.breaks) == len(before.breaks) + 31  # the future did arrive

    pd.testing.assert_frame_equal(training_frame(after, 2009.0, origin), train_before)
    pd.testing.assert_frame_equal(features_at(after, origin), test_before)
    # ...while the test outcomes do see it.
    out = outcomes(after, test_before.index, origin, origin + 5)
    assert out["failures"].sum() == 30


def test_evaluate_refuses_bad_windows(sqlite_engine: Engine, tmp_path: Path) -> None:
    import_files(sqlite_engine, list(network(tmp_path)), ImportOptions())
    history = load_history(sqlite_engine)
    with pytest.raises(ValueError, match="train_from < cutoff < until"):
        evaluate(history, cutoff=date(2015, 1, 1), train_from=date(2016, 1, 1))
    with pytest.raises(ValueError, match="no failure in the test window"):
        evaluate(history, cutoff=CUTOFF, train_from=date(2009, 1, 1), until=date(2020, 1, 1))
