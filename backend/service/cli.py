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
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from backend.db.watchdog import DEFAULT_DEADLINE_S
from backend.importers.base import ImportRefused
from backend.service.readings import RAW_KEEP

if TYPE_CHECKING:
    from backend.simulator.city import SimOptions

log = logging.getLogger(__name__)


def cmd_backend(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM."""
    from backend.cli import open_database
    from backend.config import resolve_db_url
    from backend.service.risk_schedule import RiskScoringSchedule
    from backend.service.routing_cache import warm as warm_routing
    from backend.service.server import BackendService, endpoints

    try:
        endpoints(args.bind)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options: SimOptions | None = None
    if args.simulate:
        try:
            options = sim_options(args)
        except (OSError, ValueError, ImportRefused) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    url = resolve_db_url(args.db)
    # No ping before each use: a ping to a hung server would block where the watchdog
    # cannot see it (SQLAlchemy pings before a checkout is announced). A connection that
    # died fails its command as "unavailable" and is replaced; the next one reconnects.
    engine = open_database(url, pool_pre_ping=args.db_deadline <= 0)
    scoring: RiskScoringSchedule | None = None
    simulator: tuple[threading.Thread, threading.Event] | None = None
    if args.simulate:
        from backend.simulator.accounts import ensure_simulator_users

        ensure_simulator_users(engine)
    if args.raw_days <= 0:
        print("error: --raw-days must be positive", file=sys.stderr)
        return 2
    service = BackendService(
        engine,
        bind=args.bind,
        pub_hwm=args.pub_hwm,
        db_deadline_s=args.db_deadline,
        raw_keep=timedelta(days=args.raw_days),
    )

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
        simulator = _start_simulator(service.router_endpoint, options) if options else None
        warm_routing(engine)  # the first dispatch query need not wait for the road graph
        service.processor.warm_up()  # nor the first telemetry batch for the asset registry
        scoring = (
            RiskScoringSchedule(engine, url, timedelta(hours=args.risk_every)).start()
            if args.risk_every > 0
            else None
        )
        service.run()
    finally:
        if scoring is not None:
            scoring.stop()
        if simulator is not None:
            simulator[1].set()
            simulator[0].join(10)
        service.close()
        engine.dispose()
    return 0


def _start_simulator(
    router_endpoint: str, options: SimOptions
) -> tuple[threading.Thread, threading.Event]:
    """The live city simulator on a thread of its own, talking to the service over its socket."""
    from backend.simulator.runner import run_simulator

    stop = threading.Event()
    thread = threading.Thread(
        target=run_simulator, args=(router_endpoint, options, stop), name="simulator", daemon=True
    )
    thread.start()
    return thread, stop


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
        "--db-deadline",
        type=float,
        default=DEFAULT_DEADLINE_S,
        metavar="SECONDS",
        help="cut a PostgreSQL connection a command has held this long (a hung server), so the "
        f"command fails and the service goes on (default {DEFAULT_DEADLINE_S:g}; 0 turns it off)",
    )
    p.add_argument(
        "--raw-days",
        type=float,
        default=RAW_KEEP / timedelta(days=1),
        metavar="DAYS",
        help="days of raw readings kept; older ones become hourly aggregates and older feed "
        f"events keep only their counts (default {RAW_KEEP / timedelta(days=1):g})",
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="also run the live city simulator (through the command API, like any client)",
    )
    p.add_argument(
        "--risk-every",
        type=float,
        default=24.0,
        metavar="HOURS",
        help="refresh the stored failure-risk scores when older than this, in a child process "
        "(default 24; 0 turns it off)",
    )
    add_simulation_options(p)
    p.set_defaults(func=cmd_backend)

    p = sub.add_parser(
        "simulate",
        help="drive a running backend with the live city simulator",
        description="Run the live city simulator against a running backend: crews drive and "
        "work jobs, sensors report (some develop faults), citizens report issues. It uses "
        "the command API only; the simulator's users must exist (the backend's --simulate "
        "creates them).",
    )
    p.add_argument(
        "--connect",
        default="tcp://127.0.0.1:7700",
        metavar="tcp://HOST:PORT",
        help="the backend's PUB endpoint; commands go to PORT+1 (default tcp://127.0.0.1:7700)",
    )
    add_simulation_options(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "relay",
        help="fan a backend's live feed out to many consoles",
        description="Subscribe once to a backend's (or another relay's) PUB and republish every "
        "delta and heartbeat on --bind (ZeroMQ XSUB/XPUB). Consoles use it with "
        "`console --connect BACKEND --feed RELAY`; snapshots and commands still go to the "
        "backend. Stops cleanly on SIGINT/SIGTERM.",
    )
    p.add_argument(
        "--connect",
        default="tcp://127.0.0.1:7700",
        metavar="tcp://HOST:PORT",
        help="the PUB endpoint to relay (default tcp://127.0.0.1:7700)",
    )
    p.add_argument(
        "--bind",
        default="tcp://0.0.0.0:7800",
        metavar="tcp://HOST:PORT",
        help="where consoles subscribe (default tcp://0.0.0.0:7800)",
    )
    p.set_defaults(func=cmd_relay)


def add_simulation_options(p: argparse.ArgumentParser) -> None:
    """``--speed`` and ``--seed`` for the simulator."""
    p.add_argument("--speed", type=float, default=10.0, help="time speed factor (default 10)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--replay-311",
        metavar="CSV",
        help="citizens' reports replayed from a real 311 export (in time order, compressed by "
        "--speed) instead of generated near assets",
    )


def sim_options(args: argparse.Namespace) -> SimOptions:
    """Simulator options from the command line (loads a 311 replay when asked)."""
    from backend.simulator.city import SimOptions
    from backend.simulator.replay import load_311

    replay = load_311(Path(args.replay_311)) if args.replay_311 else []
    return SimOptions(speed=args.speed, seed=args.seed, replay=replay)


def cmd_relay(args: argparse.Namespace) -> int:
    """Relay a backend's feed until SIGINT/SIGTERM."""
    import zmq

    from backend.service.relay import FeedRelay

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    relay = FeedRelay(args.connect, args.bind)
    try:
        relay.start()
    except zmq.ZMQError as exc:
        relay.stop()
        print(f"error: cannot relay {args.connect} on {args.bind}: {exc}", file=sys.stderr)
        return 2
    print(f"relaying {args.connect} on {args.bind}", flush=True)
    stop.wait()
    relay.stop()
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the simulator against a running backend until SIGINT/SIGTERM."""
    from backend.service.server import endpoints
    from backend.simulator.runner import run_simulator

    try:
        _, router = endpoints(args.connect)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        options = sim_options(args)
    except (OSError, ValueError, ImportRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sim = run_simulator(router, options, stop)
    if sim is not None:
        print(f"simulator stopped: {sim.stats}")
    return 0
