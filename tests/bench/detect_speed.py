"""Benchmark: condition-monitoring detection throughput through ``Detector.observe_batch``.

    python tests/bench/detect_speed.py [--assets N] [--periods P]

10,000 assets of every telemetry kind send one reading per metric per period;
a few get faults (step, drift, spike, stuck) so findings are produced too.
Prints one JSON line last: readings per second with metric codes (the fast
path) and with metric names, state bytes per (asset, metric), findings seen.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.telemetry.catalog import CATALOG  # noqa: E402
from backend.telemetry.detect import Detector  # noqa: E402
from backend.telemetry.rules import METRIC_NAMES, metric_code  # noqa: E402

START = 1_780_000_000.0  # epoch seconds; the signals below have no daily cycle
PERIOD = 60.0


def fleet(
    n_assets: int,
) -> tuple[list[int], list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asset ids and kinds, and per reading row: asset id, metric code, normal, spread."""
    kinds = list(CATALOG)
    ids = list(range(1, n_assets + 1))
    asset_kinds = [kinds[i % len(kinds)] for i in range(n_assets)]
    rows = [
        (aid, metric_code(m.name), 1.0 if m.name == "on" else m.normal, m.spread)
        for aid, kind in zip(ids, asset_kinds, strict=True)
        for m in CATALOG[kind]
    ]
    a, c, normal, spread = (np.array(col) for col in zip(*rows, strict=True))
    return ids, asset_kinds, a.astype(np.int64), c.astype(np.int64), normal, spread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    ids, kinds, a, c, normal, spread = fleet(args.assets)
    detector = Detector()
    detector.register_assets(ids, kinds)
    n = len(a)
    faulty = rng.choice(n, size=max(n // 200, 1), replace=False)
    fault_kind = rng.integers(0, 4, size=len(faulty))

    def values(step: int) -> np.ndarray:
        v = normal + spread * rng.standard_normal(n)
        if step >= 40:  # after warm-up: steps, drifts, one spike, stuck sensors
            for kind in range(4):
                rows = faulty[fault_kind == kind]
                if kind == 0:
                    v[rows] += 30 * spread[rows]
                elif kind == 1:
                    v[rows] += 6 * spread[rows] * (step - 40) / 60.0
                elif kind == 2 and step == 40:
                    v[rows] += 60 * spread[rows]
                elif kind == 3:
                    v[rows] = normal[rows]
        return np.round(v, 4)

    # Warm-up (baseline windows) is not timed: it happens once per asset.
    for step in range(detector.config.warmup + 2):
        detector.observe_batch(a, c, np.full(n, START + step * PERIOD), values(step))
    findings = 0
    timed = 0.0
    step = detector.config.warmup + 2
    for _ in range(args.periods):
        v, t = values(step), np.full(n, START + step * PERIOD)
        t0 = time.perf_counter()
        findings += len(detector.observe_batch(a, c, t, v))
        timed += time.perf_counter() - t0
        step += 1
    names = np.array(METRIC_NAMES, dtype=object)[c].tolist()
    named = 0.0
    for _ in range(10):
        v, t = values(step), np.full(n, START + step * PERIOD)
        t0 = time.perf_counter()
        findings += len(detector.observe_batch(a, names, t, v))
        named += time.perf_counter() - t0
        step += 1
    # A catch-up batch: many periods of every asset in one call (the round-based path).
    rounds = 10
    t_many = np.concatenate([np.full(n, START + (step + k) * PERIOD) for k in range(rounds)])
    v_many = np.concatenate([values(step + k) for k in range(rounds)])
    t0 = time.perf_counter()
    findings += len(detector.observe_batch(np.tile(a, rounds), np.tile(c, rounds), t_many, v_many))
    many = time.perf_counter() - t0
    result = {
        "assets": args.assets,
        "slots": detector.slots,
        "batch_rows": n,
        "readings_per_s": round(n * args.periods / timed),
        "readings_per_s_names": round(n * 10 / named),
        "readings_per_s_multi_period_batch": round(n * rounds / many),
        "state_bytes_per_slot": round(detector.state_bytes / detector.slots),
        "findings": findings,
    }
    print(f"{args.periods} periods of {n} readings: {timed:.3f} s", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
