"""Benchmark: 10,000 assets' telemetry through the real backend, detection on, on SQLite and PG.

    python tests/bench/telemetry.py [--pg URL] [--assets N] [--periods P] [--faults K]

For each database (a fresh SQLite file, then a throw-away schema in the
PostgreSQL at ``--pg``, default the local ``test`` database) it seeds
``--assets`` assets of every telemetry kind, starts ``main.py backend`` (real
sockets, a real process) and a console process holding a real
:class:`console.live.LiveClient` replica, then:

1. throughput: two sensor-gateway processes send ``--periods`` reading
   periods of every metric of every asset (healthy signals with noise),
   5,000 readings per ``ingest_readings`` command (as columns, the way a
   gateway sends them), as fast as the backend
   answers; ``readings_per_s`` = readings committed (stored, checked by the
   detector, published) per second;
2. detection latency: ``--faults`` more periods, each carrying one faulty
   pump pressure (far below its limit) among its healthy readings; the time
   from just before that batch is sent to the moment the console's replica
   holds the raised alarm for that pump.

Last line, JSON: ``{"readings_per_s_sqlite", "readings_per_s_postgres",
"detect_to_console_p99_ms"}`` (the p99 over both databases' injections).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from backend.db.engine import make_engine  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.db.models import Asset, User  # noqa: E402
from backend.protocol.client import CommandClient  # noqa: E402
from backend.protocol.columns import readings_columns, to_micros  # noqa: E402
from backend.telemetry.catalog import CATALOG  # noqa: E402
from console.live import LiveClient  # noqa: E402
from tests.backend.service.helpers import Backend  # noqa: E402

PG_DEFAULT = "postgresql+psycopg2://root@127.0.0.1:5432/test"
BATCH = 5000
GATEWAYS = 2
PERIOD = timedelta(seconds=60)


def seed(url: str, n_assets: int) -> list[tuple[int, str]]:
    """A migrated database with users and ``n_assets`` assets cycling through the kinds."""
    engine = make_engine(url)
    upgrade(engine)
    kinds = list(CATALOG)
    rows = [
        {
            "kind": kinds[i % len(kinds)],
            "name": f"{kinds[i % len(kinds)]} {i + 1}",
            "source": "bench",
            "source_id": str(i + 1),
            "lon": 24.8 + (i % 100) * 0.004,
            "lat": 60.1 + (i // 100) * 0.002,
            "status": "ok",
            "attributes": {},
            "version": 1,
        }
        for i in range(n_assets)
    ]
    with engine.begin() as conn:
        conn.execute(insert(User), [{"name": "gateway", "role": "operator", "active": True}])
        conn.execute(insert(Asset), rows)
        ids = conn.execute(text("SELECT id, kind FROM assets ORDER BY id")).all()
    engine.dispose()
    return [(int(i), str(k)) for i, k in ids]


def period_readings(
    fleet: list[tuple[int, str]], start: datetime, period: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """One reading of every metric of every asset at ``start + period`` periods, healthy."""
    ts = start + period * PERIOD
    out: list[dict[str, Any]] = []
    for asset_id, kind in fleet:
        for m in CATALOG[kind]:
            if m.discrete:
                value = 1.0 if m.name == "on" else m.normal
            else:
                value = round(m.normal + float(rng.normal(0.0, m.spread)), 4)
            out.append({"asset_id": asset_id, "metric": m.name, "value": value, "ts": ts})
    return out


def as_columns(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """A list of readings as the ``columns`` argument a gateway sends."""
    names = list(dict.fromkeys(r["metric"] for r in batch))
    code = {name: i for i, name in enumerate(names)}
    return readings_columns(
        np.array([r["asset_id"] for r in batch]),
        names,
        np.array([code[r["metric"]] for r in batch]),
        np.array([to_micros(r["ts"]) for r in batch]),
        np.array([r["value"] for r in batch], dtype=float),
    )


def gateway(
    router: str,
    fleet: list[tuple[int, str]],
    t0: datetime,
    periods: int,
    start: Any,
    out: Any,
    seed_: int,
) -> None:
    """A sensor gateway: pre-builds its periods, waits for the start, sends them all."""
    rng = np.random.default_rng(seed_)
    batches = []
    for p in range(periods):
        readings = period_readings(fleet, t0, p, rng)
        batches += [readings[i : i + BATCH] for i in range(0, len(readings), BATCH)]
    columns = [(len(b), as_columns(b)) for b in batches]
    with CommandClient(router, user="gateway", timeout_s=120) as client:
        start.wait()
        sent = 0
        for n, cols in columns:
            client.command("ingest_readings", {"columns": cols})
            sent += n
    out.put((sent, time.time()))


def console(pub: str, ready: Any, seen: Any, stop: Any) -> None:
    """A console: reports (pump id, time) when its replica first holds a raised alarm for it."""
    reported: set[int] = set()
    client: LiveClient

    def on_changes(topics: frozenset[str], _seq: int) -> None:
        now = time.time()
        for t in topics:
            if t.startswith("alarm/"):
                state = client.replica.get(t)
                if (
                    state
                    and state["state"] == "raised"
                    and (state["rule"], state["metric"]) == ("limit", "pressure")
                    and state["asset_id"] not in reported
                ):
                    reported.add(state["asset_id"])
                    seen.put((state["asset_id"], now))

    client = LiveClient(pub, stale_after=30, reconnect_after=120, request_timeout=60)
    client.on_changes = on_changes
    client.start()
    while not client.replica.loaded:
        time.sleep(0.01)
    ready.set()
    stop.wait()
    client.stop()


def run_on(url: str, n_assets: int, periods: int, faults: int) -> dict[str, Any]:
    """Seed, start the backend and a console, measure throughput then detection latency."""
    fleet = seed(url, n_assets)
    # Readings are stamped from now on (one period apart): stamps in the past would
    # rightly be missing data to the backend's timer.
    t0_ts = datetime.now(UTC).replace(microsecond=0)
    backend = Backend(url).start()
    spawn = mp.get_context("spawn")
    ready, stop, seen, out, start = (
        spawn.Event(),
        spawn.Event(),
        spawn.Queue(),
        spawn.Queue(),
        spawn.Event(),
    )
    viewer = spawn.Process(target=console, args=(backend.pub, ready, seen, stop))
    viewer.start()
    try:
        ready.wait(120)
        shards = [fleet[g::GATEWAYS] for g in range(GATEWAYS)]
        procs = [
            spawn.Process(
                target=gateway,
                args=(backend.router, shard, t0_ts, periods, start, out, g),
            )
            for g, shard in enumerate(shards)
        ]
        for p in procs:
            p.start()
        time.sleep(2.0 + n_assets / 2000)  # let the gateways build their batches
        t0 = time.time()
        start.set()
        results = [out.get(timeout=1800) for _ in procs]
        for p in procs:
            p.join(60)
        readings = sum(n for n, _ in results)
        elapsed = max(t for _, t in results) - t0
        # Detection latency: one faulty pump per period, among every healthy reading.
        pumps = [a for a, k in fleet if k == "pump"][:faults]
        rng = np.random.default_rng(99)
        delays: list[float] = []
        with CommandClient(backend.router, user="gateway", timeout_s=120) as client:
            for k, pump in enumerate(pumps):
                readings_k = period_readings(fleet, t0_ts, periods + k, rng)
                for r in readings_k:
                    if r["asset_id"] == pump and r["metric"] == "pressure":
                        r["value"] = 0.5
                chunks = [readings_k[i : i + BATCH] for i in range(0, len(readings_k), BATCH)]
                faulty = next(
                    i for i, c in enumerate(chunks) if any(r["asset_id"] == pump for r in c)
                )
                sent_at = 0.0
                for i, cols in enumerate([as_columns(c) for c in chunks]):
                    if i == faulty:
                        sent_at = time.time()
                    client.command("ingest_readings", {"columns": cols})
                while True:
                    asset_id, when = seen.get(timeout=60)
                    if asset_id == pump:
                        delays.append(when - sent_at)
                        break
    finally:
        stop.set()
        viewer.join(30)
        backend.stop()
    return {
        "readings": readings,
        "readings_per_s": round(readings / elapsed),
        "detect_p50_ms": round(float(np.percentile(delays, 50)) * 1000, 1),
        "detect_p99_ms": round(float(np.percentile(delays, 99)) * 1000, 1),
        "delays_ms": [round(d * 1000, 1) for d in delays],
    }


def on_postgres(pg: str, n_assets: int, periods: int, faults: int) -> dict[str, Any]:
    """One run in a throw-away schema of the PostgreSQL at ``pg``."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return run_on(f"{pg}?options=-csearch_path%3D{schema}", n_assets, periods, faults)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> int:
    """Run on SQLite and PostgreSQL; the last line printed is the JSON summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL (a schema is made)")
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=6, help="reading periods to send")
    parser.add_argument("--faults", type=int, default=30, help="faults injected (one a period)")
    args = parser.parse_args()
    sqlite_url = f"sqlite:///{tempfile.mkdtemp()}/telemetry.sqlite"
    lite = run_on(sqlite_url, args.assets, args.periods, args.faults)
    print(json.dumps({"db": "sqlite", **lite}))
    pg = on_postgres(args.pg, args.assets, args.periods, args.faults)
    print(json.dumps({"db": "postgresql", **pg}))
    delays = [d for run in (lite, pg) for d in run["delays_ms"]]
    print(
        json.dumps(
            {
                "readings_per_s_sqlite": lite["readings_per_s"],
                "readings_per_s_postgres": pg["readings_per_s"],
                "detect_to_console_p99_ms": round(float(np.percentile(delays, 99)), 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
