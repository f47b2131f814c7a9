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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Entities = dict[str, dict[str, Any]]

#: The suffix of a batch event's topic: ``asset/*`` carries many ``asset/<id>`` changes.
BATCH_SUFFIX = "/*"


def batch_topic(kind: str) -> str:
    """The topic of a batch event whose changes are all of one kind, e.g. ``asset/*``."""
    return kind + BATCH_SUFFIX


def is_batch(body: dict[str, Any]) -> bool:
    """True when an event body is a batch of changes."""
    return isinstance(body.get("changes"), list)


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
    changes = body.get("changes")
    if not isinstance(changes, list):
        if (accept is None or accept(topic)) and _apply_one(entities, topic, body):
            return [topic]
        return []
    changed: list[str] = []
    for item in changes:
        if not isinstance(item, list | tuple) or len(item) != 2:
            continue
        sub, sub_body = item
        if not isinstance(sub, str) or not isinstance(sub_body, dict):
            continue
        if (accept is None or accept(sub)) and _apply_one(entities, sub, sub_body):
            changed.append(sub)
    return changed


def apply_event(entities: Entities, topic: str, body: dict[str, Any]) -> bool:
    """Apply one event body to ``entities``; True when any state changed."""
    return bool(apply_changes(entities, topic, body))
