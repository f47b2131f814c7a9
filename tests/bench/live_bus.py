"""Benchmark: the live bus end to end, against a naive PUB/SUB loop.

    python tests/bench/live_bus.py [--db URL] [--pg URL] [--seconds S] [--rate N]

Runs ``main.py backend`` on a fresh database (a temporary SQLite file, or a
throw-away schema in the PostgreSQL at ``--db``/``--pg``) and 4 subscriber
processes, each a real :class:`console.live.LiveClient` replica. The producer
pushes entity changes through commands from two feeds at once, as a
vehicle-position gateway and a telemetry gateway would (``update_crew_positions``
and ``ingest_readings``, as columns: see
:mod:`backend.protocol.columns`); an *update* is one entity change (one
asset's new reading, one crew's new position), whatever the batching:

1. paced at ``--rate`` updates/s for ``--seconds``, ``--paced-batch`` updates
   per command (many sensors, small batches): commit-to-replica latency per
   update (the event's ``ts``, taken when its command starts, to the moment a
   replica applies it), p50/p99 over all updates on all 4 replicas;
2. as fast as the two feeds go for ``--seconds``, ``--batch`` updates per
   command (the simulator's 5,000-reading batches; crews: all 1,000 at once):
   ``updates_per_s`` = entity updates committed and applied by all 4 replicas
   per second.

Every update is committed to the database (telemetry blocks, crew positions
and last positions, telemetry detection on) before it is published. Then every replica is
compared with a fresh snapshot from the database (``lost``: entities whose
state differs; ``duplicated``: seqs applied twice). In the same run, the
naive design: a plain pyzmq PUB/SUB loop, one message per update encoded from
a dict with the same msgpack codec and decoded into a dict by one subscriber
process, no database (``raw_zmq_msgs_per_s``: the faster of a run before and
a run after the bus).
Last line, JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import zmq  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from backend.db.engine import make_engine  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.protocol.client import CommandClient  # noqa: E402
from backend.protocol.columns import micros_now, positions_columns, readings_columns  # noqa: E402
from backend.protocol.envelope import pack, unpack  # noqa: E402
from backend.protocol.state import change_count  # noqa: E402
from backend.service.entities import consistent_snapshot  # noqa: E402
from console.live import LiveClient  # noqa: E402
from tests.backend.service.helpers import Backend, free_port_pair  # noqa: E402
from tests.backend.service.seed import seed_city  # noqa: E402

SUBSCRIBERS = 4
CREWS = 1000
ASSETS = 5000
NAIVE_MESSAGES = 200_000


class TimedClient(LiveClient):
    """A replica that notes, per applied event, the delay since its commit and its updates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timing: list[tuple[int, float, int]] = []  # (seq, delay s, entity changes)
        self.applied_twice = 0
        self._applied: set[int] = set()

    def _apply(self, events: list[dict[str, Any]]) -> None:
        before = self.replica.seq
        super()._apply(events)
        now = time.time()
        for e in events:
            if before < e["seq"] <= self.replica.seq:
                if e["seq"] in self._applied:
                    self.applied_twice += 1
                self._applied.add(e["seq"])
                count = change_count(e["body"])
                self.timing.append((e["seq"], now - e["ts"].timestamp(), count))


def subscriber(pub: str, ready: Any, final_seq: Any, out: Any, truth_file: str) -> None:
    """One console: replicate until ``final_seq``, then report timings and equality."""
    client = TimedClient(pub, stale_after=30, reconnect_after=120, request_timeout=60).start()
    while not client.replica.loaded:
        time.sleep(0.01)
    ready.set()
    while final_seq.value == 0 or client.replica.seq < final_seq.value:
        time.sleep(0.01)
    done_at = time.time()
    seq, entities = client.replica.copy()
    client.stop()
    truth = unpack(Path(truth_file).read_bytes()) if Path(truth_file).exists() else None
    while truth is None:
        time.sleep(0.05)
        truth = unpack(Path(truth_file).read_bytes()) if Path(truth_file).exists() else None
    missing = sum(1 for t, s in truth["entities"].items() if entities.get(t) != s)
    out.put(
        {
            "timing": client.timing,
            "done_at": done_at,
            "seq": seq,
            "differs": missing,
            "applied_twice": client.applied_twice,
            "snapshots": client.snapshots,
        }
    )


def feed(
    router: str, kind: str, seconds: float, rate: float | None, per_command: int
) -> tuple[int, int, int]:
    """One feed's commands for ``seconds``; returns (updates, first seq, last seq).

    ``kind`` "crews" is the vehicles' position gateway (``update_crew_positions``),
    "sensors" the telemetry gateway (``ingest_readings``: healthy pump pressures
    that vary, so detection runs but raises nothing); each command touches
    ``per_command`` distinct entities (crews: at most all of them).
    """
    updates = 0
    first = last = 0
    i = 0
    with CommandClient(router, user="olga", timeout_s=60) as client:
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < seconds:
            if rate is not None and updates > rate * elapsed:
                time.sleep(0.001)
                continue
            now = micros_now()
            if kind == "crews":
                n = min(per_command, CREWS)
                crews = (i * n + np.arange(n)) % CREWS + 1
                args = {
                    "columns": positions_columns(
                        crews,
                        np.full(n, now),
                        np.full(n, 24.9 + (i % 1000) / 1e5),
                        np.full(n, 60.2),
                    )
                }
                reply = client.command("update_crew_positions", args)
            else:
                n = min(per_command, ASSETS)
                assets = (i * n + np.arange(n)) % ASSETS + 1
                value = 4.2 + 0.05 * math.sin(i)
                args = {
                    "columns": readings_columns(
                        assets, ["pressure"], np.zeros(n), np.full(n, now), np.full(n, value)
                    )
                }
                reply = client.command("ingest_readings", args)
            seq = int(reply["seq"])
            first = first or seq
            last = seq
            updates += n
            i += 1
    return updates, first, last


def produce(
    router: str, seconds: float, rate: float | None, per_command: int
) -> tuple[int, int, int]:
    """Both feeds at once, as two gateways would (each at half of ``rate``).

    Returns (updates, first seq, last seq) over both.
    """
    results: list[tuple[int, int, int]] = []
    share = None if rate is None else rate / 2

    def run(kind: str) -> None:
        results.append(feed(router, kind, seconds, share, per_command))

    threads = [threading.Thread(target=run, args=(kind,)) for kind in ("crews", "sensors")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(results) != len(threads):
        raise RuntimeError("a feed failed; see the error above")
    return (
        sum(r[0] for r in results),
        min(r[1] for r in results),
        max(r[2] for r in results),
    )


def naive_subscriber(endpoint: str, count: int, out: Any, ready: Any) -> None:
    """The naive console: one message per update, decoded into a dict."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)
    while unpack(sub.recv()).get("kind") != "warmup":
        pass
    ready.set()  # the subscription is through: nothing after this is lost to a slow join
    got = 0
    t0 = 0.0
    while got < count:
        if not sub.poll(5000):
            break
        message = unpack(sub.recv())
        if message.get("kind") == "warmup":
            continue
        if got == 0:
            t0 = time.perf_counter()
        got += 1
    out.put((got, time.perf_counter() - t0))
    sub.close()
    ctx.term()


def naive(count: int = NAIVE_MESSAGES) -> float:
    """Messages per second of the plain PUB/SUB loop (as received by its subscriber)."""
    endpoint = f"tcp://127.0.0.1:{free_port_pair()}"
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind(endpoint)
    spawn = mp.get_context("spawn")
    out, ready = spawn.Queue(), spawn.Event()
    proc = spawn.Process(target=naive_subscriber, args=(endpoint, count, out, ready))
    proc.start()
    while not ready.wait(0.02):
        pub.send(pack({"kind": "warmup"}))
    now = datetime.now(UTC)
    for i in range(count):
        update = {"topic": f"crew/{i % CREWS}", "seq": i, "ts": now, "lon": 24.9, "lat": 60.2}
        pub.send(pack(update))
    got, elapsed = out.get(timeout=300)
    proc.join(30)
    pub.close()
    ctx.term()
    return got / elapsed if elapsed else 0.0


def run_bus(url: str, seconds: float, rate: float, paced_batch: int, batch: int) -> dict[str, Any]:
    """The live bus on ``url``: latency at ``rate``, then throughput, then equality."""
    engine = make_engine(url)
    upgrade(engine)
    seed_city(engine, jobs=1, crews=CREWS, assets=ASSETS)
    backend = Backend(url).start()
    spawn = mp.get_context("spawn")
    out = spawn.Queue()
    final_seq = spawn.Value("q", 0)
    truth_file = str(Path(tempfile.mkdtemp()) / "truth.msgpack")
    procs = []
    try:
        for _ in range(SUBSCRIBERS):
            ready = spawn.Event()
            p = spawn.Process(
                target=subscriber, args=(backend.pub, ready, final_seq, out, truth_file)
            )
            p.start()
            procs.append(p)
            ready.wait(120)
        paced, p_first, p_last = produce(backend.router, seconds, rate, paced_batch)
        t_start = time.time()
        flat, _f_first, f_last = produce(backend.router, seconds, None, batch)
        final_seq.value = f_last
        seq, truth = consistent_snapshot(engine)
        # Written aside and renamed: a subscriber polling for the file never reads half of it.
        partial = Path(truth_file + ".part")
        partial.write_bytes(pack({"seq": seq, "entities": dict(truth)}))
        partial.replace(truth_file)
        results = [out.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(30)
        backend.stop()
        engine.dispose()
    paced_timing = [
        (lat, n) for r in results for s, lat, n in r["timing"] if p_first <= s <= p_last
    ]
    # One sample per entity change: a batch event's delay counts once per update it carries.
    latencies = np.repeat(
        np.array([lat for lat, _ in paced_timing]), np.array([n for _, n in paced_timing])
    )
    slowest_done = max(r["done_at"] for r in results)
    updates_per_s = flat / (slowest_done - t_start)
    return {
        "updates_per_s": round(updates_per_s),
        "p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 1),
        "p99_ms": round(float(np.percentile(latencies, 99)) * 1000, 1),
        "committed_per_s": round(flat / seconds),  # producer side, before fan-out
        "paced_rate": rate,
        "paced_batch": paced_batch,
        "flat_out_batch": batch,
        "paced_updates": paced,
        "flat_out_updates": flat,
        "lost": sum(r["differs"] for r in results) + sum(1 for r in results if r["seq"] != seq),
        "duplicated": sum(r["applied_twice"] for r in results),
        "snapshots_per_replica": [r["snapshots"] for r in results],
    }


def bench_on(
    db: str | None, seconds: float, rate: float, paced_batch: int, batch: int
) -> dict[str, Any]:
    """One live-bus run on SQLite (``db`` None or a SQLite URL) or a throw-away PG schema."""
    if db and db.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(db)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            result = run_bus(
                f"{db}?options=-csearch_path%3D{schema}", seconds, rate, paced_batch, batch
            )
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        result["db"] = "postgresql"
        return result
    result = run_bus(
        db or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite", seconds, rate, paced_batch, batch
    )
    result["db"] = "sqlite"
    return result


def main() -> int:
    """Run the benchmark; the last line printed is the JSON summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="database URL for the main run (default: a temp SQLite file)")
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="also run on this PostgreSQL (throw-away schema), reported beside the main run",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each phase")
    parser.add_argument("--rate", type=float, default=5000.0, help="paced phase rate, updates/s")
    parser.add_argument("--paced-batch", type=int, default=500, help="updates per paced command")
    parser.add_argument("--batch", type=int, default=5000, help="updates per flat-out command")
    args = parser.parse_args()
    sizes = (args.paced_batch, args.batch)
    # The naive loop runs before and after the bus on a quiet machine; the faster
    # of the two is the baseline (the strongest one to compare against).
    raw_before = naive()
    runs = [bench_on(args.db, args.seconds, args.rate, *sizes)]
    if args.pg:
        runs.append(bench_on(args.pg, args.seconds, args.rate, *sizes))
    time.sleep(2.0)  # let the bus's processes finish exiting
    raw = round(max(raw_before, naive()))
    for run in runs:
        print(json.dumps({**run, "raw_zmq_msgs_per_s": raw}))
    main_run = runs[0]
    summary: dict[str, Any] = {
        "updates_per_s": main_run["updates_per_s"],
        "p50_ms": main_run["p50_ms"],
        "p99_ms": main_run["p99_ms"],
        "raw_zmq_msgs_per_s": raw,
        "lost": sum(r["lost"] for r in runs),
        "duplicated": sum(r["duplicated"] for r in runs),
        "db": main_run["db"],
    }
    if len(runs) > 1:
        summary |= {
            "pg_updates_per_s": runs[1]["updates_per_s"],
            "pg_p50_ms": runs[1]["p50_ms"],
            "pg_p99_ms": runs[1]["p99_ms"],
        }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
