"""Benchmark: the emerging-problems scan on the biggest real 311 export.

    python tests/bench/emerging.py [--data DIR] [--window-days N]

Imports the largest CSV under ``boston-311`` into a fresh SQLite file, then
scans it every week of its year (``as_of`` each Monday), loading the
reports from the database each time as the command does. Prints each week
that found something, then, last, one JSON line:
``{"file", "rows", "scans", "seconds_per_scan", "seconds_total", "clusters", ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.analytics.emerging import EmergingConfig, find_emerging  # noqa: E402
from backend.analytics.reports import load_reports, newest_report, oldest_report  # noqa: E402
from backend.db.engine import make_engine  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.importers.base import ImportOptions  # noqa: E402
from backend.importers.registry import import_files  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--window-days", type=float, default=7.0)
    args = parser.parse_args()
    folder = args.data / "boston-311"
    files = sorted(folder.glob("*.csv"), key=lambda p: p.stat().st_size) if folder.is_dir() else []
    if not files:
        print(f"no 311 CSV under {folder}", file=sys.stderr)
        return 2
    biggest = files[-1]
    config = EmergingConfig(window_days=args.window_days)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        upgrade(engine)
        t0 = time.perf_counter()
        imported = import_files(engine, [biggest], ImportOptions()).total.imported["issues"]
        import_s = time.perf_counter() - t0
        with engine.connect() as conn:
            first, last = oldest_report(conn), newest_report(conn)
            assert first is not None and last is not None
            # Every Monday from the first one with a full baseline to the last report.
            as_of = first + timedelta(days=config.window_days + config.baseline_days)
            as_of = (as_of + timedelta(days=(7 - as_of.weekday()) % 7)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            scans, clusters, load_s, scan_s, zones = 0, 0, 0.0, 0.0, 0
            while as_of <= last:
                t0 = time.perf_counter()
                start = as_of - timedelta(days=config.window_days + config.baseline_days)
                reports = load_reports(conn, start, as_of)
                t1 = time.perf_counter()
                result = find_emerging(reports, as_of, config, first)
                t2 = time.perf_counter()
                load_s, scan_s = load_s + t1 - t0, scan_s + t2 - t1
                scans, clusters, zones = (
                    scans + 1,
                    clusters + len(result.clusters),
                    zones + result.zones_tested,
                )
                for c in result.clusters:
                    print(
                        f"{as_of:%Y-%m-%d}: {c.observed} vs {c.expected:.2f} expected "
                        f"at {c.center[1]:.4f},{c.center[0]:.4f} "
                        f"({len(c.cells)} cells, p={c.p_value:.2g})"
                    )
                as_of += timedelta(days=7)
        engine.dispose()
    print(
        json.dumps(
            {
                "file": biggest.name,
                "rows": imported,
                "import_seconds": round(import_s, 2),
                "scans": scans,
                "zones_tested": zones,
                "clusters": clusters,
                "seconds_total": round(load_s + scan_s, 3),
                "seconds_per_scan": round((load_s + scan_s) / max(scans, 1), 4),
                "load_seconds_per_scan": round(load_s / max(scans, 1), 4),
                "scan_seconds_per_scan": round(scan_s / max(scans, 1), 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
