"""Benchmark: top-3 crew recommendation with routes on the Cambridge street network.

    python tests/bench/recommend.py [--data DIR] [--jobs 1000] [--crews 50] [--naive-jobs N]

1. Imports ``cambridge/TRANS_Centerlines.geojson`` through the importer registry
   into a temporary SQLite file and builds the driving graph from the ``roads``
   table (the path the backend takes).
2. Places 50 crews and 1,000 jobs at random road positions (seeded, chance
   proportional to segment length), with random skills, position ages,
   workloads and shifts, so every filter of the recommendation is exercised.
3. **Fast**: :func:`backend.routing.recommend` per job (snapping, one reversed
   scipy Dijkstra from the job, ranking, three routes with geometry), timed
   per job.
4. **Naive**: the same recommendation with one networkx shortest path
   (``single_source_dijkstra`` with early exit at the job) per eligible crew per
   job, on a networkx graph of the same arcs with the same virtual nodes.
   It runs on all the jobs (about a minute on a quiet machine, so no
   extrapolation is needed); ``--naive-jobs N`` limits it to the first N for
   a quick run, whose p95 is then a sample estimate (the jobs are random).
   Its top 3 must equal the fast one's (same crews, ETAs within 1 ms); the
   run fails otherwise.

Prints details first, then, last, one JSON line:
``{"graph_edges": E, "p50_ms": A, "p95_ms": B, "naive_p95_ms": C}`` where E
counts the directed arcs a vehicle may drive (a two-way segment is two arcs).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from backend.db.engine import make_engine, make_sessionmaker  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.importers.base import ImportOptions  # noqa: E402
from backend.importers.registry import import_files  # noqa: E402
from backend.routing import (  # noqa: E402
    CrewSpec,
    JobSpec,
    RecommendPolicy,
    RoadGraph,
    Router,
    Snap,
    graph_from_db,
    recommend,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SKILLS = ("electrical", "plumbing", "roads", "signals")


def load_router(data: Path) -> tuple[Router, float]:
    """Import the Cambridge centerlines into a temporary SQLite file; build the router from it."""
    path = data / "cambridge" / "TRANS_Centerlines.geojson"
    if not path.is_file():
        raise SystemExit(f"{path} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite")
        upgrade(engine)
        result = import_files(engine, [path], ImportOptions())
        if result.refused:
            raise SystemExit(f"refused: {result.refused}")
        start = time.perf_counter()
        with make_sessionmaker(engine)() as session:
            router = Router(graph_from_db(session))  # graph, lookup tables, STRtree
        seconds = time.perf_counter() - start
        engine.dispose()
    return router, seconds


def random_positions(
    graph: RoadGraph, n: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """``n`` lon/lat points on the roads, uniformly by length."""
    weights = graph.seg_proj_len / graph.seg_proj_len.sum()
    segs = rng.choice(graph.n_segments, size=n, p=weights)
    out = []
    for seg in segs.tolist():
        along = float(rng.uniform(0.0, graph.seg_proj_len[seg]))
        lon, lat = graph.piece_lonlat(seg, along, along)[0]
        out.append((float(lon), float(lat)))
    return out


def make_crews(graph: RoadGraph, n: int, rng: np.random.Generator) -> list[CrewSpec]:
    """Crews with 2-4 skills, positions 0-5 min old, 0-3 queued jobs, 90 % on shift."""
    crews = []
    for i, (lon, lat) in enumerate(random_positions(graph, n, rng), start=1):
        skills = rng.choice(SKILLS, size=int(rng.integers(2, 5)), replace=False)
        crews.append(
            CrewSpec(
                crew_id=i,
                lon=lon,
                lat=lat,
                last_seen=NOW - timedelta(seconds=float(rng.uniform(0, 300))),
                skills=frozenset(str(s) for s in skills),
                workload=int(rng.integers(0, 4)),
                on_shift=bool(rng.random() < 0.9),
            )
        )
    return crews


def make_jobs(graph: RoadGraph, n: int, rng: np.random.Generator) -> list[JobSpec]:
    """Jobs needing no skill (30 %) or one skill (70 %)."""
    jobs = []
    for i, (lon, lat) in enumerate(random_positions(graph, n, rng), start=1):
        need = frozenset() if rng.random() < 0.3 else frozenset({str(rng.choice(SKILLS))})
        jobs.append(JobSpec(job_id=i, lon=lon, lat=lat, skills=need))
    return jobs


class NaiveRecommender:
    """The same recommendation with one networkx shortest path per crew per job."""

    def __init__(self, router: Router, crews: list[CrewSpec], policy: RecommendPolicy):
        self.router, self.graph, self.policy = router, router.graph, policy
        g = self.graph
        self.nx = nx.DiGraph()
        self.nx.add_nodes_from(range(g.n_nodes))
        for tail in range(g.n_nodes):
            for entry in range(int(g.fwd_indptr[tail]), int(g.fwd_indptr[tail + 1])):
                self.nx.add_edge(tail, int(g.fwd_indices[entry]), weight=float(g.fwd_data[entry]))
        self.crews = crews
        snaps = router.snapper.snap_many(
            [c.lon for c in crews],  # type: ignore[misc]
            [c.lat for c in crews],  # type: ignore[misc]
            policy.max_snap_m,
        )
        self.crew_snaps = dict(zip((c.crew_id for c in crews), snaps, strict=True))
        for crew in crews:  # each crew a virtual source node leaving its segment
            snap = self.crew_snaps[crew.crew_id]
            if snap is not None:
                for node, cost in self._ends(snap, leaving=True):
                    self._add_min(("crew", crew.crew_id), node, cost)

    def _ends(self, snap: Snap, leaving: bool) -> list[tuple[int, float]]:
        """(node, seconds) between a mid-segment position and the segment ends it may use."""
        g, s, f = self.graph, snap.segment, snap.fraction
        w = float(g.seg_time_s[s])
        to_end = g.seg_fwd[s] if leaving else g.seg_bwd[s]
        to_start = g.seg_bwd[s] if leaving else g.seg_fwd[s]
        out = []
        if to_end or f == 1.0:
            out.append((int(g.seg_v[s]), (1.0 - f) * w))
        if to_start or f == 0.0:
            out.append((int(g.seg_u[s]), f * w))
        return out

    def _add_min(self, a: object, b: object, cost: float) -> None:
        if not self.nx.has_edge(a, b) or self.nx[a][b]["weight"] > cost:
            self.nx.add_edge(a, b, weight=cost)

    def recommend(self, job: JobSpec) -> list[tuple[int, float, list[tuple[float, float]]]]:
        """Top crews as (crew id, ETA seconds, route lon/lat)."""
        g, p = self.graph, self.policy
        target = self.router.snapper.snap(job.lon, job.lat, p.max_snap_m)
        if target is None:
            return []
        job_node = ("job", job.job_id)
        for node, cost in self._ends(target, leaving=False):
            self._add_min(node, job_node, cost)
        ranked = []
        try:
            for crew in self.crews:
                snap = self.crew_snaps[crew.crew_id]
                if not crew.on_shift or not job.skills <= crew.skills or snap is None:
                    continue
                src = ("crew", crew.crew_id)
                f, tf, s = snap.fraction, target.fraction, snap.segment
                direct = s == target.segment and (
                    f == tf or (g.seg_fwd[s] and f < tf) or (g.seg_bwd[s] and f > tf)
                )
                if direct:
                    self._add_min(src, job_node, abs(tf - f) * float(g.seg_time_s[s]))
                try:
                    eta, path = nx.single_source_dijkstra(self.nx, src, target=job_node)
                except nx.NetworkXNoPath:
                    continue
                finally:
                    if direct:
                        self.nx.remove_edge(src, job_node)
                age = (NOW - crew.last_seen).total_seconds() if crew.last_seen else None
                stale = age is None or age > p.stale_after_s
                score = eta + p.workload_penalty_s * crew.workload
                ranked.append((stale, score, eta, crew.crew_id, path))
        finally:
            self.nx.remove_node(job_node)
        ranked.sort(key=lambda r: r[:4])
        return [(r[3], r[2], self._coords(r[4])) for r in ranked[: p.top]]

    def _coords(self, path: list[object]) -> list[tuple[float, float]]:
        """Lon/lat through the real nodes of a networkx path (segment geometry between them)."""
        g = self.graph
        coords: list[tuple[float, float]] = []
        nodes = [n for n in path if isinstance(n, int)]
        for a, b in pairwise(nodes):
            entry = g.arc_entry(a, b)
            ll = g.seg_lonlat[int(g.fwd_seg[entry])]
            coords.extend(map(tuple, (ll if g.fwd_dir[entry] > 0 else ll[::-1]).tolist()))
        return coords


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--crews", type=int, default=50)
    parser.add_argument("--naive-jobs", type=int, default=None, help="default: all jobs")
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()

    router, build_s = load_router(args.data)
    graph, policy = router.graph, RecommendPolicy()
    print(f"graph: {graph.stats} built in {build_s * 1000:.0f} ms (with its STRtree)")
    rng = np.random.default_rng(args.seed)
    crews = make_crews(graph, args.crews, rng)
    jobs = make_jobs(graph, args.jobs, rng)

    fast_ms, fast = [], []
    for job in jobs:
        start = time.perf_counter_ns()
        rec = recommend(router, job, crews, NOW, policy)
        fast_ms.append((time.perf_counter_ns() - start) / 1e6)
        fast.append(rec)
    choices = [len(r.choices) for r in fast]
    stale = sum(c.stale for r in fast for c in r.choices)
    print(
        f"fast: {len(jobs)} jobs, {sum(choices)} choices ({stale} stale), "
        f"mean {np.mean(fast_ms):.2f} ms, max {np.max(fast_ms):.2f} ms"
    )

    naive = NaiveRecommender(router, crews, policy)
    naive_ms, mismatches = [], 0
    naive_jobs = jobs if args.naive_jobs is None else jobs[: args.naive_jobs]
    for job, rec in zip(naive_jobs, fast, strict=False):
        start = time.perf_counter_ns()
        top = naive.recommend(job)
        naive_ms.append((time.perf_counter_ns() - start) / 1e6)
        same = [c.crew_id for c in rec.choices] == [t[0] for t in top] and all(
            math.isclose(c.eta_s, t[1], abs_tol=1e-3)
            for c, t in zip(rec.choices, top, strict=False)
        )
        mismatches += not same
    print(
        f"naive (networkx, one path per crew per job): {len(naive_ms)} of {len(jobs)} jobs, "
        f"mean {np.mean(naive_ms):.1f} ms; top-3 disagreements with fast: {mismatches}"
    )
    if mismatches:
        print("ERROR: naive and fast recommendations disagree", file=sys.stderr)
    print(
        json.dumps(
            {
                "graph_edges": graph.n_arcs,
                "p50_ms": round(float(np.percentile(fast_ms, 50)), 3),
                "p95_ms": round(float(np.percentile(fast_ms, 95)), 3),
                "naive_p95_ms": round(float(np.percentile(naive_ms, 95)), 3),
            }
        )
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
