"""``python main.py open311``: the citizens' Open311 GeoReport v2 gateway in front of a backend."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

ENV_API_KEYS = "CITYOPS_OPEN311_API_KEYS"
ENV_SMTP = "CITYOPS_SMTP"
ENV_MAIL_FROM = "CITYOPS_MAIL_FROM"


def _api_keys(path: str | None) -> list[str]:
    keys = [k.strip() for k in os.environ.get(ENV_API_KEYS, "").split(",") if k.strip()]
    if path:
        keys += [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    return keys


def cmd_open311(args: argparse.Namespace) -> int:
    """Serve GeoReport v2 until SIGINT/SIGTERM; deliver notices by mail when --smtp is given."""
    from backend.open311.notices import NoticeWorker, SmtpSender
    from backend.open311.server import GatewayServer, build_app, parse_listen
    from backend.service.server import endpoints

    try:
        _, router = endpoints(args.connect)
        host, port = parse_listen(args.listen)
        keys = _api_keys(args.api_keys)
        smtp = parse_listen(args.smtp) if args.smtp else None
        services = Path(args.services) if args.services else None
        app = build_app(router, args.user, keys, services)
        server = GatewayServer(app, host, port)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    worker = None
    if smtp is not None:
        sender = SmtpSender(smtp[0], smtp[1], mail_from=args.mail_from)
        worker = NoticeWorker(app.bus, sender, args.notice_every).start()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: shutting down", signum)
        raise SystemExit(0)  # waitress's loop closes its workers on SystemExit

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(
        f"open311 gateway serving {server.url} (GeoReport v2, JSON) for backend {router}"
        f"{' with API keys' if keys else ''}"
        f"{f', mailing notices via {smtp[0]}:{smtp[1]}' if smtp else ''}",
        flush=True,
    )
    try:
        server.run()
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``open311`` to ``main.py``'s parser."""
    p = sub.add_parser(
        "open311",
        help="serve citizens' reports over Open311 GeoReport v2 (HTTP, JSON)",
        description="Serve Open311 GeoReport v2 (services, requests; JSON) over HTTP and turn "
        "each request into commands to a running backend. The user (--user) must exist; "
        "the backend creates 'open311' at start.",
    )
    p.add_argument(
        "--connect",
        default="tcp://127.0.0.1:7700",
        metavar="tcp://HOST:PORT",
        help="the backend's PUB endpoint; commands go to PORT+1 (default tcp://127.0.0.1:7700)",
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:8311",
        metavar="HOST:PORT",
        help="where to serve HTTP (default 127.0.0.1:8311)",
    )
    p.add_argument("--user", default="open311", help="the backend user it acts as (open311)")
    p.add_argument(
        "--api-keys",
        metavar="FILE",
        help=f"API keys, one a line (also ${ENV_API_KEYS}, comma-separated); when any is "
        "set, POST needs a valid api_key",
    )
    p.add_argument(
        "--services",
        metavar="FILE",
        help="JSON list of services (service_code, service_name, description, group, "
        "keywords, priority, skills); default: the city's built-in categories",
    )
    p.add_argument(
        "--smtp",
        default=os.environ.get(ENV_SMTP),
        metavar="HOST:PORT",
        help=f"mail notices to citizens through this SMTP server (also ${ENV_SMTP}); "
        "without it notices stay pending",
    )
    p.add_argument(
        "--mail-from",
        default=os.environ.get(ENV_MAIL_FROM, "cityops@localhost"),
        metavar="ADDRESS",
        help=f"sender of notice mails (also ${ENV_MAIL_FROM})",
    )
    p.add_argument(
        "--notice-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how often pending notices are delivered (default 30)",
    )
    p.set_defaults(func=cmd_open311)
