"""The ``risk`` subcommand group of ``main.py``: ``risk evaluate`` for now.

Other risk subcommands (the demo city's, from the asset health work) join the
same group through :func:`risk_subparsers`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from backend.analytics.model import DEFAULT_CUTOFF, DEFAULT_TRAIN_FROM, DEFAULT_UNTIL
from backend.cli import add_db_option, open_database
from backend.importers.watermains import SOURCE


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Train before the cutoff, score the failures after it, print the figures as JSON."""
    from backend.analytics.history import load_history
    from backend.analytics.model import evaluate

    engine = open_database(args.db)
    try:
        history = load_history(engine, source=args.source)
    finally:
        engine.dispose()
    if history.pipes.empty:
        print(
            f"error: no water mains from source {args.source!r} in the database; "
            "import an inventory and its break records first",
            file=sys.stderr,
        )
        return 2
    try:
        result = evaluate(history, cutoff=args.cutoff, train_from=args.train_from, until=args.until)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"trained on {args.train_from}..{args.cutoff}, scored {result['assets']} pipes "
        f"on {result['failures_in_test']} failures in {args.cutoff}..{args.until}",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


def risk_subparsers(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The ``risk`` group's own subparsers (created once), for every module that adds to it."""
    parser = sub.choices.get("risk")
    if parser is None:
        parser = sub.add_parser(
            "risk",
            help="failure risk of assets",
            description="Failure risk: evaluate the model on real history, score assets.",
        )
        return parser.add_subparsers(dest="risk_command", required=True)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the risk command has no subcommand group")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``risk evaluate`` to ``main.py``'s parser."""
    group = risk_subparsers(sub)
    p = group.add_parser(
        "evaluate",
        help="evaluate the water main failure model on a time split",
        description="Train on yearly origins in [--train-from, --cutoff) with features known "
        "at each origin, then score every pipe laid before the cutoff and judge the ranking "
        "on the failures in [--cutoff, --until). The last line is JSON: c_index, "
        "baseline_c_index (age alone), assets, failures_in_test, top5pct_length_capture "
        "(test failures on the pipes renewed first, by risk per metre, within 5 % of "
        "network length), c_index_by_material.",
    )
    add_db_option(p)
    p.add_argument("--cutoff", type=_date, default=DEFAULT_CUTOFF, help="default %(default)s")
    p.add_argument(
        "--train-from", type=_date, default=DEFAULT_TRAIN_FROM, help="default %(default)s"
    )
    p.add_argument("--until", type=_date, default=DEFAULT_UNTIL, help="default %(default)s")
    p.add_argument("--source", default=SOURCE, help="asset source name (default %(default)s)")
    p.set_defaults(func=cmd_evaluate)
