"""Benchmark: citizens' reports through the Open311 gateway into a real backend.

    python tests/bench/open311.py [--posts 400] [--clients 4] [--db URL]

Starts a backend process on a fresh SQLite file (or ``--db``) and the gateway
on a free port in this process, then ``--clients`` threads each POST their
share of ``--posts`` distinct reports over keep-alive HTTP connections
(every report one ``report_issue`` command, committed with its events),
then GET the whole list (up to 1,000) a few times.

Prints details first, then, last, one JSON line:
``{"posts": N, "posts_per_s": R, "post_p50_ms": A, "post_p99_ms": B, "list_ms": C}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.db.engine import make_engine  # noqa: E402
from backend.db.migrate import upgrade  # noqa: E402
from backend.open311.server import GatewayServer, build_app  # noqa: E402
from tests.backend.service.helpers import Backend  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post_all(host: str, port: int, numbers: range, times: list[float]) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for n in numbers:
        body = urllib.parse.urlencode(
            {
                "service_code": "pothole",
                "lat": f"{60.15 + (n % 100) / 1000:.5f}",
                "long": f"{24.90 + (n // 100) / 1000:.5f}",
                "description": f"bench report {n}",
                "email": f"citizen{n % 50}@example.org",
            }
        )
        t0 = time.perf_counter()
        conn.request("POST", "/requests.json", body=body, headers=FORM)
        response = conn.getresponse()
        data = response.read()
        times.append(time.perf_counter() - t0)
        if response.status != 200:
            raise RuntimeError(f"POST {n}: {response.status} {data[:200]!r}")
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        backend = Backend(url).start()
        gateway = GatewayServer(build_app(backend.router, "open311"), "127.0.0.1", 0).start()
        try:
            host, port = gateway.server.effective_host, gateway.server.effective_port
            per_client: list[list[float]] = [[] for _ in range(args.clients)]
            threads = [
                threading.Thread(
                    target=_post_all,
                    args=(host, port, range(i, args.posts, args.clients), per_client[i]),
                )
                for i in range(args.clients)
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            times = sorted(x for c in per_client for x in c)
            if len(times) != args.posts:
                raise RuntimeError(f"{len(times)} of {args.posts} posts answered")
            conn = http.client.HTTPConnection(host, port, timeout=60)
            lists = []
            for _ in range(3):
                t1 = time.perf_counter()
                conn.request("GET", "/requests.json")
                response = conn.getresponse()
                listed = json.loads(response.read())
                lists.append(time.perf_counter() - t1)
            conn.close()
            print(f"listed {len(listed)} requests; list times {[round(x * 1000) for x in lists]}")
        finally:
            gateway.stop()
            backend.stop()
    result = {
        "posts": args.posts,
        "posts_per_s": round(args.posts / elapsed, 1),
        "post_p50_ms": round(statistics.median(times) * 1000, 2),
        "post_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 2),
        "list_ms": round(min(lists) * 1000, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
