"""``python main.py backend``: run the live-bus backend service.

Endpoints (port convention): ``--bind tcp://HOST:PORT`` (default
``tcp://127.0.0.1:7700``) puts the PUB socket (deltas + heartbeat) on PORT and
the ROUTER socket (snapshot + commands) on PORT+1. SIGINT or SIGTERM stops it
cleanly (exit code 0) after publishing what is committed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

log = logging.getLogger(__name__)


def cmd_backend(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM."""
    from backend.cli import open_database
    from backend.service.server import BackendService, endpoints

    try:
        endpoints(args.bind)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.simulate:
        print("note: the live city simulator is not built yet; serving without it", file=sys.stderr)
    engine = open_database(args.db)
    service = BackendService(engine, bind=args.bind, pub_hwm=args.pub_hwm)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: shutting down", signum)
        service.stop()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            service.bind()
        except Exception as exc:
            print(f"error: cannot bind {args.bind}: {exc}", file=sys.stderr)
            return 2
        print(
            f"backend serving: PUB {service.pub_endpoint} (deltas, heartbeat), "
            f"ROUTER {service.router_endpoint} (snapshot, commands)",
            flush=True,
        )
        service.run()
    finally:
        service.close()
        engine.dispose()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``backend`` to ``main.py``'s parser."""
    from backend.cli import add_db_option

    p = sub.add_parser(
        "backend",
        help="run the live-bus backend service",
        description="Run the backend: PUB socket for deltas and heartbeats on the --bind port, "
        "ROUTER socket for snapshots and commands on the port after it. "
        "Stops cleanly on SIGINT/SIGTERM.",
    )
    add_db_option(p)
    p.add_argument(
        "--bind",
        default="tcp://127.0.0.1:7700",
        help="PUB endpoint tcp://HOST:PORT; ROUTER binds PORT+1 (default tcp://127.0.0.1:7700)",
    )
    p.add_argument(
        "--pub-hwm",
        type=int,
        default=10_000,
        metavar="N",
        help="messages queued per console before a slow one starts losing deltas "
        "(it then sees the gap and re-snapshots; default 10000)",
    )
    p.add_argument(
        "--simulate", action="store_true", help="also run the live city simulator (not built yet)"
    )
    p.set_defaults(func=cmd_backend)
