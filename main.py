"""CityOps Console: one command-line entry with subcommands.

python main.py                 the demo (console not built yet: says so)
python main.py import PATH...  import real city data
python main.py db upgrade      apply database migrations
python main.py demo-city       generate the demo city
python main.py fleet plan      plan crews over the open jobs
"""

from __future__ import annotations

import argparse
import logging
import sys

#: Modules that contribute subcommands through ``register(subparsers)``.
COMMAND_MODULES = (
    "backend.cli",
    "backend.service.cli",
    "backend.service.fleet_cli",
    "backend.analytics.cli",
    "backend.analytics.report_cli",
    "console.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, every subcommand with its own ``--help``."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="main.py",
        description="CityOps Console: control-room GIS console and backend for city services.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if not getattr(args, "func", None):
        from console.cli import cmd_demo

        return cmd_demo(args)  # no command: the demo
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
