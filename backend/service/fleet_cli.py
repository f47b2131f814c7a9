"""``python main.py fleet plan``: the dispatcher's fleet plan from the command line.

The same plan as the ``plan_fleet`` bus command (one code path:
:func:`backend.service.handlers_fleet.make_plan`), with no cap on the solver
time since no serving loop waits. Prints the plan for a person, then one JSON
line: the totals, or with ``--json`` the whole plan.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from backend.cli import add_db_option, open_database

#: Longest solver time the CLI accepts (s).
CLI_MAX_TIME_S = 3600.0


def _clock(value: Any) -> str:
    return value.strftime("%H:%M") if isinstance(value, datetime) else str(value)


def print_plan(reply: dict[str, Any], out: Any = None) -> None:
    """The plan in lines a dispatcher reads: per crew its stops with ETAs, then what is left."""
    out = out or sys.stdout
    t = reply["totals"]
    print(
        f"fleet plan ({reply['method']}, {reply['status']}): {t['vehicles_used']} crews, "
        f"{t['jobs_served']} jobs served, {t['jobs_unserved']} not; driving {t['travel_min']} min, "
        f"late {t['late_min']} min over {t['late_jobs']} jobs "
        f"(matrix {reply['matrix_ms']} ms, solve {reply['solve_s']} s)",
        file=out,
    )
    for r in reply["routes"]:
        print(
            f"\n{r['crew_name']} (crew {r['crew_id']}): {len(r['stops'])} jobs, "
            f"driving {r['travel_min']} min, back {_clock(r['back_at'])}",
            file=out,
        )
        for n, s in enumerate(r["stops"], start=1):
            late = f", {s['late_min']} min late" if s["late_min"] > 0 else ""
            wait = f", waits {s['wait_min']} min" if s["wait_min"] > 0 else ""
            print(
                f"  {n:>2}. {_clock(s['eta'])} job {s['job_id']} P{s['priority']} "
                f"{s['title'] or ''} (drive {s['travel_min']} min{wait}{late})",
                file=out,
            )
    if reply["unused_crews"]:
        names = ", ".join(str(c["crew_name"]) for c in reply["unused_crews"])
        print(f"\nnot sent: {names}", file=out)
    if reply["excluded_crews"]:
        print("\ncrews left out:", file=out)
        for c in reply["excluded_crews"]:
            print(f"  {c['crew_name']} (crew {c['crew_id']}): {c['reason']}", file=out)
    if reply["unserved"]:
        print("\njobs not planned:", file=out)
        for u in reply["unserved"]:
            detail = f" ({u['detail']})" if u["detail"] else ""
            print(f"  job {u['job_id']} P{u['priority']}: {u['reason']}{detail}", file=out)


def cmd_fleet_plan(args: argparse.Namespace) -> int:
    """Plan the fleet over the database's open jobs and on-shift crews."""
    from backend.service.auth import CommandError
    from backend.service.handlers_fleet import make_plan
    from backend.service.routing_cache import RoutingUnavailable, routing_for

    engine = open_database(args.db)
    now = datetime.now(UTC)
    plan_args: dict[str, Any] = {
        "time_limit_s": args.time_limit,
        "max_vehicles": args.max_vehicles,
        "service_min": args.service_min,
        "crew_ids": args.crew,
        "job_ids": args.job,
        "max_jobs_per_crew": args.max_jobs_per_crew,
    }
    try:
        with engine.connect() as conn:
            from sqlalchemy.orm import Session

            with Session(conn) as session:
                state = routing_for(engine).current(session)
                if not state.router.graph.n_segments:
                    print("error: no drivable roads are imported", file=sys.stderr)
                    return 2
                reply = make_plan(session, state.router, now, plan_args, CLI_MAX_TIME_S)
    except CommandError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except RoutingUnavailable as exc:
        print(f"error: routing is not ready: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print_plan(reply)
    last = reply if args.json else {**reply["totals"], "status": reply["status"]}
    print(json.dumps(last, default=_json_default))
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``fleet plan`` to ``main.py``'s parser."""
    p = sub.add_parser("fleet", help="fleet plans", description="Plan crews over open jobs.")
    fsub = p.add_subparsers(dest="fleet_command", required=True)
    plan = fsub.add_parser(
        "plan",
        help="how many crews, which jobs each, in which order",
        description="Plan the open jobs over the on-shift crews by road travel time "
        "(OR-Tools): crews used, ordered stops with ETAs, jobs that cannot be served and why. "
        "The last line printed is JSON.",
    )
    add_db_option(plan)
    plan.add_argument(
        "--time-limit", type=float, default=10.0, metavar="S", help="solver time (default 10 s)"
    )
    plan.add_argument("--max-vehicles", type=int, metavar="N", help="send at most N crews")
    plan.add_argument(
        "--service-min", type=float, default=30.0, metavar="M", help="time on site per job"
    )
    plan.add_argument("--max-jobs-per-crew", type=int, metavar="N", help="capacity of each crew")
    plan.add_argument("--crew", type=int, action="append", metavar="ID", help="plan this crew")
    plan.add_argument("--job", type=int, action="append", metavar="ID", help="plan this job")
    plan.add_argument("--json", action="store_true", help="the whole plan as the last JSON line")
    plan.set_defaults(func=cmd_fleet_plan)
