"""Benchmark: import all of ../shared/data into a fresh SQLite file and into PostgreSQL.

    python tests/bench/import_city.py [--pg URL] [--data DIR]

Prints one line per database, then, last, one JSON line:
``{"rows": N, "sqlite_rows_per_s": X, "postgres_rows_per_s": Y, ...}``.
Rows counts every row written to roads, assets, issues and asset_events.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from backend.db.engine import make_engine  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.importers.base import ImportOptions  # noqa: E402
from backend.importers.registry import import_files  # noqa: E402

DEFAULT_PG = "postgresql+psycopg2://root@127.0.0.1:5432/test"
DATA_SUFFIXES = {".pbf", ".osm", ".geojson", ".csv"}
TABLES = ("roads", "assets", "issues", "asset_events")


def data_files(folder: Path) -> list[Path]:
    """Every importable file under the shared data folder."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)


def run_once(url: str, files: list[Path]) -> tuple[int, float, dict[str, object]]:
    """Import ``files`` into the empty database at ``url``; return (rows, seconds, summary)."""
    engine = make_engine(url)
    upgrade(engine)
    start = time.perf_counter()
    result = import_files(engine, files, ImportOptions())
    seconds = time.perf_counter() - start
    engine.dispose()
    if result.refused:
        raise SystemExit(f"refused: {result.refused}")
    # Count table rows only; the summary also breaks events down by case.
    rows = sum(result.total.imported.get(table, 0) for table in TABLES)
    return rows, seconds, result.total.as_dict()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL URL (default {DEFAULT_PG})")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    files = data_files(args.data)
    if not files:
        raise SystemExit(f"no data files under {args.data}")

    with tempfile.TemporaryDirectory() as tmp:
        rows_sqlite, t_sqlite, summary = run_once(f"sqlite:///{tmp}/bench.sqlite", files)
    print(f"sqlite: {rows_sqlite} rows in {t_sqlite:.2f} s; {json.dumps(summary)}")

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in args.pg else "?"
        rows_pg, t_pg, _ = run_once(f"{args.pg}{sep}options=-csearch_path%3D{schema}", files)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print(f"postgres: {rows_pg} rows in {t_pg:.2f} s")

    print(
        json.dumps(
            {
                "rows": rows_sqlite,
                "sqlite_rows_per_s": round(rows_sqlite / t_sqlite),
                "postgres_rows_per_s": round(rows_pg / t_pg),
                "sqlite_seconds": round(t_sqlite, 2),
                "postgres_seconds": round(t_pg, 2),
                "files": len(files),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
