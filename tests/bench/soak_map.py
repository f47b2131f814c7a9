"""Soak the map: thousands of features, random deltas, thousands of repaints.

    python tests/bench/soak_map.py [--repaints 3000] [--assets 3000]

Each round applies a few random deltas (asset statuses, issue moves and
closures, crew positions), lets the canvas settle them, and repaints the
window synchronously. Windows and the application are closed and deleted in
order so the process exits 0. The last line is JSON:
``{"repaints": N, "p50_ms": .., "p99_ms": .., "rss_growth_mb": ..}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from pyqtgraph.Qt import QtWidgets  # noqa: E402

from layers.assets.model import AssetLayerModel  # noqa: E402
from layers.crews.model import CrewLayerModel  # noqa: E402
from layers.issues.model import IssueLayerModel  # noqa: E402
from layers.projection import LocalProjection  # noqa: E402
from layers.roads.model import RoadLayerModel  # noqa: E402
from tests.layers import synthetic as syn  # noqa: E402
from widgets.map_canvas import MapCanvas  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process, in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def soak(repaints: int, n_assets: int, seed: int = 7) -> dict[str, float]:
    """Run the soak; returns the figures."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rng = np.random.default_rng(seed)
    clock_now = [syn.NOW]
    clock = lambda: clock_now[0]  # noqa: E731
    p = LocalProjection(*syn.CENTRE)
    roads, assets = RoadLayerModel(p), AssetLayerModel(p)
    issues, crews = IssueLayerModel(p, clock=clock), CrewLayerModel(p, clock=clock)
    roads.replace_all(syn.roads(20))
    assets.replace_all(syn.assets(n_assets))
    issues.replace_all(syn.issues(n_assets // 3))
    crews.replace_all(syn.crews(60))
    window = QtWidgets.QMainWindow()
    canvas = MapCanvas(p, tick_interval_ms=0)
    window.setCentralWidget(canvas)
    for m in (roads, assets, issues, crews):
        canvas.add_layer(m)
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    canvas.home()
    canvas.render_now()
    next_issue = 10_000_000
    times: list[float] = []
    rss0 = 0.0
    warmup = min(200, repaints // 5)
    for i in range(repaints):
        if i == warmup:
            gc.collect()
            rss0 = rss_mb()
        t0 = time.perf_counter()
        ids = rng.integers(1, n_assets + 1, size=int(rng.integers(1, 20)))
        assets.upsert(
            [{"id": int(a), "status": syn.ASSET_STATUSES[int(rng.integers(0, 5))]} for a in ids]
        )
        c = int(rng.integers(1, 61))
        here = crews.record(c)
        crews.upsert(
            [
                {
                    "id": c,
                    # A crew moves some tens of metres between reports.
                    "last_lon": here["last_lon"] + float(rng.normal(0, 3e-4)),
                    "last_lat": here["last_lat"] + float(rng.normal(0, 2e-4)),
                    "last_heading": float(rng.uniform(0, 360)),
                    "last_seen_at": clock_now[0],
                }
            ]
        )
        if i % 5 == 0:
            next_issue += 1
            issues.upsert([{**syn.issues(1, seed=i)[0], "id": next_issue}])
            issues.upsert([{"id": int(rng.choice(issues.ids)), "status": "closed"}])
        if i % 50 == 0:
            clock_now[0] += timedelta(seconds=30)
            canvas.tick()
        if i % 300 == 150:
            canvas.zoom_by(0.7 if (i // 300) % 2 else 1 / 0.7)
        if i % 100 == 0:
            canvas.pan_by(float(rng.uniform(-0.1, 0.1)), float(rng.uniform(-0.1, 0.1)))
        canvas.render_now()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1000.0)
    gc.collect()
    growth = rss_mb() - rss0
    painted = canvas.renderers["roads"].item.paints  # type: ignore[attr-defined]
    if painted < repaints:
        raise RuntimeError(
            f"only {painted} paints for {repaints} repaints: the soak measured nothing"
        )
    # Tear down in order: window (and its canvas), then events, then the app.
    window.close()
    window.deleteLater()
    app.processEvents()
    del canvas, window
    gc.collect()
    app.processEvents()
    arr = np.array(times[warmup:] or times)
    return {
        "repaints": repaints,
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p99_ms": round(float(np.percentile(arr, 99)), 2),
        "rss_growth_mb": round(growth, 1),
    }


def main() -> int:
    """Parse arguments, soak, print the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repaints", type=int, default=3000)
    ap.add_argument("--assets", type=int, default=3000)
    args = ap.parse_args()
    result = soak(args.repaints, args.assets)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
