"""Layer model bulk benchmark: snapshot loads and live bursts, models only (no Qt).

    python tests/bench/layer_upsert.py [--assets N] [--repeats R]

Times, on the asset layer model with N assets spread along Cambridge's streets
(the records :mod:`tests.bench.map_render` builds): the first full load
(``replace_all`` of N records), a burst of 10,000 status changes (one
``upsert`` of ``{"id", "status"}`` records), and a mixed burst of 10,000 partial
records (status changes, moves, renames, 1 % new assets, a few bad records).
Each burst is timed ``--repeats`` times on fresh random ids and the median is
reported. The last line is JSON: ``{"assets": N, "load_ms": L,
"status_10k_ms": S, "mixed_10k_ms": M}``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from layers.assets.model import AssetLayerModel  # noqa: E402
from layers.base import LayerInputError  # noqa: E402
from layers.projection import LocalProjection  # noqa: E402
from tests.bench.map_render import STATUSES, road_records, scene_records  # noqa: E402


def mixed_burst(
    model: AssetLayerModel, n: int, rng: np.random.Generator, next_id: int
) -> list[dict[str, Any]]:
    """N partial records: mostly status changes, some moves and renames, a few new and bad."""
    ids = rng.choice(model.ids, size=n, replace=False)
    out: list[dict[str, Any]] = []
    for k, fid in enumerate(ids.tolist()):
        r = rng.random()
        if r < 0.7:
            out.append({"id": fid, "status": STATUSES[k % len(STATUSES)]})
        elif r < 0.85:
            rec = model.record(fid)
            out.append({"id": fid, "lon": rec["lon"] + 1e-5, "lat": rec["lat"]})
        elif r < 0.98:
            out.append({"id": fid, "name": f"Renamed {fid}", "kind": "kiosk"})
        elif r < 0.99:
            out.append({"id": next_id + k, "kind": "hydrant", "lon": -71.1, "lat": 42.37})
        else:
            out.append({"id": fid, "lon": "east"})
    return out


def run(n_assets: int, repeats: int, seed: int = 11) -> dict[str, Any]:
    """Build the records, time the load and the bursts, return the figures."""
    roads = road_records()
    assets, _, _ = scene_records(roads, n_assets, seed)
    projection = LocalProjection.for_records(assets[:1000])
    model = AssetLayerModel(projection)
    gc.collect()
    t0 = time.perf_counter()
    model.replace_all(assets)
    load_ms = (time.perf_counter() - t0) * 1000.0
    del assets
    rng = np.random.default_rng(seed + 1)
    status: list[float] = []
    mixed: list[float] = []
    next_id = n_assets + 1
    for _ in range(repeats):
        ids = rng.choice(model.ids, size=10_000, replace=False)
        codes = rng.integers(0, len(STATUSES), len(ids))
        batch = [{"id": int(i), "status": STATUSES[c]} for i, c in zip(ids, codes, strict=True)]
        t0 = time.perf_counter()
        model.upsert(batch)
        status.append((time.perf_counter() - t0) * 1000.0)
        burst = mixed_burst(model, 10_000, rng, next_id)
        next_id += 10_000
        t0 = time.perf_counter()
        with contextlib.suppress(LayerInputError):  # the bad ones are refused, the rest apply
            model.upsert(burst)
        mixed.append((time.perf_counter() - t0) * 1000.0)
    print(
        f"load {load_ms:.0f} ms; status bursts {[round(s, 1) for s in status]} ms;"
        f" mixed bursts {[round(m, 1) for m in mixed]} ms",
        file=sys.stderr,
    )
    return {
        "assets": n_assets,
        "load_ms": round(load_ms, 1),
        "status_10k_ms": round(statistics.median(status), 2),
        "mixed_10k_ms": round(statistics.median(mixed), 2),
    }


def main() -> int:
    """Parse arguments, run, print the JSON line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--assets", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    print(json.dumps(run(args.assets, args.repeats, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
