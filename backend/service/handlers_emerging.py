"""``get_emerging_problems``: where citizens report one kind of problem far more than usual."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.analytics.emerging import EmergingConfig, find_emerging
from backend.analytics.reports import load_reports, newest_report, oldest_report
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg

MAX_CLUSTERS = 200
MAX_SERVICES = 50


def get_emerging_problems(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Space-time clusters of reports above each place's own history, most significant first.

    Args (all optional): ``as_of`` (default: the newest report's time, so an
    imported history is scanned at its end; live, that is now), ``window_days``
    (default 7), ``baseline_days`` (default 56), ``service_codes`` (service
    codes, or categories where a report has none), ``min_count`` (default 4),
    ``limit`` (clusters, default 50).

    Reply: the scan's windows and counts, per-service summaries, and
    ``clusters``: service, category, center ``[lon, lat]``, H3 ``cells``,
    ``observed``, ``expected``, ``ratio``, ``p_value`` (Holm-adjusted; all
    below 0.01), ``first_report``/``last_report`` and sample ``issue_ids``.
    See :mod:`backend.analytics.emerging` for the method.
    """
    config = _config(args)
    services = arg(args, "service_codes", list, required=False)
    if services is not None and (
        len(services) > MAX_SERVICES or not all(isinstance(s, str) and s for s in services)
    ):
        raise CommandError(
            "bad_args", f"service_codes must be up to {MAX_SERVICES} non-empty strings"
        )
    limit = arg(args, "limit", int, required=False, default=50)
    if not 1 <= limit <= MAX_CLUSTERS:
        raise CommandError("bad_args", f"limit must be 1..{MAX_CLUSTERS}")
    conn = ctx.session.connection()
    as_of = arg(args, "as_of", datetime, required=False)
    if as_of is None:
        newest = newest_report(conn)
        # Exclusive end: the newest report itself belongs to the window.
        as_of = (newest + timedelta(seconds=1)) if newest is not None else ctx.now
    elif as_of.tzinfo is None:
        raise CommandError("bad_args", "as_of must carry a time zone")
    start = as_of - timedelta(days=config.window_days + config.baseline_days)
    reports = load_reports(conn, start, as_of, services)
    result = find_emerging(reports, as_of, config, oldest_report(conn)).to_json()
    result["more"] = len(result["clusters"]) > limit
    result["clusters"] = result["clusters"][:limit]
    return result


def _config(args: dict[str, Any]) -> EmergingConfig:
    window = arg(args, "window_days", float, required=False, default=7.0)
    baseline = arg(args, "baseline_days", float, required=False, default=56.0)
    min_count = arg(args, "min_count", int, required=False, default=4)
    try:
        return EmergingConfig(window_days=window, baseline_days=baseline, min_count=min_count)
    except ValueError as exc:
        raise CommandError("bad_args", str(exc)) from exc
