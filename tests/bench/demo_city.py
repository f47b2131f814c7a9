"""Benchmark: build the demo city into a fresh SQLite file and into PostgreSQL.

    python tests/bench/demo_city.py [--seed N] [--pg URL]

Prints one line per database, then, last, one JSON line:
``{"seed": N, "plan_s": X, "sqlite_s": Y, "postgres_s": Z, "roads": ..., "assets": ..., ...}``.
``*_s`` is the whole ``build_demo_city`` call (planning plus writing, one transaction).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from backend.db.engine import make_engine  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.demo_city.generate import build_demo_city, plan_city  # noqa: E402

DEFAULT_PG = "postgresql+psycopg2://root@127.0.0.1:5432/test"
AS_OF = datetime(2025, 3, 1, 9, tzinfo=UTC)


def timed_build(url: str, seed: int) -> tuple[float, dict[str, object]]:
    """Build the city into the empty database at ``url``; return (seconds, counts)."""
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    counts = build_demo_city(engine, seed=seed, as_of=AS_OF)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL URL (default {DEFAULT_PG})")
    args = parser.parse_args()
    start = time.perf_counter()
    plan_city(args.seed, AS_OF)
    result: dict[str, object] = {"seed": args.seed, "plan_s": round(time.perf_counter() - start, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        seconds, counts = timed_build(f"sqlite:///{Path(tmp) / 'demo.sqlite'}", args.seed)
    print(f"sqlite: {seconds:.2f} s")
    result["sqlite_s"] = round(seconds, 2)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.pg)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        seconds, _ = timed_build(f"{args.pg}?options=-csearch_path%3D{schema}", args.seed)
        print(f"postgres: {seconds:.2f} s")
        result["postgres_s"] = round(seconds, 2)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    except Exception as exc:  # the bench still reports SQLite without a server
        print(f"postgres: skipped ({exc.__class__.__name__})")
    finally:
        admin.dispose()
    keys = (
        "roads",
        "roads_drivable",
        "road_km",
        "assets",
        "asset_events",
        "crews",
        "issues",
        "jobs",
    )
    result.update({k: counts[k] for k in keys})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
