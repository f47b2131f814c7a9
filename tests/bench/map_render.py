"""Map render benchmark: the console's map against the naive way, on Cambridge streets.

    QT_QPA_PLATFORM=offscreen python tests/bench/map_render.py [--assets N] [--rounds R]

A 1920x1080 window shows Cambridge's street centerlines (read straight from
the GeoJSON into road records, as the console receives them), N assets placed
along the streets, 500 crews and 5,000 open issues. A scripted sequence of 64
view changes (pan across the city, zoom in to street level, pan there, zoom
out to the whole city, a mid-zoom tour) is played on two windows in the same
run: the console's :class:`~widgets.map_canvas.MapCanvas`, and the naive
scene (one plain ``ScatterPlotItem`` per layer with a brush per point, all
roads as one uncached ``PlotCurveItem`` with a connect array). A frame is
timed from the view change through settling to a synchronous
``viewport().repaint()``, the same for both. The two are played in turns for
``--rounds`` rounds and the medians of all frames are reported, so load from
other processes falls on both alike.

Also timed: start to the first complete frame (window and canvas created,
roads, assets, crews and issues loaded, first paint), and 10,000 asset status
changes (one upsert) through to the repainted frame. The last line is JSON:
``{"assets": N, "frame_ms_median": F, "naive_frame_ms_median": G,
"update_10k_ms": U, "first_frame_ms": S}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from pyqtgraph.Qt import QtCore, QtWidgets  # noqa: E402

from layers import palette  # noqa: E402
from layers.assets.model import AssetLayerModel  # noqa: E402
from layers.crews.model import CrewLayerModel  # noqa: E402
from layers.issues.model import IssueLayerModel  # noqa: E402
from layers.projection import LocalProjection  # noqa: E402
from layers.roads.model import RoadLayerModel  # noqa: E402
from widgets.map_canvas import MapCanvas  # noqa: E402

CENTERLINES = ROOT.parent / "shared" / "data" / "cambridge" / "TRANS_Centerlines.geojson"
SIZE = (1920, 1080)
NOW = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
KINDS = ("street_light", "hydrant", "traffic_signal", "valve", "sensor")
STATUSES = ("ok", "warning", "alarm", "out_of_service", "under_repair")
STATUS_P = (0.86, 0.06, 0.02, 0.03, 0.03)
CATEGORIES = (
    "Street Light Outages",
    "Request for Pothole Repair",
    "Graffiti Removal",
    "Catch Basin",
    "Tree Maintenance",
)
CREW_STATUSES = ("available", "en_route", "on_site", "off_shift")
_MAJOR = {1: "primary", 2: "secondary"}
_DIRECTION = {"0": 0, "1": 1, "-1": -1}


def road_records(path: Path = CENTERLINES) -> list[dict[str, Any]]:
    """Cambridge centerlines as the road records the console receives (Cambridge coding)."""
    with open(path, encoding="utf-8") as f:
        fc = json.load(f)
    out: list[dict[str, Any]] = []
    for i, feat in enumerate(fc["features"]):
        geom, props = feat.get("geometry") or {}, feat.get("properties") or {}
        if geom.get("type") not in ("LineString", "MultiLineString"):
            continue
        major = props.get("MajorRoad")
        name = props.get("Street") or props.get("Label") or ""
        road_class = _MAJOR.get(int(major) if isinstance(major, int | float) else 0, "residential")
        if "footbridge" in str(name).lower():
            road_class = "footway"
        coords = geom["coordinates"]
        out.append(
            {
                "id": i + 1,
                "name": name,
                "road_class": road_class,
                "oneway": _DIRECTION.get(str(props.get("Direction")), 0),
                "coords": coords,
            }
        )
    return out


def _points_along_roads(
    roads: list[dict[str, Any]], n: int, rng: np.random.Generator, jitter_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """N lon/lat points on random street segments, a few metres off the centreline."""
    segs = []
    for r in roads:
        parts = r["coords"] if isinstance(r["coords"][0][0], list) else [r["coords"]]
        for p in parts:
            a = np.asarray(p, dtype=float)[:, :2]
            segs.append(np.column_stack([a[:-1], a[1:]]))
    s = np.concatenate(segs)  # (m, 4): lon0, lat0, lon1, lat1
    length = np.hypot((s[:, 2] - s[:, 0]) * 82.0, (s[:, 3] - s[:, 1]) * 111.0)
    pick = rng.choice(len(s), size=n, p=length / length.sum())
    t = rng.random(n)
    lon = s[pick, 0] + t * (s[pick, 2] - s[pick, 0])
    lat = s[pick, 1] + t * (s[pick, 3] - s[pick, 1])
    lon += rng.normal(0.0, jitter_m / 82_000.0, n)
    lat += rng.normal(0.0, jitter_m / 111_000.0, n)
    return lon, lat


def scene_records(
    roads: list[dict[str, Any]], n_assets: int, seed: int = 11
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Assets, open issues and crews spread over the city's streets."""
    rng = np.random.default_rng(seed)
    lon, lat = _points_along_roads(roads, n_assets, rng, 12.0)
    kind = rng.integers(0, len(KINDS), n_assets)
    status = rng.choice(len(STATUSES), size=n_assets, p=STATUS_P)
    assets = [
        {
            "id": i + 1,
            "kind": KINDS[kind[i]],
            "name": f"Asset {i + 1}",
            "lon": float(lon[i]),
            "lat": float(lat[i]),
            "status": STATUSES[status[i]],
        }
        for i in range(n_assets)
    ]
    n_issues = 5000
    ilon, ilat = _points_along_roads(roads, n_issues, rng, 20.0)
    ages = rng.exponential(2 * 86400.0, n_issues)
    issues = [
        {
            "id": i + 1,
            "category": CATEGORIES[i % len(CATEGORIES)],
            "lon": float(ilon[i]),
            "lat": float(ilat[i]),
            "status": ("open", "acknowledged", "in_progress")[i % 3],
            "requested_at": (NOW - timedelta(seconds=float(ages[i]))).isoformat(),
            "address": f"{i + 1} Main St",
        }
        for i in range(n_issues)
    ]
    n_crews = 500
    clon, clat = _points_along_roads(roads, n_crews, rng, 5.0)
    crews = [
        {
            "id": i + 1,
            "name": f"Crew {i + 1}",
            "status": CREW_STATUSES[i % 4],
            "last_lon": float(clon[i]),
            "last_lat": float(clat[i]),
            "last_heading": float(rng.uniform(0, 360)),
            "last_seen_at": NOW - timedelta(seconds=float(rng.uniform(0, 300))),
        }
        for i in range(n_crews)
    ]
    return assets, issues, crews


def script(home: QtCore.QRectF, focus: tuple[float, float]) -> list[QtCore.QRectF]:
    """64 view rectangles: pan across, zoom in to a street corner, pan there, zoom out, mid tour.

    ``focus`` is a point on a street (a road vertex near the city's centre): the
    zoom closes in on it the way a wheel zoom closes in on the cursor, so the
    street-level frames show streets and assets, not the empty land past the
    city's edge that a zoom about a fixed offset of the home view can land on.
    """
    cx, cy, w, h = home.center().x(), home.center().y(), home.width(), home.height()
    fx, fy = focus
    out: list[QtCore.QRectF] = []

    def add(cx: float, cy: float, w: float) -> None:
        hh = w * h / home.width()
        out.append(QtCore.QRectF(cx - w / 2, cy - hh / 2, w, hh))

    x = cx - 0.3 * w
    for _ in range(12):  # pan across the whole city
        x += 0.05 * w
        add(x, cy, w)
    zw = w
    k = 1.0
    for _ in range(14):  # zoom in towards a street corner
        zw *= 0.78
        k *= 0.78
        add(fx + (x - fx) * k, fy + (cy - fy) * k, zw)
    for i in range(12):  # pan at street level
        add(fx + (i + 1) * 0.15 * zw, fy + (i % 3) * 0.1 * zw, zw)
    sx = fx + 12 * 0.15 * zw
    for _ in range(14):  # zoom out to the whole city
        zw /= 0.78
        add(sx, fy, zw)
    for i in range(12):  # a tour at mid zoom
        add(cx + (i - 6) * 0.04 * w, cy + ((i % 4) - 2) * 0.04 * h, 0.3 * w)
    return out


def street_focus(roads: RoadLayerModel, home: QtCore.QRectF) -> tuple[float, float]:
    """The road vertex nearest the home view's centre (metres)."""
    xy = np.concatenate([p for parts in roads.geometry.values() for p in parts])
    c = home.center()
    i = int(np.argmin((xy[:, 0] - c.x()) ** 2 + (xy[:, 1] - c.y()) ** 2))
    return float(xy[i, 0]), float(xy[i, 1])


class NaiveMap:
    """The same scene drawn the naive way: plain items, a brush per point, no caches."""

    def __init__(
        self,
        roads: RoadLayerModel,
        assets: AssetLayerModel,
        issues: IssueLayerModel,
        crews: CrewLayerModel,
    ) -> None:
        self.window = QtWidgets.QMainWindow()
        self.graphics = pg.GraphicsView(background=palette.BACKGROUND)
        self.view = pg.ViewBox(lockAspect=True, enableMenu=False)
        self.graphics.setCentralItem(self.view)
        self.window.setCentralWidget(self.graphics)
        xs, ys, cs = [], [], []
        for group in palette.ROAD_STYLES:
            x, y, c = roads.polylines(group)
            xs.append(x)
            ys.append(y)
            cs.append(c)
        self.view.addItem(
            pg.PlotCurveItem(
                x=np.concatenate(xs),
                y=np.concatenate(ys),
                connect=np.concatenate(cs).astype(np.int32),
                pen=pg.mkPen("#566070", width=1.3),
            )
        )
        for model, symbol_of, colour_of in (
            (assets, palette.asset_symbol, lambda s: palette.asset_status_style(s).colour),
            (issues, palette.issue_symbol, lambda s: palette.OKABE_ITO["orange"]),
            (crews, lambda _: "t1", lambda s: palette.crew_status_style(s).colour),
        ):
            t = model.table.rows
            first = model.filter_fields[0]
            syms = np.array([symbol_of(n) for n in model.vocab[first].names], dtype=object)
            st = model.vocab["status"].names
            brushes = np.array([pg.mkBrush(colour_of(s)) for s in st], dtype=object)
            self.view.addItem(
                pg.ScatterPlotItem(
                    x=t["x"],
                    y=t["y"],
                    symbol=syms[t[f"{first}_code"]],
                    size=8,
                    pen=None,
                    brush=list(brushes[t["status_code"]]),
                    pxMode=True,
                )
            )
        self.window.resize(*SIZE)
        self.window.show()

    def frame(self, rect: QtCore.QRectF) -> float:
        """Apply a view rectangle and repaint; milliseconds."""
        t0 = time.perf_counter()
        self.view.setRange(rect, padding=0.0)
        self.graphics.viewport().repaint()
        return (time.perf_counter() - t0) * 1000.0


class ConsoleMap:
    """The console's canvas with the four layers, timed from nothing to the first frame."""

    def __init__(
        self,
        projection: LocalProjection,
        roads: list[dict[str, Any]],
        assets: list[dict[str, Any]],
        issues: list[dict[str, Any]],
        crews: list[dict[str, Any]],
    ) -> None:
        app = QtWidgets.QApplication.instance()
        t0 = time.perf_counter()
        clock = lambda: NOW  # noqa: E731
        self.window = QtWidgets.QMainWindow()
        self.canvas = MapCanvas(projection, tick_interval_ms=0)
        self.window.setCentralWidget(self.canvas)
        self.roads = RoadLayerModel(projection)
        self.assets = AssetLayerModel(projection)
        self.issues = IssueLayerModel(projection, clock=clock)
        self.crews = CrewLayerModel(projection, clock=clock)
        for model, recs in (
            (self.roads, roads),
            (self.assets, assets),
            (self.issues, issues),
            (self.crews, crews),
        ):
            model.replace_all(recs)
            self.canvas.add_layer(model)
        self.window.resize(*SIZE)
        self.window.show()
        assert app is not None
        app.processEvents()
        self.canvas.home()
        self.canvas.render_now()
        self.first_frame_ms = (time.perf_counter() - t0) * 1000.0

    def frame(self, rect: QtCore.QRectF) -> float:
        """Apply a view rectangle, settle and repaint; milliseconds."""
        t0 = time.perf_counter()
        self.canvas.view.setRange(rect, padding=0.0)
        self.canvas.render_now()
        return (time.perf_counter() - t0) * 1000.0

    def status_changes(self, n: int, rng: np.random.Generator) -> float:
        """N asset status changes in one upsert, settled and repainted; milliseconds."""
        ids = rng.choice(self.assets.ids, size=min(n, len(self.assets)), replace=False)
        new = rng.integers(0, len(STATUSES), len(ids))
        batch = [{"id": int(i), "status": STATUSES[s]} for i, s in zip(ids, new, strict=True)]
        t0 = time.perf_counter()
        self.assets.upsert(batch)
        self.canvas.render_now()
        return (time.perf_counter() - t0) * 1000.0


def _run_frames(frame: Callable[[QtCore.QRectF], float], rects: list[QtCore.QRectF]) -> list[float]:
    app = QtWidgets.QApplication.instance()
    assert app is not None
    out = []
    for r in rects:
        out.append(frame(r))
        app.processEvents()  # untimed: let queued events pass, as the event loop would
    return out


def run(n_assets: int, rounds: int, seed: int = 11) -> dict[str, Any]:
    """Build both scenes, play the script on each in turns, return the figures."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    roads = road_records()
    assets, issues, crews = scene_records(roads, n_assets, seed)
    all_lon = [p[0] for r in roads for p in r["coords"] if isinstance(p[0], float)]
    all_lat = [p[1] for r in roads for p in r["coords"] if isinstance(p[0], float)]
    projection = LocalProjection.for_points(all_lon, all_lat)
    gc.collect()
    console = ConsoleMap(projection, roads, assets, issues, crews)
    print(f"first frame: {console.first_frame_ms:.0f} ms", file=sys.stderr, flush=True)
    del assets, issues, crews
    home = console.canvas.view.viewRect()
    t0 = time.perf_counter()
    naive = NaiveMap(console.roads, console.assets, console.issues, console.crews)
    naive.view.setRange(home, padding=0.0)
    naive.graphics.viewport().repaint()
    print(f"naive setup: {(time.perf_counter() - t0) * 1000:.0f} ms", file=sys.stderr)
    rects = script(home, street_focus(console.roads, home))
    mine: list[float] = []
    theirs: list[float] = []
    for k in range(rounds):
        m = _run_frames(console.frame, rects)
        n = _run_frames(naive.frame, rects)
        mine += m
        theirs += n
        print(
            f"round {k}: console median {statistics.median(m):.2f} ms "
            f"(max {max(m):.1f}), naive median {statistics.median(n):.2f} ms",
            file=sys.stderr,
            flush=True,
        )
    phases = {
        "pan_city": slice(0, 12),
        "zoom_in": slice(12, 26),
        "pan_street": slice(26, 38),
        "zoom_out": slice(38, 52),
        "mid_tour": slice(52, 64),
    }
    nr = len(rects)
    for name, sl in phases.items():
        pick_m = [mine[k * nr + i] for k in range(rounds) for i in range(nr)[sl]]
        pick_n = [theirs[k * nr + i] for k in range(rounds) for i in range(nr)[sl]]
        cold = [mine[i] for i in range(nr)[sl]]
        print(
            f"  {name:10s} console {statistics.median(pick_m):7.2f} ms"
            f" (first round {statistics.median(cold):6.2f})"
            f"   naive {statistics.median(pick_n):7.2f} ms",
            file=sys.stderr,
        )
    console.canvas.home()
    console.canvas.render_now()
    rng = np.random.default_rng(seed + 1)
    updates = []
    for _ in range(max(3, rounds)):
        updates.append(console.status_changes(10_000, rng))
        app.processEvents()
    print(f"10k status changes: {[round(u, 1) for u in updates]} ms", file=sys.stderr)
    result = {
        "assets": n_assets,
        "frame_ms_median": round(statistics.median(mine), 2),
        "naive_frame_ms_median": round(statistics.median(theirs), 2),
        "update_10k_ms": round(statistics.median(updates), 2),
        "first_frame_ms": round(console.first_frame_ms, 1),
    }
    for w in (console.window, naive.window):
        w.close()
        w.deleteLater()
    app.processEvents()
    return result


def main() -> int:
    """Parse arguments, run, print the JSON line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--assets", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    result = run(args.assets, args.rounds, args.seed)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
