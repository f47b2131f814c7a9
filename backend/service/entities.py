"""Live entities as plain maps: what a snapshot holds and what events carry.

An entity's state is its row's columns in JSON-safe form, because the same
maps are stored in ``events.body`` (JSON) and sent over msgpack: datetimes
become fixed-width ISO-8601 UTC strings (``2026-03-01T08:00:00.000000Z``,
which sort as they compare), dates ISO strings, geometry hex WKB; assets also carry ``latest``,
the newest reading per metric as ``[ts, value]``. The same functions build the
snapshot and the ``entity`` bodies of events, so a replica that applies the
events ends up equal to a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from shapely import to_wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.orm import Session

from backend.db.models import Alarm, Asset, Crew, EventCounter, Issue, Job
from backend.protocol.topics import TOPIC_KINDS, topic
from backend.service.readings import latest_readings as stored_latest

#: Topic kind → model, in snapshot order.
MODELS: dict[str, Any] = {
    "asset": Asset,
    "issue": Issue,
    "job": Job,
    "crew": Crew,
    "alarm": Alarm,
}
assert tuple(MODELS) == TOPIC_KINDS


def wire_time(value: datetime) -> str:
    """A timezone-aware datetime as fixed-width ISO-8601 UTC (sortable as text)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wire_value(value: Any) -> Any:
    """A column value in a form JSON and msgpack both carry, equal on both sides."""
    if isinstance(value, datetime):
        return wire_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseGeometry):
        return to_wkb(value, hex=True)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def row_state(row: Any) -> dict[str, Any]:
    """An ORM object's columns as an entity map (no ``latest``)."""
    table: Table = row.__table__
    return {c.key: wire_value(getattr(row, c.key)) for c in table.columns}


def entity_state(session: Session, row: Any) -> dict[str, Any]:
    """An ORM object's full entity map, with ``latest`` readings for assets."""
    state = row_state(row)
    if isinstance(row, Asset):
        state["latest"] = latest_readings(session.connection(), [row.id]).get(row.id, {})
    return state


def latest_readings(
    conn: Connection, asset_ids: list[int] | None = None
) -> dict[int, dict[str, list[Any]]]:
    """The newest reading per (asset, metric), wire form: ``{asset_id: {metric: [ts, value]}}``."""
    return {
        asset_id: {metric: [wire_time(ts), value] for metric, (ts, value) in metrics.items()}
        for asset_id, metrics in stored_latest(conn, asset_ids).items()
    }


def parse_prefix(prefix: str) -> tuple[list[str], int | None]:
    """Which kinds (and which one id) a snapshot prefix covers.

    ``""`` is the whole city, ``"job"`` or ``"job/"`` every job, ``"job/12"`` that job only.
    """
    kind, _, rest = prefix.partition("/")
    if not kind:
        return list(TOPIC_KINDS), None
    if kind not in MODELS:
        raise ValueError(f"unknown topic kind {kind!r}; expected one of {TOPIC_KINDS}")
    if not rest:
        return [kind], None
    if not rest.isdigit():
        raise ValueError(f"bad topic prefix {prefix!r}: expected <kind>/<id>")
    return [kind], int(rest)


def snapshot_rows(conn: Connection, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entity the prefix covers as ``(topic, state)``, read on ``conn``."""
    kinds, only_id = parse_prefix(prefix)
    for kind in kinds:
        table: Table = MODELS[kind].__table__
        query = select(table).order_by(table.c.id)
        if only_id is not None:
            query = query.where(table.c.id == only_id)
        latest: dict[int, dict[str, list[Any]]] = {}
        if kind == "asset":
            latest = latest_readings(conn, None if only_id is None else [only_id])
        for row in conn.execute(query).mappings():
            state = {key: wire_value(value) for key, value in row.items()}
            if kind == "asset":
                state["latest"] = latest.get(state["id"], {})
            yield topic(kind, state["id"]), state


def consistent_snapshot(
    engine: Engine, prefix: str = ""
) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    """``(seq, entities)`` read in one transaction, so the state is exactly the state at ``seq``.

    PostgreSQL runs it REPEATABLE READ (one MVCC snapshot for every statement);
    SQLite gets an explicit ``BEGIN`` because the driver would otherwise run
    each SELECT in its own implicit transaction.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.begin()
        else:
            conn.exec_driver_sql("BEGIN")
        try:
            seq = conn.execute(
                select(EventCounter.last_seq).where(EventCounter.id == 1)
            ).scalar_one_or_none()
            entities = list(snapshot_rows(conn, prefix))
        finally:
            conn.rollback()
    return int(seq or 0), entities
