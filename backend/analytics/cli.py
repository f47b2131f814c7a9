"""The ``risk`` subcommand group of ``main.py``: ``risk evaluate`` and ``risk score``.

``risk evaluate`` judges the model on a time split: the water-main model on
Kitchener-style pipes (source ``kitchener-watermains``), the all-kinds model
on any other city (the demo city). Without ``--source`` it takes the water
mains when they are there, else the one other source with failure history.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from sqlalchemy import Engine

from backend.cli import add_db_option, open_database
from backend.importers.watermains import SOURCE


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _pick_source(engine: Engine, wanted: str | None) -> str | None:
    """The source to evaluate: the one asked for, else the water mains, else the only other."""
    from backend.analytics.assets_history import sources_with_failures

    if wanted is not None:
        return wanted
    found = sources_with_failures(engine)
    if SOURCE in found or not found:
        return SOURCE
    if len(found) == 1:
        return next(iter(found))
    print(
        f"error: several sources have failure history ({', '.join(sorted(found))}); "
        "pick one with --source",
        file=sys.stderr,
    )
    return None


def _evaluate_watermains(engine: Engine, args: argparse.Namespace) -> int:
    from backend.analytics.history import load_history
    from backend.analytics.model import (
        DEFAULT_CUTOFF,
        DEFAULT_TRAIN_FROM,
        DEFAULT_UNTIL,
        evaluate,
    )

    history = load_history(engine, source=args.source)
    if history.pipes.empty:
        print(
            f"error: no water mains from source {args.source!r} in the database; "
            "import an inventory and its break records first",
            file=sys.stderr,
        )
        return 2
    cutoff = args.cutoff or DEFAULT_CUTOFF
    train_from = args.train_from or DEFAULT_TRAIN_FROM
    until = args.until or DEFAULT_UNTIL
    try:
        result = evaluate(history, cutoff=cutoff, train_from=train_from, until=until)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"trained on {train_from}..{cutoff}, scored {result['assets']} pipes "
        f"on {result['failures_in_test']} failures in {cutoff}..{until}",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


def _evaluate_assets(engine: Engine, args: argparse.Namespace) -> int:
    from backend.analytics.asset_model import default_windows, evaluate_assets
    from backend.analytics.assets_history import load_asset_history
    from backend.analytics.history import to_years
    from backend.analytics.scoring import date_of

    history = load_asset_history(engine, args.source)
    if history.assets.empty or history.events.empty:
        print(
            f"error: no assets with a history from source {args.source!r} in the database",
            file=sys.stderr,
        )
        return 2
    d_from, d_cut, d_until = default_windows(history)
    until = to_years(args.until) if args.until else d_until
    cutoff = to_years(args.cutoff) if args.cutoff else min(d_cut, until - 2.0)
    train_from = to_years(args.train_from) if args.train_from else cutoff - (d_cut - d_from)
    try:
        result = evaluate_assets(history, train_from, cutoff, until)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result.update(
        {
            "train_from": date_of(train_from).isoformat(),
            "cutoff": date_of(cutoff).isoformat(),
            "until": date_of(until).isoformat(),
        }
    )
    print(
        f"trained on {result['train_from']}..{result['cutoff']}, scored {result['assets']} "
        f"assets on {result['failures_in_test']} failures in {result['cutoff']}..{result['until']}",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Train before the cutoff, score the failures after it, print the figures as JSON."""
    engine = open_database(args.db)
    try:
        args.source = _pick_source(engine, args.source)
        if args.source is None:
            return 2
        if args.source == SOURCE:
            return _evaluate_watermains(engine, args)
        return _evaluate_assets(engine, args)
    finally:
        engine.dispose()


def cmd_score(args: argparse.Namespace) -> int:
    """Compute and store every asset's 30-day failure probability; print a JSON summary."""
    from backend.analytics.scoring import score_all, score_source

    engine = open_database(args.db)
    try:
        summaries = [score_source(engine, args.source)] if args.source else score_all(engine)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if not summaries:
        print("error: no asset source has failure history to learn from", file=sys.stderr)
        return 2
    print(json.dumps({"sources": summaries}))
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
        "at each origin, then score every asset installed before the cutoff and judge the "
        "ranking on the failures in [--cutoff, --until). The last line is JSON: c_index, "
        "baseline_c_index (age alone), assets, failures_in_test; for water mains also "
        "top5pct_length_capture (test failures on the pipes renewed first, by risk per metre, "
        "within 5 %% of network length) and c_index_by_material; for other cities "
        "c_index_by_kind. Water-main defaults: 2012-01-01 / 2018-01-01 / 2023-01-01; other "
        "cities: the history's last two years tested, the ten before trained.",
    )
    add_db_option(p)
    p.add_argument("--cutoff", type=_date, help="start of the test period")
    p.add_argument("--train-from", type=_date, help="start of the training period")
    p.add_argument("--until", type=_date, help="end of the test period")
    p.add_argument(
        "--source",
        help=f"asset source (default: {SOURCE} when present, else the one source with failures)",
    )
    p.set_defaults(func=cmd_evaluate)

    p = group.add_parser(
        "score",
        help="store every asset's probability of failing in the next 30 days",
        description="Fit each source's model on its history and store every asset's "
        "probability of a failure in the next 30 days, with reasons, in asset_risk "
        "(the console's risk layer and most-at-risk list read it). The service does "
        "this at start and daily. Prints a JSON summary per source.",
    )
    add_db_option(p)
    p.add_argument("--source", help="score one source only (default: every source with failures)")
    p.set_defaults(func=cmd_score)
