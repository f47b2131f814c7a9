"""How an event changes the state of the entities its topic names.

Shared by the console's replica and the backend's tests so both sides agree on
what "the replica equals the database" means. An event body carries one of:

``entity``   the entity's full new state (replaces it)
``patch``    some fields' new values (merged into it)
``readings`` ``{metric: [ts, value]}`` newest telemetry, merged into the
             entity's ``latest`` map where its ``ts`` is not older
``deleted``  ``True``: the entity is gone
``changes``  a batch: ``[[topic, body], ...]``, each body one of the above,
             applied in order. A burst (5,000 readings, every crew's position)
             is one event, one outbox row and one sequence number, so the
             cost per entity change is a list item, not a database row. The
             batch event's own topic is ``<kind>/*`` (see :func:`batch_topic`).
``reading_columns``  a columnar batch of readings for entities of the event
             topic's kind (:mod:`backend.protocol.columns`): columns ``id``,
             ``metric`` (index into the body's ``metrics`` names), ``ts`` and
             ``value``; row by row, the same as ``readings`` bodies.
``patch_columns``  a columnar batch of patches: column ``id`` plus one column
             per field (``f8`` NaN and a null ``ts`` mean ``None``, ``ts``
             values become wire time strings); row by row, the same as
             ``patch`` bodies.
``trimmed``  ``{"n": N}``: an old feed batch whose payload retention dropped
             (:mod:`backend.service.retention`); it changes nothing.

The functions here apply a columnar batch row by row: they define what it
means. The console's replica applies it with array operations and must end
equal (a test compares the two on random batches).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from backend.protocol.columns import NULL_TS, decode_columns, wire_times

Entities = dict[str, dict[str, Any]]

#: The suffix of a batch event's topic: ``asset/*`` carries many ``asset/<id>`` changes.
BATCH_SUFFIX = "/*"


def batch_topic(kind: str) -> str:
    """The topic of a batch event whose changes are all of one kind, e.g. ``asset/*``."""
    return kind + BATCH_SUFFIX


def is_batch(body: dict[str, Any]) -> bool:
    """True when an event body is a batch of changes."""
    return isinstance(body.get("changes"), list)


#: Column types of a ``reading_columns`` body.
READING_COLUMNS = {"id": "i8", "metric": "u2", "ts": "ts", "value": "f8"}


def is_columnar(body: dict[str, Any]) -> bool:
    """True when an event body is a columnar batch."""
    return "reading_columns" in body or "patch_columns" in body


def change_count(body: dict[str, Any]) -> int:
    """How many entity changes an event body carries (a batch: its items or rows)."""
    for key in ("reading_columns", "patch_columns", "trimmed"):
        spec = body.get(key)
        if isinstance(spec, dict) and type(spec.get("n")) is int:
            return int(spec["n"])
    changes = body.get("changes")
    return len(changes) if isinstance(changes, list) else 1


def batch_kind(topic: str) -> str:
    """The entity kind of a batch event's topic (``asset/*`` → ``asset``)."""
    return topic[: -len(BATCH_SUFFIX)] if topic.endswith(BATCH_SUFFIX) else topic.partition("/")[0]


def decode_readings(spec: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """A ``reading_columns`` map → ``(metric names, columns)``; ColumnError when malformed."""
    _, cols = decode_columns(spec, READING_COLUMNS)
    metrics = spec.get("metrics")
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ValueError("reading_columns needs 'metrics', a list of names")
    if len(cols["metric"]) and int(cols["metric"].max()) >= len(metrics):
        raise ValueError("reading_columns: a metric index is beyond 'metrics'")
    return metrics, cols


def decode_patches(spec: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """A ``patch_columns`` map → ``(columns, names of its ts columns)``; ColumnError if malformed.

    Columns: ``id`` (``i8``) and any fields typed ``f8``, ``i8`` or ``ts``.
    """
    cols = spec.get("cols") if isinstance(spec, dict) else None
    fields: dict[str, str] = {}
    if isinstance(cols, dict):
        for name, value in cols.items():
            code = value[0] if isinstance(value, list | tuple) and value else None
            if name != "id" and code in ("f8", "i8", "ts"):
                fields[name] = code
    _, out = decode_columns(spec, {"id": "i8"}, fields)
    return out, {name for name, code in fields.items() if code == "ts"}


def patch_lists(cols: dict[str, Any], ts_fields: set[str]) -> dict[str, list[Any]]:
    """Each field column of a patch batch as wire values (``None`` for NaN / null ts)."""
    values: dict[str, list[Any]] = {}
    for name, array in cols.items():
        if name == "id":
            continue
        if name in ts_fields:
            texts = wire_times(np.where(array == NULL_TS, 0, array))
            values[name] = [
                None if t == NULL_TS else s for t, s in zip(array.tolist(), texts, strict=True)
            ]
        elif array.dtype.kind == "f":
            values[name] = [None if v != v else v for v in array.tolist()]
        else:
            values[name] = array.tolist()
    return values


def expand(topic: str, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """A columnar batch as ``(topic, body)`` per row, in order (the reference semantics)."""
    kind = batch_kind(topic)
    readings = body.get("reading_columns")
    if readings is not None:
        metrics, cols = decode_readings(readings)
        stamps = wire_times(cols["ts"])
        for i, (eid, m, value) in enumerate(
            zip(cols["id"].tolist(), cols["metric"].tolist(), cols["value"].tolist(), strict=True)
        ):
            yield f"{kind}/{eid}", {"readings": {metrics[m]: [stamps[i], value]}}
    patches = body.get("patch_columns")
    if patches is not None:
        cols, ts_fields = decode_patches(patches)
        values = patch_lists(cols, ts_fields)
        for i, eid in enumerate(cols["id"].tolist()):
            yield f"{kind}/{eid}", {"patch": {name: column[i] for name, column in values.items()}}


def _apply_one(entities: Entities, topic: str, body: dict[str, Any]) -> bool:
    if body.get("deleted"):
        return entities.pop(topic, None) is not None
    entity = body.get("entity")
    if isinstance(entity, dict):
        entities[topic] = entity
        return True
    changed = False
    patch = body.get("patch")
    if isinstance(patch, dict) and patch:
        entities.setdefault(topic, {}).update(patch)
        changed = True
    readings = body.get("readings")
    if isinstance(readings, dict) and readings:
        latest = entities.setdefault(topic, {}).setdefault("latest", {})
        for metric, pair in readings.items():
            current = latest.get(metric)
            if current is None or pair[0] >= current[0]:
                latest[metric] = list(pair)
                changed = True
    return changed


def batch_items(changes: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The well-formed ``[topic, body]`` items of a ``changes`` list (others are skipped)."""
    for item in changes:
        if not isinstance(item, list | tuple) or len(item) != 2:
            continue
        sub, sub_body = item
        if isinstance(sub, str) and isinstance(sub_body, dict):
            yield sub, sub_body


def apply_changes(
    entities: Entities,
    topic: str,
    body: dict[str, Any],
    accept: Callable[[str], bool] | None = None,
) -> list[str]:
    """Apply one event (a single change or a batch); return the topics it changed.

    ``accept`` filters the topics a partial replica holds (a batch may touch
    topics it does not follow). Malformed batch items are skipped, never half
    applied: the backend builds batches, so a bad item means a foreign sender.
    """
    changes: Any = body.get("changes")
    if is_columnar(body):
        try:
            changes = [list(item) for item in expand(topic, body)]
        except ValueError:
            return []  # a malformed columnar batch is a foreign sender's: applied not at all
    elif not isinstance(changes, list):
        if (accept is None or accept(topic)) and _apply_one(entities, topic, body):
            return [topic]
        return []
    changed: list[str] = []
    for sub, sub_body in batch_items(changes):
        if (accept is None or accept(sub)) and _apply_one(entities, sub, sub_body):
            changed.append(sub)
    return changed


def apply_event(entities: Entities, topic: str, body: dict[str, Any]) -> bool:
    """Apply one event body to ``entities``; True when any state changed."""
    return bool(apply_changes(entities, topic, body))
