"""The columnar overlay of one entity kind: what columnar batches changed, kept as arrays.

A high-rate feed (every asset's newest reading, every crew's position) reaches
a replica as columnar batches (:mod:`backend.protocol.columns`). Applying one
row by row into entity maps costs microseconds per row; a replica has well
under one. So the replica keeps, per kind, one :class:`KindTable`: the ids
ever touched by a columnar batch, each at a fixed position, and aligned with them

* per metric, the newest reading's time (int64 microseconds, :data:`ABSENT`
  when the table holds none) and value;
* per patched field, the value and a code saying whether the table holds one
  and of which type (``f8``: NaN is ``None``; ``i8``; ``ts``: null is ``None``).

A merge is a few numpy operations per batch (gathers, masked scatters), none
per row. Ids find their position through a direct index (``position[id]``, an
array as long as the largest id) while ids stay below :data:`DIRECT_IDS`,
through a sorted copy and ``searchsorted`` (five times slower) beyond; new ids
are appended, into spare capacity, so a batch never shifts the columns.
The table knows nothing of entity maps: the replica
decides what its entries mean (an entry overrides the entity map's value) and
composes an entity from both when asked (:meth:`KindTable.compose`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from backend.protocol.columns import NULL_TS, wire_times

I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]

#: "No reading held" in a metric's time row (the bit pattern of NULL_TS; readings that
#: carry it never reach a table, the replica applies those row by row).
ABSENT = np.iinfo(np.int64).min

#: Field value codes: what a field column holds for an id.
NO_VALUE, F8, I8, TS = 0, 1, 2, 3
#: Ids below this are found through a direct index (8 bytes per possible id, at most 16 MiB).
DIRECT_IDS = 1 << 21


def wire_time_of(micros: int) -> str:
    """One epoch-microsecond time as the wire's text (the same conversion as batches)."""
    return wire_times(np.array([micros], dtype=np.int64))[0]


def _group_last(keys: npt.NDArray[Any], order: Index) -> Index:
    """Of rows sorted into groups by ``keys[order]``, the last row of each group."""
    s = keys[order]
    last = np.empty(len(s), dtype=bool)
    last[-1] = True
    np.not_equal(s[1:], s[:-1], out=last[:-1])
    return order[last]


def _sorted_unique(values: I64) -> I64:
    s = np.sort(values)
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


class FieldColumn:
    """One patched field's values over a table's ids (``code`` says which hold one)."""

    __slots__ = ("code", "f8", "i8")

    def __init__(self, n: int) -> None:
        self.code = np.zeros(n, dtype=np.uint8)
        self.f8 = np.zeros(n, dtype=np.float64)
        self.i8 = np.zeros(n, dtype=np.int64)

    def grow(self, capacity: int) -> None:
        """Room for ``capacity`` ids (the new ones holding nothing)."""
        n = len(self.code)
        code = np.zeros(capacity, dtype=np.uint8)
        f8 = np.zeros(capacity, dtype=np.float64)
        i8 = np.zeros(capacity, dtype=np.int64)
        code[:n], f8[:n], i8[:n] = self.code, self.f8, self.i8
        self.code, self.f8, self.i8 = code, f8, i8

    def value(self, i: int) -> Any:
        """The wire value at position ``i`` (which must hold one)."""
        code = self.code[i]
        if code == F8:
            v = float(self.f8[i])
            return None if v != v else v
        t = int(self.i8[i])
        if code == I8:
            return t
        return None if t == NULL_TS else wire_time_of(t)

    def values(self, at: Index) -> list[Any]:
        """The wire values at positions ``at`` (all holding one), converted per batch."""
        codes = self.code[at]
        out: list[Any] = [None] * len(at)
        for code in np.unique(codes).tolist():
            rows = np.flatnonzero(codes == code)
            where = at[rows]
            if code == F8:
                got: list[Any] = [None if v != v else v for v in self.f8[where].tolist()]
            elif code == I8:
                got = self.i8[where].tolist()
            else:
                raw = self.i8[where]
                null = raw == NULL_TS
                texts = wire_times(np.where(null, 0, raw))
                got = [None if n else t for n, t in zip(null.tolist(), texts, strict=True)]
            if len(rows) == len(at):
                return got
            for r, v in zip(rows.tolist(), got, strict=True):
                out[r] = v
        return out


class KindTable:
    """The columnar overlay of one kind: ids, readings per metric, values per field.

    Columns have ``capacity`` positions, the first ``size`` in use; ``ids[p]``
    is the id at position ``p``.
    """

    def __init__(self) -> None:
        self.size = 0
        self.ids: I64 = np.empty(0, dtype=np.int64)
        self.metrics: list[str] = []
        self.slot: dict[str, int] = {}
        # (metric slot, position); C-contiguous so a flat index addresses one cell.
        self.rts: I64 = np.empty((0, 0), dtype=np.int64)
        self.rval = np.empty((0, 0), dtype=np.float64)
        self.fields: dict[str, FieldColumn] = {}
        self._direct: Index | None = np.empty(0, dtype=np.intp)  # id -> position, -1: none
        self._sorted: I64 = np.empty(0, dtype=np.int64)  # without a direct index: ids sorted
        self._sorted_pos: Index = np.empty(0, dtype=np.intp)  # and their positions
        self._scratch: I64 = np.empty(0, dtype=np.int64)

    @property
    def capacity(self) -> int:
        """Positions allocated in every column."""
        return len(self.ids)

    # -- layout ----------------------------------------------------------------------

    def slots(self, metrics: list[str]) -> Index:
        """The table slot of each metric name (new metrics get a row holding nothing)."""
        fresh = [m for m in dict.fromkeys(metrics) if m not in self.slot]
        if fresh:
            n = self.capacity
            for m in fresh:
                self.slot[m] = len(self.metrics)
                self.metrics.append(m)
            self.rts = np.vstack([self.rts, np.full((len(fresh), n), ABSENT, dtype=np.int64)])
            self.rval = np.vstack([self.rval, np.zeros((len(fresh), n))])
        return np.array([self.slot[m] for m in metrics], dtype=np.intp)

    def positions(self, ids: I64) -> Index:
        """Each id's position in the table, appending the ids it does not hold yet."""
        if not len(ids):
            return np.empty(0, dtype=np.intp)
        direct = self._direct
        if direct is not None:
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= len(direct):
                self._reach(lo, hi)
        pos = self.find(ids, checked=self._direct is not None)
        missing = pos < 0
        if missing.any():
            self._append(_sorted_unique(ids[missing]))
            pos = self.find(ids, checked=self._direct is not None)
        return pos

    def _reach(self, lo: int, hi: int) -> None:
        """Let the index hold ids ``lo..hi``: a longer direct index, or sorted ids."""
        assert self._direct is not None
        if lo >= 0 and hi < DIRECT_IDS:
            grown = np.full(min(DIRECT_IDS, max(hi + 1, 2 * len(self._direct))), -1, np.intp)
            grown[: len(self._direct)] = self._direct
            self._direct = grown
        else:  # an id the direct index cannot hold: sorted ids from now on
            self._direct = None
            order = np.argsort(self.ids[: self.size], kind="stable")
            self._sorted, self._sorted_pos = self.ids[order], order

    def find(self, ids: I64, checked: bool = False) -> Index:
        """Each id's position, -1 where the table does not hold it (changes nothing).

        ``checked``: the caller knows every id is inside the direct index.
        """
        direct = self._direct
        if direct is not None:
            if checked:
                return direct[ids]
            if not len(direct):
                return np.full(len(ids), -1, dtype=np.intp)
            inside = (ids >= 0) & (ids < len(direct))
            return np.where(inside, direct[np.where(inside, ids, 0)], -1)
        n = len(self._sorted)
        if not n:
            return np.full(len(ids), -1, dtype=np.intp)
        at = np.minimum(np.searchsorted(self._sorted, ids), n - 1)
        return np.where(self._sorted[at] == ids, self._sorted_pos[at], -1)

    def _append(self, new: I64) -> None:
        """Give new ids (unique, none held) the next positions, growing the columns."""
        start, end = self.size, self.size + len(new)
        if end > self.capacity:
            capacity = max(end, 2 * self.capacity, 64)
            ids = np.zeros(capacity, dtype=np.int64)
            ids[:start] = self.ids[:start]
            self.ids = ids
            rts = np.full((len(self.metrics), capacity), ABSENT, dtype=np.int64)
            rval = np.zeros((len(self.metrics), capacity))
            rts[:, :start], rval[:, :start] = self.rts[:, :start], self.rval[:, :start]
            self.rts, self.rval = rts, rval
            for column in self.fields.values():
                column.grow(capacity)
        self.ids[start:end] = new
        self.size = end
        at = np.arange(start, end, dtype=np.intp)
        if self._direct is not None:
            self._direct[new] = at
        else:
            where = np.searchsorted(self._sorted, new)
            self._sorted = np.insert(self._sorted, where, new)
            self._sorted_pos = np.insert(self._sorted_pos, where, at)

    def index(self, eid: int) -> int | None:
        """The position of one id, or None when the table never held it."""
        if self._direct is not None:
            p = int(self._direct[eid]) if 0 <= eid < len(self._direct) else -1
        else:
            i = int(np.searchsorted(self._sorted, eid))
            found = i < len(self._sorted) and int(self._sorted[i]) == eid
            p = int(self._sorted_pos[i]) if found else -1
        return None if p < 0 else p

    def field(self, name: str) -> FieldColumn:
        """The column of a field, made (holding nothing) on first use."""
        column = self.fields.get(name)
        if column is None:
            column = self.fields[name] = FieldColumn(self.capacity)
        return column

    def _duplicates(self, keys: Index) -> bool:
        """True when ``keys`` (cell indexes below ``rts.size`` or ids' positions) repeat.

        A scatter and a gather instead of a sort: with unique keys every row
        reads back its own row number.
        """
        size = max(self.rts.size, self.capacity)
        if len(self._scratch) < size:
            self._scratch = np.empty(size, dtype=np.int64)
        rows = np.arange(len(keys))
        self._scratch[keys] = rows
        return bool((self._scratch[keys] != rows).any())

    # -- merges ----------------------------------------------------------------------

    def merge_readings(self, ids: I64, slots: Index, ts: I64, values: npt.NDArray[Any]) -> I64:
        """Keep each (id, metric)'s newest reading; returns the ids whose state changed.

        The row semantics: a reading replaces the held one when its time is not
        older, so of rows for one (id, metric) the newest wins, ties going to
        the later row, and it wins against the held reading when not older.
        """
        pos = self.positions(ids)
        cells = slots * self.capacity + pos
        if not bool((cells[1:] > cells[:-1]).all()) and self._duplicates(cells):
            by_time = np.argsort(ts, kind="stable")
            keep = _group_last(cells, by_time[np.argsort(cells[by_time], kind="stable")])
            cells, ids, ts, values = cells[keep], ids[keep], ts[keep], values[keep]
        flat_ts = self.rts.reshape(-1)
        flat_val = self.rval.reshape(-1)
        win = ts >= flat_ts[cells]
        if not win.all():
            cells, ids, ts, values = cells[win], ids[win], ts[win], values[win]
        flat_ts[cells] = ts
        flat_val[cells] = values
        return ids

    def set_readings(self, ids: I64, slots: Index, ts: I64, values: npt.NDArray[Any]) -> None:
        """Hold these readings, whatever the table held ((id, metric) pairs unique)."""
        pos = self.positions(ids)
        self.rts[slots, pos] = ts
        self.rval[slots, pos] = values

    def merge_patches(self, ids: I64, fields: list[tuple[str, int, npt.NDArray[Any]]]) -> I64:
        """Merge patch rows (later rows win); returns the patched ids (each once)."""
        pos = self.positions(ids)
        rows: Index | None = None
        if not bool((pos[1:] > pos[:-1]).all()) and self._duplicates(pos):
            rows = _group_last(pos, np.argsort(pos, kind="stable"))
            pos, ids = pos[rows], ids[rows]
        for name, code, array in fields:
            column = self.field(name)
            column.code[pos] = code
            target = column.f8 if code == F8 else column.i8
            target[pos] = array if rows is None else array[rows]
        return ids

    # -- single entries (rare dict events) -------------------------------------------

    def live(self, i: int) -> bool:
        """True when the table holds anything for position ``i``."""
        return bool((self.rts[:, i] != ABSENT).any()) or any(
            c.code[i] != NO_VALUE for c in self.fields.values()
        )

    def drop(self, i: int) -> None:
        """Forget everything held for position ``i`` (the entity map is the truth again)."""
        self.rts[:, i] = ABSENT
        for column in self.fields.values():
            column.code[i] = NO_VALUE

    def drop_readings(self, i: int) -> None:
        """Forget every reading held for position ``i``."""
        self.rts[:, i] = ABSENT

    def drop_field(self, i: int, name: str) -> None:
        """Forget one field's value held for position ``i``."""
        column = self.fields.get(name)
        if column is not None:
            column.code[i] = NO_VALUE

    def reading_time(self, i: int, metric: str) -> int | None:
        """The held reading's time for position ``i`` and ``metric`` (None when none)."""
        s = self.slot.get(metric)
        if s is None:
            return None
        t = int(self.rts[s, i])
        return None if t == ABSENT else t

    def drop_reading(self, i: int, metric: str) -> None:
        """Forget one held reading."""
        s = self.slot.get(metric)
        if s is not None:
            self.rts[s, i] = ABSENT

    # -- composition -----------------------------------------------------------------

    def compose(self, base: dict[str, Any] | None, i: int) -> dict[str, Any] | None:
        """The entity at position ``i``: ``base`` (its map, or None) with the table's entries."""
        held = [(n, c) for n, c in self.fields.items() if c.code[i] != NO_VALUE]
        slots = np.flatnonzero(self.rts[:, i] != ABSENT)
        if not held and not len(slots):
            return None if base is None else dict(base)
        out: dict[str, Any] = {} if base is None else dict(base)
        for name, column in held:
            out[name] = column.value(i)
        if len(slots):
            latest = out.get("latest")
            latest = dict(latest) if isinstance(latest, dict) else {}
            texts = wire_times(self.rts[slots, i])
            values = self.rval[slots, i].tolist()
            for s, text, value in zip(slots.tolist(), texts, values, strict=True):
                latest[self.metrics[s]] = [text, value]
            out["latest"] = latest
        return out

    def compose_all(
        self, kind: str, entities: dict[str, dict[str, Any]], at: Index | None = None
    ) -> dict[str, dict[str, Any]]:
        """Entities the table holds something for, composed as :meth:`compose` does.

        All of them, or those at positions ``at`` (unique). Conversions run per
        column (one ``wire_times`` per metric); what is left per entity is
        building its maps.
        """
        if at is None:
            at = np.arange(self.size, dtype=np.intp)
        times = self.rts[:, at]
        reads = times != ABSENT  # (metric slot, entity)
        held = reads.any(axis=0)
        codes = {name: column.code[at] for name, column in self.fields.items()}
        for code in codes.values():
            held |= code != NO_VALUE
        keep = np.flatnonzero(held)
        at, times, reads = at[keep], times[:, keep], reads[:, keep]
        topics = [f"{kind}/{i}" for i in self.ids[at].tolist()]
        get = entities.get
        out = [{} if base is None else base.copy() for base in map(get, topics)]
        for name, code in codes.items():
            code = code[keep]
            rows = np.flatnonzero(code)
            values = self.fields[name].values(at[rows])
            for k, value in zip(rows.tolist(), values, strict=True):
                out[k][name] = value
        with_readings = np.flatnonzero(reads.any(axis=0))
        if len(with_readings):
            maps: list[dict[str, Any]] = []
            for k in with_readings.tolist():
                entity = out[k]
                old = entity.get("latest")
                entity["latest"] = latest = dict(old) if isinstance(old, dict) else {}
                maps.append(latest)
            for s, metric in enumerate(self.metrics):
                rows = np.flatnonzero(reads[s, with_readings])
                if not len(rows):
                    continue
                cols = with_readings[rows]
                texts = wire_times(times[s, cols])
                values = self.rval[s, at[cols]].tolist()
                for j, text, value in zip(rows.tolist(), texts, values, strict=True):
                    maps[j][metric] = [text, value]
        return dict(zip(topics, out, strict=True))
