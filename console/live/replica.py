"""The replica: live entities keyed by topic, brought current by a snapshot plus deltas.

Sequence rules (the Clone pattern): a snapshot sets the state and its ``seq``;
a delta with ``seq`` at or below the replica's is a duplicate and is dropped;
a delta that skips a number means something was lost, so the replica refuses
it and reports a gap (the client then re-snapshots). The replica never changes
on its own: only the backend's events move it. One event may be a batch of
many entity changes (``body["changes"]``); it still has one seq, and the
topics it changed are reported one by one.

Columnar batches (``reading_columns``, ``patch_columns``: a high-rate feed,
thousands of rows per event) are not spread into the entity maps: each kind
has a :class:`~console.live.overlay.KindTable` whose entries override the
maps, merged with array operations. The state is still defined by
:func:`backend.protocol.state.apply_changes`; :meth:`Replica.get` and
:meth:`Replica.copy` compose maps and tables into exactly what it would hold.
Invariants that keep the composition exact:

* a table entry for (entity, field or metric) is the truth; whenever a dict
  event writes that field or metric into the map, the entry is dropped;
* before a reading batch is merged, the kind's map readings (``latest``) are
  moved into the table, so the newest-wins comparison sees all of them: a
  snapshot's when it loads, a kind's without any then at its first reading
  batch, and later only those of entities dict events gave readings
  (``_dirty``), each batch moving them together;
* what the arrays cannot hold exactly (a reading time outside years
  1000-9999, whose text would not sort as the time does, a value that is not
  a float, a time not spelt as the wire does, a field named ``latest``) turns
  the kind back to plain maps until the next snapshot, applied row by row by
  the reference code.

Changed topics: a reading row counts when it is not older than the held one
(as ``apply_changes`` reports it), a patch row always (its patch is never
empty). Columnar batches report them as id arrays; :attr:`ApplyResult.changed`
builds the topic strings only when read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.protocol.columns import from_wire_times, wire_times
from backend.protocol.state import (
    Entities,
    apply_changes,
    batch_items,
    batch_kind,
    decode_patches,
    decode_readings,
    is_columnar,
)
from console.live.overlay import F8, I8, TS, KindTable, wire_time_of

ColumnIds = npt.NDArray[np.int64]

_INT64 = (-(1 << 63), (1 << 63) - 1)
#: Reading times whose wire text is fixed-width (so text order is time order).
_TIME_RANGE = tuple(
    int(t) for t in from_wire_times(["1000-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z"])
)


def covers(prefix: str, topic: str) -> bool:
    """True when a replica following ``prefix`` ("", "job", "job/", "job/12") holds ``topic``."""
    if not prefix:
        return True
    kind, _, rest = prefix.partition("/")
    return topic == prefix if rest else topic.startswith(kind + "/")


def _entity_id(text: str) -> int | None:
    """The id in a topic's last part when it is how a columnar row would spell it."""
    try:
        value = int(text)
    except ValueError:
        return None
    return value if str(value) == text and _INT64[0] <= value <= _INT64[1] else None


@dataclass(frozen=True)
class ApplyResult:
    """What a batch of deltas did: the topics it changed, duplicates dropped, and any gap.

    Columnar batches report their changed ids per kind as arrays (``columns``,
    ids may repeat); :attr:`changed` turns everything into topic strings only
    when read, so a replica nobody listens to never builds them.
    """

    topics: frozenset[str]
    dropped: int
    gap: tuple[int, int] | None = None  # (expected seq, received seq)
    columns: tuple[tuple[str, ColumnIds], ...] = field(default=(), compare=False)

    @cached_property
    def changed(self) -> frozenset[str]:
        """Every changed topic (``<kind>/<id>``), dict and columnar events alike."""
        if not self.columns:
            return self.topics
        out = set(self.topics)
        for kind, ids in self.columns:
            out.update(map((kind + "/").__add__, map(str, ids.tolist())))
        return frozenset(out)


class Replica:
    """Entities by topic plus the seq they reflect. Thread-safe: read under :attr:`lock`.

    :attr:`entities` holds the maps; values merged from columnar batches live
    in per-kind tables, so read entities through :meth:`get` and :meth:`copy`.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.lock = threading.RLock()
        self.entities: Entities = {}
        self.seq = 0
        self.loaded = False
        self.duplicates = 0
        self.gaps = 0
        self._tables: dict[str, KindTable] = {}
        self._scanned: set[str] = set()  # kinds whose map readings are in their table
        self._dirty: dict[str, set[str]] = {}  # topics of scanned kinds given map readings since
        self._plain: set[str] = set()  # kinds applied row by row until the next snapshot

    def load_snapshot(
        self, seq: int, entities: Iterable[tuple[str, dict[str, Any]]]
    ) -> frozenset[str]:
        """Replace the state with a snapshot taken at ``seq``; returns the topics that differ."""
        fresh = {t: s for t, s in entities if covers(self.prefix, t)}
        with self.lock:
            old = self.entities
            if self._tables:
                old = {**old, **self._composed()}
            changed = {t for t in old.keys() | fresh.keys() if old.get(t) != fresh.get(t)}
            self.entities = fresh
            self.seq = seq
            self.loaded = True
            self._tables = {}
            self._scanned = set()
            self._dirty = {}
            self._plain = set()
            # Readings move into tables now, not at the first reading batch: a snapshot
            # load is a pause anyway, a delta should not carry one.
            holding: dict[str, list[str]] = {}
            for topic, state in fresh.items():
                if state.get("latest"):
                    holding.setdefault(topic.rpartition("/")[0], []).append(topic)
            for kind, topics in holding.items():
                self._absorb(kind, topics)
        return frozenset(changed)

    def apply(self, events: list[dict[str, Any]]) -> ApplyResult:
        """Apply a batch of consecutive events; refuse the batch at a gap."""
        changed: set[str] = set()
        columns: list[tuple[str, ColumnIds]] = []
        dropped = 0
        accept = self._accept if self.prefix else None  # the whole city: no per-change filter
        with self.lock:
            for event in events:
                seq = event["seq"]
                if seq <= self.seq:
                    dropped += 1
                    continue
                if seq != self.seq + 1:
                    self.gaps += 1
                    self.duplicates += dropped
                    gap = (self.seq + 1, seq)
                    return ApplyResult(frozenset(changed), dropped, gap, tuple(columns))
                topic, body = event["topic"], event["body"]
                if is_columnar(body):
                    self._apply_columnar(topic, body, changed, columns)
                elif self._tables:
                    changed.update(self._apply_maps(topic, body))
                else:  # no tables: the reference code, which filters and collects one by one
                    changed.update(apply_changes(self.entities, topic, body, accept))
                self.seq = seq
            self.duplicates += dropped
        return ApplyResult(frozenset(changed), dropped, None, tuple(columns))

    def _accept(self, topic: str) -> bool:
        return covers(self.prefix, topic)

    def get(self, topic: str) -> dict[str, Any] | None:
        """A copy of one entity's state (None when absent)."""
        with self.lock:
            state = self.entities.get(topic)
            found = self._locate(topic)
            if found is not None and found[2] is not None:
                return found[1].compose(state, found[2])
            return None if state is None else dict(state)

    def get_many(self, topics: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`get` for many topics (e.g. all a batch changed), composing per column.

        ``get`` converts an entity's table entries one by one (about 10 µs);
        here each column converts once for all the topics asked.
        """
        wanted = list(topics)
        with self.lock:
            by_kind: dict[str, list[int]] = {}
            if self._tables:
                for topic in wanted:
                    kind, sep, tail = topic.rpartition("/")
                    if sep and kind in self._tables:
                        eid = _entity_id(tail)
                        if eid is not None:
                            by_kind.setdefault(kind, []).append(eid)
            out: dict[str, dict[str, Any] | None] = {}
            for kind, eids in by_kind.items():
                table = self._tables[kind]
                at = table.find(np.unique(np.array(eids, dtype=np.int64)))
                out.update(table.compose_all(kind, self.entities, at[at >= 0]))
            for topic in wanted:
                if topic not in out:
                    state = self.entities.get(topic)
                    out[topic] = None if state is None else dict(state)
        return out

    def copy(self) -> tuple[int, Entities]:
        """``(seq, entities)`` as a consistent copy (entities shallow-copied)."""
        with self.lock:
            out = {t: dict(s) for t, s in self.entities.items()}
            out.update(self._composed())
            return self.seq, out

    def _composed(self) -> Entities:
        out: Entities = {}
        for kind, table in self._tables.items():
            out.update(table.compose_all(kind, self.entities))
        return out

    # -- dict events while tables exist (rare: per-change Python work) ----------------

    def _locate(self, topic: str) -> tuple[str, KindTable, int | None] | None:
        """``(kind, table, position)`` of a topic whose kind has a table (position None
        when the table never held the id); None otherwise."""
        if not self._tables:
            return None
        kind, sep, tail = topic.rpartition("/")
        table = self._tables.get(kind)
        if table is None or not sep:
            return None
        eid = _entity_id(tail)
        if eid is None:
            return None
        return kind, table, table.index(eid)

    def _apply_maps(self, topic: str, body: dict[str, Any]) -> list[str]:
        """:func:`apply_changes` for a non-columnar event, keeping the tables consistent."""
        changes: Any = body.get("changes")
        if not isinstance(changes, list):
            return [topic] if self._accept(topic) and self._apply_one(topic, body) else []
        return [
            sub
            for sub, sub_body in batch_items(changes)
            if self._accept(sub) and self._apply_one(sub, sub_body)
        ]

    def _apply_one(self, topic: str, body: dict[str, Any]) -> bool:
        """One change, as the reference's ``_apply_one`` with table entries as current values."""
        entities = self.entities
        found = self._locate(topic)
        table, i = (found[1], found[2]) if found is not None else (None, None)
        if body.get("deleted"):
            existed = entities.pop(topic, None) is not None
            if table is not None and i is not None:
                existed = table.live(i) or existed
                table.drop(i)
            return existed
        entity = body.get("entity")
        if isinstance(entity, dict):
            entities[topic] = entity
            if table is not None and i is not None:
                table.drop(i)
            if found is not None and "latest" in entity:
                self._mark_dirty(found[0], topic)
            return True
        changed = False
        patch = body.get("patch")
        if isinstance(patch, dict) and patch:
            entities.setdefault(topic, {}).update(patch)
            if table is not None and i is not None:
                for name in patch:
                    if name == "latest":
                        table.drop_readings(i)
                    else:
                        table.drop_field(i, name)
            if found is not None and "latest" in patch:
                self._mark_dirty(found[0], topic)
            changed = True
        readings = body.get("readings")
        if isinstance(readings, dict) and readings:
            latest = entities.setdefault(topic, {}).setdefault("latest", {})
            for metric, pair in readings.items():
                held = None if table is None or i is None else table.reading_time(i, metric)
                if held is not None:
                    newer = pair[0] >= wire_time_of(held)
                else:
                    current = latest.get(metric)
                    newer = current is None or pair[0] >= current[0]
                if newer:
                    latest[metric] = list(pair)
                    changed = True
                    if found is not None:
                        if held is not None and table is not None and i is not None:
                            table.drop_reading(i, metric)
                        self._mark_dirty(found[0], topic)
        return changed

    def _mark_dirty(self, kind: str, topic: str) -> None:
        if kind in self._scanned:
            self._dirty.setdefault(kind, set()).add(topic)

    # -- columnar events --------------------------------------------------------------

    def _columnar_scope(self, kind: str) -> tuple[bool, int | None]:
        """Whether this replica holds rows of ``kind`` and, for ``kind/<id>``, which id."""
        if not self.prefix:
            return True, None
        head, _, rest = self.prefix.partition("/")
        if not rest:
            return (kind + "/").startswith(head + "/"), None
        owner, _, tail = self.prefix.rpartition("/")
        eid = _entity_id(tail)
        return (owner == kind and eid is not None), eid

    def _apply_columnar(
        self,
        topic: str,
        body: dict[str, Any],
        changed: set[str],
        columns: list[tuple[str, ColumnIds]],
    ) -> None:
        kind = batch_kind(topic)
        covered, only = self._columnar_scope(kind)
        if not covered:
            return  # no row for this replica: nothing to decode
        spec_r, spec_p = body.get("reading_columns"), body.get("patch_columns")
        try:  # both parts decode before either applies: a malformed batch applies not at all
            readings = None if spec_r is None else decode_readings(spec_r)
            patches = None if spec_p is None else decode_patches(spec_p)
        except ValueError:
            return
        fields: list[tuple[str, int, npt.NDArray[Any]]] = []
        if patches is not None:
            cols, ts_fields = patches
            for name, array in cols.items():
                if name != "id":
                    code = F8 if array.dtype.kind == "f" else TS if name in ts_fields else I8
                    fields.append((name, code, array))
        if readings is not None and kind not in self._plain:
            self._absorb(kind)
        plain = kind in self._plain or any(name == "latest" for name, _, _ in fields)
        if readings is not None and not plain:
            ts = readings[1]["ts"]
            plain = bool(ts.min() < _TIME_RANGE[0] or ts.max() > _TIME_RANGE[1])
        if plain:
            self._to_plain(kind)
            accept = self._accept if self.prefix else None
            changed.update(apply_changes(self.entities, topic, body, accept))
            return
        if readings is not None:
            metrics, cols = readings
            ids, metric, ts, value = cols["id"], cols["metric"], cols["ts"], cols["value"]
            if only is not None:
                keep = ids == only
                ids, metric, ts, value = ids[keep], metric[keep], ts[keep], value[keep]
            if len(ids):
                table = self._table(kind)
                slots = table.slots(metrics)[metric]
                columns.append((kind, table.merge_readings(ids, slots, ts, value)))
        if patches is not None and fields:
            ids = patches[0]["id"]
            if only is not None:
                keep = ids == only
                ids, fields = ids[keep], [(n, c, a[keep]) for n, c, a in fields]
            if len(ids):
                columns.append((kind, self._table(kind).merge_patches(ids, fields)))

    def _table(self, kind: str) -> KindTable:
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = KindTable()
        return table

    def _absorb(self, kind: str, topics: Iterable[str] | None = None) -> None:
        """Move the kind's map readings into its table.

        The first call takes ``topics`` (every topic of the kind holding
        readings) or scans the maps; later calls take the dirty topics.
        """
        if kind in self._scanned:
            topics = self._dirty.pop(kind, ())
        elif topics is None:
            topics = [t for t in self.entities if t.rpartition("/")[0] == kind]
        holders: list[dict[str, Any]] = []
        ids: list[int] = []
        counts: list[int] = []
        metrics: list[Any] = []
        pairs: list[Any] = []
        for topic in topics:
            head, sep, tail = topic.rpartition("/")
            eid = _entity_id(tail) if sep and head == kind else None
            entity = self.entities.get(topic)
            if eid is None or entity is None or "latest" not in entity:
                continue
            latest = entity["latest"]
            if not isinstance(latest, dict):
                return self._to_plain(kind)
            if latest:
                holders.append(entity)
                ids.append(eid)
                counts.append(len(latest))
                metrics.extend(latest)
                pairs.extend(latest.values())
        table = self._table(kind)
        self._scanned.add(kind)
        if not pairs:
            return None
        # Type checks per column (C loops): only what the arrays give back unchanged.
        if not (set(map(type, metrics)) <= {str} and set(map(type, pairs)) <= {list}):
            return self._to_plain(kind)
        if set(map(len, pairs)) != {2}:
            return self._to_plain(kind)
        texts, values = [p[0] for p in pairs], [p[1] for p in pairs]
        if not (set(map(type, texts)) <= {str} and set(map(type, values)) <= {float}):
            return self._to_plain(kind)
        try:
            micros = from_wire_times(texts)
        except ValueError:
            return self._to_plain(kind)
        if wire_times(micros) != texts:
            return self._to_plain(kind)  # a text that is not the wire's own spelling
        names = list(dict.fromkeys(metrics))
        slot_of = dict(zip(names, table.slots(names).tolist(), strict=True))
        slots = np.fromiter(map(slot_of.__getitem__, metrics), dtype=np.intp, count=len(metrics))
        rows = np.repeat(np.array(ids, dtype=np.int64), counts)
        table.set_readings(rows, slots, micros, np.array(values, dtype=np.float64))
        for entity in holders:
            entity["latest"] = {}
        return None

    def _to_plain(self, kind: str) -> None:
        """Write the kind's table into the maps and apply its batches row by row from now."""
        table = self._tables.pop(kind, None)
        if table is not None:
            self.entities.update(table.compose_all(kind, self.entities))
        self._scanned.discard(kind)
        self._dirty.pop(kind, None)
        self._plain.add(kind)
