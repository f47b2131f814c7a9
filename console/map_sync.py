"""Keep the map's layer models in step with the live replica (no Qt).

The live bridge says which topics changed in a frame; this module reads those
entities from the replica and hands each layer only what changed, so a delta
touches only the features it names and a burst becomes one batch per layer.

Entities are read with :meth:`~console.live.replica.Replica.get_many`, never
from ``replica.entities``: values merged from columnar batches (asset
readings, crew positions) live in the replica's arrays, and ``get_many``
composes a whole frame's worth of them per column (a 5,000-reading frame:
about 20 ms, against 75-100 ms for a ``get`` per topic).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from layers.base import LayerInputError, LayerModel

log = logging.getLogger(__name__)

#: Topic kind → the map layer that draws it.
LAYER_OF_KIND = {"asset": "assets", "issue": "issues", "crew": "crews"}

#: Entity states by topic as one read returns them (None: the entity is gone).
States = Mapping[str, dict[str, Any] | None]


class EntitySource(Protocol):
    """Where entities come from: the live replica (copies, None for an absent topic)."""

    def get_many(self, topics: Iterable[str]) -> dict[str, dict[str, Any] | None]: ...


class LiveLayerSync:
    """Routes changed topics to layer models as upserts and removals."""

    def __init__(self, source: EntitySource, layers: Mapping[str, LayerModel]) -> None:
        self.source = source
        self.layers = layers
        self.bad_records = 0

    def wants(self, topic: str) -> bool:
        """True when ``topic`` is drawn by one of the layers (``asset/12`` with an assets layer)."""
        kind, _, raw_id = topic.partition("/")
        layer = LAYER_OF_KIND.get(kind)
        return layer is not None and layer in self.layers and raw_id.isdigit()

    def apply(self, topics: Iterable[str]) -> dict[str, int]:
        """Bring the layers up to date for ``topics`` (one replica read); features touched."""
        return self.apply_states(self.source.get_many([t for t in topics if self.wants(t)]))

    def apply_states(self, states: States) -> dict[str, int]:
        """Bring the layers up to date from states already read; features touched per layer.

        ``states`` may hold topics no layer draws (a frame's whole read); they are skipped.
        """
        upserts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        removals: dict[str, list[int]] = defaultdict(list)
        for topic, entity in states.items():
            kind, _, raw_id = topic.partition("/")
            layer = LAYER_OF_KIND.get(kind)
            if layer is None or layer not in self.layers or not raw_id.isdigit():
                continue
            if entity is None:
                removals[layer].append(int(raw_id))
            else:
                upserts[layer].append(entity)
        touched: dict[str, int] = {}
        for layer, ids in removals.items():
            self.layers[layer].remove(ids)
            touched[layer] = len(ids)
        for layer, records in upserts.items():
            try:
                self.layers[layer].upsert(records)
            except LayerInputError as exc:
                # The good records applied; a bad one is logged and counted, never fatal.
                self.bad_records += len(exc.errors)
                log.warning("%s: %s", layer, exc)
            touched[layer] = touched.get(layer, 0) + len(records)
        return touched

    def load_all(self, entities: Mapping[str, dict[str, Any]]) -> None:
        """Replace every layer's features from a full replica copy ``{topic: entity}``."""
        by_layer: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for topic, entity in entities.items():
            layer = LAYER_OF_KIND.get(topic.partition("/")[0])
            if layer is not None and layer in self.layers:
                by_layer[layer].append(entity)
        for layer in LAYER_OF_KIND.values():
            if layer in self.layers:
                try:
                    self.layers[layer].replace_all(by_layer.get(layer, []))
                except LayerInputError as exc:
                    self.bad_records += len(exc.errors)
                    log.warning("%s: %s", layer, exc)
