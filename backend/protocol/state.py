"""How an event changes the state of the entity its topic names.

Shared by the console's replica and the backend's tests so both sides agree on
what "the replica equals the database" means. An event body carries one of:

``entity``   the entity's full new state (replaces it)
``patch``    some fields' new values (merged into it)
``readings`` ``{metric: [ts, value]}`` newest telemetry, merged into the
             entity's ``latest`` map where its ``ts`` is not older
``deleted``  ``True``: the entity is gone
"""

from __future__ import annotations

from typing import Any

Entities = dict[str, dict[str, Any]]


def apply_event(entities: Entities, topic: str, body: dict[str, Any]) -> bool:
    """Apply one event body to ``entities[topic]``; True when the state changed."""
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
