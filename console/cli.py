"""Console subcommands of ``main.py``: ``console`` and ``screenshot`` (the demo is the default)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def _size(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{2,5})x(\d{2,5})", value)
    if not match:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, not {value!r}")
    return int(match.group(1)), int(match.group(2))


def cmd_demo(args: argparse.Namespace) -> int:
    from console.demo import run_demo

    return run_demo(
        getattr(args, "db", None),
        user=getattr(args, "user", None) or "ana",
        speed=getattr(args, "speed", 10.0),
        fullscreen=getattr(args, "fullscreen", False),
    )


def cmd_console(args: argparse.Namespace) -> int:
    from console.demo import run_console

    return run_console(args.connect, args.user, feed=args.feed)


def cmd_screenshot(args: argparse.Namespace) -> int:
    from console.demo import take_screenshot

    if args.settle < 0:
        print("error: --settle must be zero or more seconds", file=sys.stderr)
        return 2
    return take_screenshot(Path(args.out), args.size, args.settle, args.db)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo``, ``console`` and ``screenshot`` to ``main.py``'s parser."""
    from backend.cli import add_db_option

    p = sub.add_parser(
        "demo",
        help="backend, simulator and console on this machine (the default)",
        description="Run the demo: the backend with the live city simulator on the "
        "database (the demo city is generated when it is empty) and the console window. "
        "Closing the window stops everything.",
    )
    add_db_option(p)
    p.add_argument("--user", default="ana", help="console user (default: ana, a dispatcher)")
    p.add_argument("--speed", type=float, default=10.0, help="simulation speed factor")
    p.add_argument("--fullscreen", action="store_true", help="start with the full-screen map")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "console",
        help="join a running backend",
        description="Open a console window on a running backend (see `main.py backend`).",
    )
    p.add_argument(
        "--connect",
        default="tcp://127.0.0.1:7700",
        metavar="tcp://HOST:PORT",
        help="the backend's PUB endpoint; commands go to PORT+1 (default tcp://127.0.0.1:7700)",
    )
    p.add_argument(
        "--feed",
        metavar="tcp://HOST:PORT",
        help="take deltas from a feed relay (`main.py relay`) instead of the backend's PUB",
    )
    p.add_argument("--user", default="ana", help="user name (must exist in the backend's users)")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser(
        "screenshot",
        help="save the demo window as a PNG (works offscreen)",
        description="Run the demo offscreen, let live data flow for --settle seconds, "
        "and save the main window as a PNG. Needs no display.",
    )
    p.add_argument("--out", required=True, metavar="FILE.png")
    p.add_argument("--size", type=_size, default=(1920, 1080), metavar="WxH")
    p.add_argument("--settle", type=float, default=5.0, metavar="SECONDS")
    add_db_option(p)
    p.set_defaults(func=cmd_screenshot)
