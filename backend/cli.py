"""Backend subcommands of ``main.py``: ``db upgrade``, ``import``, ``demo-city``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from backend.config import resolve_db_url


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """The shared ``--db URL`` option."""
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: $CITYOPS_DB, else SQLite in the user data folder); "
        "PostgreSQL is postgresql+psycopg2://user@host/dbname",
    )


def open_database(db: str | None, **engine_options: Any) -> Engine:
    """An engine for ``--db`` with the schema brought up to date."""
    from backend.db.engine import make_engine
    from backend.db.migrate import upgrade

    engine = make_engine(resolve_db_url(db), **engine_options)
    upgrade(engine)
    return engine


def cmd_db(args: argparse.Namespace) -> int:
    from backend.db.engine import make_engine
    from backend.db.migrate import upgrade

    url = resolve_db_url(args.db)
    engine = make_engine(url)
    upgrade(engine)
    print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
    engine.dispose()
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from backend.importers.base import ImportOptions, ImportRefused
    from backend.importers.registry import import_files

    mapping = None
    if args.mapping:
        try:
            mapping = json.loads(Path(args.mapping).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"error: cannot read column mapping {args.mapping}: {exc}", file=sys.stderr)
            return 2
    options = ImportOptions(tz=args.tz, kind=args.kind, mapping=mapping)
    engine = open_database(args.db)
    try:
        result = import_files(engine, [Path(p) for p in args.paths], options)
    except ImportRefused as exc:
        print(f"error: {exc}; nothing was imported", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for path, summary in result.per_file.items():
        print(f"{path}: {summary.to_json()}")
    for path, reason in result.refused.items():
        print(f"error: {reason}; nothing of {path} was written", file=sys.stderr)
    print(result.total.to_json())
    return 2 if result.refused else 0


def cmd_demo_city(args: argparse.Namespace) -> int:
    from backend.demo_city.generate import DemoCityRefused, build_demo_city

    engine = open_database(args.db)
    try:
        counts = build_demo_city(engine, seed=args.seed)
    except DemoCityRefused as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(json.dumps(counts))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the backend's subcommands to ``main.py``'s parser."""
    p = sub.add_parser("db", help="database schema", description="Manage the database schema.")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser(
        "upgrade", help="apply migrations", description="Apply all Alembic migrations."
    )
    add_db_option(up)
    up.set_defaults(func=cmd_db)

    p = sub.add_parser(
        "import",
        help="import real city data",
        description="Import OpenStreetMap (.osm.pbf/.osm), GeoJSON roads and asset layers, "
        "311 CSV exports, and asset inventory / failure-record CSVs. The format is detected "
        "from each file's content. The last line printed is a JSON summary.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_db_option(p)
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="IANA zone of local times in CSVs (default: from the data's location, else UTC)",
    )
    p.add_argument("--kind", help="asset kind for GeoJSON point layers (default: detected)")
    p.add_argument("--mapping", metavar="FILE", help="JSON column mapping for other cities' CSVs")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "demo-city",
        help="generate the demo city",
        description="Generate a deterministic demo city (streets, assets with histories, "
        "crews, open issues) into the database.",
    )
    add_db_option(p)
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.set_defaults(func=cmd_demo_city)
