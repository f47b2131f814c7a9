"""Data moves for migration 0005: reading and crew-position rows to and from column blocks.

Self-contained (its own table definitions, not the models), so the migration
keeps meaning the same thing when the models change later. Rows move in
chunks of :data:`CHUNK`; the byte layout is :mod:`backend.db.columnar`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

from backend.db.columnar import F8, I8, U2, array_of, datetimes_to_micros, micros_to_datetime
from backend.db.columnar import to_bytes as b
from backend.db.types import UTCDateTime

CHUNK = 50_000
_meta = sa.MetaData()
_json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
readings = sa.Table(
    "asset_readings",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("asset_id", sa.Integer),
    sa.Column("metric", sa.String(40)),
    sa.Column("ts", UTCDateTime(timezone=True)),
    sa.Column("value", sa.Float),
)
positions = sa.Table(
    "crew_positions",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("crew_id", sa.Integer),
    sa.Column("ts", UTCDateTime(timezone=True)),
    sa.Column("lon", sa.Float),
    sa.Column("lat", sa.Float),
    sa.Column("heading", sa.Float),
    sa.Column("speed_mps", sa.Float),
)


def _times() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ts_min", UTCDateTime(timezone=True)),
        sa.Column("ts_max", UTCDateTime(timezone=True)),
        sa.Column("count", sa.Integer),
    ]


reading_blocks = sa.Table(
    "asset_reading_blocks",
    _meta,
    *_times(),
    sa.Column("metrics", _json),
    *[sa.Column(n, sa.LargeBinary) for n in ("asset_id", "metric", "ts", "value")],
)
segments = sa.Table(
    "asset_reading_segments",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("asset_id", sa.Integer),
    sa.Column("metric", sa.String(40)),
    sa.Column("ts", sa.LargeBinary),
    sa.Column("value", sa.LargeBinary),
)
position_blocks = sa.Table(
    "crew_position_blocks",
    _meta,
    *_times(),
    *[
        sa.Column(n, sa.LargeBinary)
        for n in ("crew_id", "ts", "lon", "lat", "heading", "speed_mps")
    ],
)


def _span(ts: Any) -> dict[str, Any]:
    return {
        "ts_min": micros_to_datetime(int(ts.min())),
        "ts_max": micros_to_datetime(int(ts.max())),
        "count": len(ts),
    }


def _chunks(bind: sa.Connection, table: sa.Table) -> Any:
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        yield rows


def reading_rows_to_blocks(bind: sa.Connection) -> None:
    """Every ``asset_readings`` row into blocks (sealed later by the service), in id order."""
    for rows in _chunks(bind, readings):
        names = list(dict.fromkeys(r.metric for r in rows))
        code = {m: i for i, m in enumerate(names)}
        ts = datetimes_to_micros([r.ts for r in rows])
        block = {
            **_span(ts),
            "metrics": names,
            "asset_id": b(np.array([r.asset_id for r in rows]), I8),
            "metric": b(np.array([code[r.metric] for r in rows]), U2),
            "ts": b(ts, I8),
            "value": b(np.array([r.value for r in rows]), F8),
        }
        bind.execute(sa.insert(reading_blocks), [block])


def crew_rows_to_blocks(bind: sa.Connection) -> None:
    """Every ``crew_positions`` row into blocks, in id order."""
    for rows in _chunks(bind, positions):
        ts = datetimes_to_micros([r.ts for r in rows])

        floats = {
            n: b(np.array([getattr(r, n) for r in rows], dtype=float), F8)
            for n in ("lon", "lat", "heading", "speed_mps")
        }
        block = {
            **_span(ts),
            "crew_id": b(np.array([r.crew_id for r in rows]), I8),
            "ts": b(ts, I8),
            **floats,
        }
        bind.execute(sa.insert(position_blocks), [block])


def stored_readings_to_rows(bind: sa.Connection) -> None:
    """Segments then blocks back into ``asset_readings`` rows (the downgrade)."""
    out: list[dict[str, Any]] = []
    for seg in bind.execute(sa.select(segments).order_by(segments.c.id)):
        for t, v in zip(
            array_of(seg.ts, I8).tolist(), array_of(seg.value, F8).tolist(), strict=True
        ):
            out.append(
                {
                    "asset_id": seg.asset_id,
                    "metric": seg.metric,
                    "ts": micros_to_datetime(t),
                    "value": v,
                }
            )
    for blk in bind.execute(sa.select(reading_blocks).order_by(reading_blocks.c.id)):
        names = blk.metrics
        for a, m, t, v in zip(
            array_of(blk.asset_id, I8).tolist(),
            array_of(blk.metric, U2).tolist(),
            array_of(blk.ts, I8).tolist(),
            array_of(blk.value, F8).tolist(),
            strict=True,
        ):
            out.append({"asset_id": a, "metric": names[m], "ts": micros_to_datetime(t), "value": v})
    for start in range(0, len(out), CHUNK):
        bind.execute(sa.insert(readings), out[start : start + CHUNK])


def blocks_to_crew_rows(bind: sa.Connection) -> None:
    """Crew position blocks back into ``crew_positions`` rows (the downgrade)."""
    out: list[dict[str, Any]] = []
    for blk in bind.execute(sa.select(position_blocks).order_by(position_blocks.c.id)):
        cols = {
            n: array_of(getattr(blk, n), F8).tolist()
            for n in ("lon", "lat", "heading", "speed_mps")
        }
        for i, (crew, t) in enumerate(
            zip(array_of(blk.crew_id, I8).tolist(), array_of(blk.ts, I8).tolist(), strict=True)
        ):
            row = {n: (None if c[i] != c[i] else c[i]) for n, c in cols.items()}
            out.append({"crew_id": crew, "ts": micros_to_datetime(t), **row})
    for start in range(0, len(out), CHUNK):
        bind.execute(sa.insert(positions), out[start : start + CHUNK])
