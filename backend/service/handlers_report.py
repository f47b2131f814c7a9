"""Read-only commands for the shift lead: the shift report and crews' tracks for replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.analytics.shift_data import build_shift_report
from backend.service.auth import CommandError
from backend.service.context import CommandContext, arg
from backend.service.tracks import crew_tracks, tracks_reply

#: The longest window one report covers (a month of shifts).
MAX_REPORT_WINDOW = timedelta(days=31)
#: The longest window of crew tracks one reply covers.
MAX_TRACKS_WINDOW = timedelta(days=2)


def _window(args: dict[str, Any], longest: timedelta) -> tuple[datetime, datetime]:
    since = arg(args, "since", datetime)
    until = arg(args, "until", datetime)
    if since.tzinfo is None or until.tzinfo is None:
        raise CommandError("bad_args", "since and until must be timezone-aware")
    if until <= since:
        raise CommandError("bad_args", "until must be after since")
    if until - since > longest:
        raise CommandError("bad_args", f"the window may span at most {longest.days} days")
    return since, until


def get_shift_report(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """What happened in ``[since, until)``: jobs (and why the late ones were late), alarms,
    issues and crews. See :mod:`backend.analytics.shift`.

    Args: ``since``, ``until`` (timestamps; at most 31 days apart).
    """
    since, until = _window(args, MAX_REPORT_WINDOW)
    return build_shift_report(ctx.session, since, until)


def get_crew_tracks(ctx: CommandContext, args: dict[str, Any]) -> dict[str, Any]:
    """Crews' positions over ``[since, until]``, one per crew per ``step_s``, as columns.

    Args: ``since``, ``until`` (at most 2 days apart); optional ``step_s``
    (1..3600, default 10), ``lookback_s`` (0..86400, default 900: each crew's
    newest position that long before ``since``, so the replay knows where it
    started), ``crew_ids``.

    Reply: ``tracks`` (columns ``crew_id``, ``ts``, ``lon``, ``lat``,
    ``heading``; sorted by crew, then time; see :mod:`backend.protocol.columns`),
    ``step_s`` (the step used: larger than asked when the answer would pass
    100,000 rows), ``since``, ``until``.
    """
    since, until = _window(args, MAX_TRACKS_WINDOW)
    step_s = float(arg(args, "step_s", float, required=False, default=10.0))
    lookback_s = float(arg(args, "lookback_s", float, required=False, default=900.0))
    if not 1 <= step_s <= 3600:
        raise CommandError("bad_args", "step_s must be 1..3600")
    if not 0 <= lookback_s <= 86400:
        raise CommandError("bad_args", "lookback_s must be 0..86400")
    crew_ids = arg(args, "crew_ids", list, required=False)
    if crew_ids is not None and not all(type(c) is int for c in crew_ids):
        raise CommandError("bad_args", "crew_ids must be a list of integers")
    tracks, step = crew_tracks(
        ctx.session.connection(),
        since,
        until,
        timedelta(seconds=step_s),
        timedelta(seconds=lookback_s),
        crew_ids,
    )
    return {
        "since": since,
        "until": until,
        "step_s": step.total_seconds(),
        "tracks": tracks_reply(tracks),
    }
