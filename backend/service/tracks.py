"""Crews' tracks over a time window, decimated, read from the stored position blocks.

The replay of a shift on the map needs where every crew was, not every
second of it: positions are kept one per crew per ``step`` (the newest in
each step), so an 8-hour window of 100 crews at 10 s is 288,000 rows at
most instead of millions. Each block is reduced as it is read, so memory
follows the answer, not the stored volume. One position from the
``lookback`` before the window (each crew's newest) says where a crew
stood when the window opened.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Table, select

from backend.db.columnar import F8, I8, PositionBatch, array_of, newest_rows
from backend.db.models import CrewPositionBlock
from backend.protocol.columns import MAX_ROWS, encode_columns, to_micros

_POSITIONS = cast(Table, CrewPositionBlock.__table__)


def _empty() -> PositionBatch:
    e_i, e_f = np.empty(0, dtype=I8), np.empty(0, dtype=F8)
    return PositionBatch(e_i, e_i, e_f, e_f, e_f, e_f)


def _reduce(batch: PositionBatch, start_us: int, step_us: int) -> PositionBatch:
    """The newest row per crew and step bucket (everything before ``start_us``: one bucket)."""
    bucket = np.maximum((batch.ts - start_us) // step_us, -1)
    return batch.take(newest_rows(batch.ts, batch.crew_id, bucket))


def _concat(parts: list[PositionBatch]) -> PositionBatch:
    if not parts:
        return _empty()
    return PositionBatch(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in PositionBatch.__slots__)
    )


def crew_tracks(
    conn: Connection,
    since: datetime,
    until: datetime,
    step: timedelta,
    lookback: timedelta = timedelta(minutes=15),
    crew_ids: list[int] | None = None,
    max_rows: int = MAX_ROWS,
) -> tuple[PositionBatch, timedelta]:
    """Every crew's positions in ``[since - lookback, until]``, one per crew per step.

    Sorted by crew, then time. Before ``since`` only each crew's newest
    position is kept. The step is ``step``, doubled until the answer has at
    most ``max_rows`` rows (one column set); the step used is returned.
    """
    start_us, end_us = to_micros(since), to_micros(until)
    first_us = to_micros(since - lookback)
    step_us = max(int(step.total_seconds() * 1_000_000), 1)
    query = (
        select(_POSITIONS)
        .where(_POSITIONS.c.ts_max >= since - lookback, _POSITIONS.c.ts_min <= until)
        .order_by(_POSITIONS.c.id)
    )
    wanted = None if crew_ids is None else np.asarray(sorted(set(crew_ids)), dtype=I8)
    parts: list[PositionBatch] = []
    for row in conn.execute(query):
        batch = PositionBatch(
            array_of(row.crew_id, I8),
            array_of(row.ts, I8),
            array_of(row.lon, F8),
            array_of(row.lat, F8),
            array_of(row.heading, F8),
            array_of(row.speed_mps, F8),
        )
        keep = (batch.ts >= first_us) & (batch.ts <= end_us)
        if wanted is not None:
            keep &= np.isin(batch.crew_id, wanted)
        if keep.any():
            parts.append(_reduce(batch.take(np.flatnonzero(keep)), start_us, step_us))
    if not parts:
        return _empty(), step
    tracks = _reduce(_concat(parts), start_us, step_us)
    while len(tracks) > max_rows:
        step_us *= 2
        tracks = _reduce(tracks, start_us, step_us)
    order = np.lexsort((tracks.ts, tracks.crew_id))
    return tracks.take(order), timedelta(microseconds=step_us)


def tracks_reply(tracks: PositionBatch) -> dict[str, Any]:
    """The reply's ``tracks`` columns (``crew_id``, ``ts``, ``lon``, ``lat``, ``heading``)."""
    return encode_columns(
        {
            "crew_id": ("i8", tracks.crew_id),
            "ts": ("ts", tracks.ts),
            "lon": ("f8", tracks.lon),
            "lat": ("f8", tracks.lat),
            "heading": ("f8", tracks.heading),
        }
    )
