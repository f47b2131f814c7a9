"""The ``report`` subcommand group of ``main.py``: ``report shift``.

``report shift --from ISO --to ISO`` reads the database directly (read-only)
and prints the report as JSON, last; ``--markdown FILE`` also writes it as a
page a shift lead can hand over.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.cli import add_db_option, open_database


def _when(text: str) -> datetime:
    """An ISO-8601 time; one without an offset is read as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _t(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def to_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown page: summary tables, late jobs with their reasons, crews."""
    jobs, alarms, issues = report["jobs"], report["alarms"], report["issues"]
    tta = alarms["time_to_ack_min"]
    lines = [
        f"# Shift report {_t(report['since'])} – {_t(report['until'])}",
        "",
        "| | count |",
        "|---|---|",
        f"| jobs opened | {jobs['opened']} |",
        f"| jobs assigned | {jobs['assigned']} |",
        f"| jobs completed | {jobs['completed']} |",
        f"| jobs cancelled | {jobs['cancelled']} |",
        f"| jobs still open | {jobs['still_open']} |",
        f"| jobs late | {jobs['late_count']} |",
        f"| alarms raised | {alarms['raised']} |",
        f"| alarms acknowledged | {alarms['acknowledged']} |",
        f"| alarms cleared | {alarms['cleared']} |",
        f"| alarms unacknowledged at the end | {alarms['unacknowledged_at_end']} |",
        f"| time to acknowledge p50 / p90 (min) | {_num(tta['p50'])} / {_num(tta['p90'])} |",
        f"| issues reported | {issues['reported']} |",
        f"| issues closed | {issues['closed']} |",
        f"| issues open at the end | {issues['open_at_end']} |",
        "",
        "## Late jobs",
        "",
    ]
    if not jobs["late"]:
        lines.append("None.")
    else:
        lines += ["| job | due | state | late (min) | why |", "|---|---|---|---|---|"]
        for j in jobs["late"]:
            title = str(j["title"]).replace("|", "/")
            lines.append(
                f"| {j['job_id']} {title} | {_t(j['due_at'])} | {j['state']} "
                f"| {_num(j['minutes_late'])} | {j['why']} |"
            )
    lines += ["", "## Crews", ""]
    if not report["crews"]:
        lines.append("No crew finished a job or worked on site.")
    else:
        lines += ["| crew | jobs done | on site (min) |", "|---|---|---|"]
        for c in report["crews"]:
            lines.append(f"| {c['name']} | {c['jobs_done']} | {_num(c['on_site_min'])} |")
    return "\n".join(lines) + "\n"


def cmd_shift(args: argparse.Namespace) -> int:
    """Print the shift report for ``[--from, --to)`` as JSON (last line); optionally Markdown."""
    from sqlalchemy.orm import Session

    from backend.analytics.shift_data import build_shift_report

    if args.to <= args.since:
        print("error: --to must be after --from", file=sys.stderr)
        return 2
    engine = open_database(args.db)
    try:
        with Session(engine) as session:
            report = build_shift_report(session, args.since, args.to)
    finally:
        engine.dispose()
    if args.markdown:
        Path(args.markdown).write_text(to_markdown(report), encoding="utf-8")
        print(f"wrote {args.markdown}", file=sys.stderr)
    print(json.dumps(report, default=_json_default))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report shift`` to ``main.py``'s parser."""
    parser = sub.add_parser(
        "report", help="reports for shift leads", description="Reports for shift leads."
    )
    group = parser.add_subparsers(dest="report_command", required=True)
    p = group.add_parser(
        "shift",
        help="what happened in a shift, what was late and why",
        description="Jobs opened, assigned, completed and still open; late jobs, each with why "
        "(from its own events: minutes waiting for a crew, travel, on site, reassignments, no "
        "skilled crew on shift); alarms raised/acknowledged/cleared with time to acknowledge "
        "p50/p90; issues reported/closed; jobs done and time on site per crew. The window is "
        "[--from, --to). The last line printed is the report as JSON.",
    )
    add_db_option(p)
    p.add_argument(
        "--from",
        dest="since",
        type=_when,
        required=True,
        metavar="ISO",
        help="start of the shift (ISO-8601; UTC unless it carries an offset)",
    )
    p.add_argument("--to", type=_when, required=True, metavar="ISO", help="end of the shift")
    p.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown")
    p.set_defaults(func=cmd_shift)
