"""The bulk side of layer models: an id-indexed feature table and upsert batches (no Qt).

A live frame or a snapshot hands a model thousands of records at once. These
keep that from costing a Python pass per record per column:

- :func:`identify` reads every id in one C loop, and :func:`chunks` cuts a
  batch where an id repeats, so each chunk has distinct ids and chunks applied
  in order end as the records applied one at a time would.
- :class:`FeatureTable` finds rows by id with ``np.searchsorted`` on a sorted
  id index (ids added one at a time wait in a small dict until the next bulk
  change merges them in), so a million-feature load builds its index with
  one sort, not a million dict insertions. Beside each row it keeps the
  model's stored record (``objects``), so a burst reaches the records it
  merges into by row, without hashing an id per record.
- :class:`Batch` holds one chunk and reads it column by column: which records
  name a field, the merged values of a field, those values as floats with each
  bad one refused on its own. A model fills its numpy columns from these with
  fancy indexing.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

Record = dict[str, Any]
_EMPTY: Record = {}


def _as_id(fid: object) -> int | None:
    """An id as a Python int, or None when it cannot be one (so it is simply absent)."""
    if isinstance(fid, int | np.integer):
        return int(fid)
    if isinstance(fid, float | np.floating) and float(fid).is_integer():
        return int(fid)
    return None


def identify(records: Sequence[Record], errors: list[str]) -> tuple[np.ndarray, list[Record]]:
    """Ids as an int64 array and the records that have one (one list pass when all do)."""
    recs = list(records)
    try:
        # One C loop; numpy converts each id as int() would (5.0 -> 5, "5" -> 5).
        ids = np.fromiter(map(operator.itemgetter("id"), recs), np.int64, len(recs))
        return ids, recs
    except (KeyError, TypeError, IndexError, ValueError, OverflowError):
        pass
    fids: list[int] = []
    kept: list[Record] = []
    for rec in recs:
        try:
            fids.append(_feature_id(rec))
        except ValueError as exc:
            errors.append(str(exc))
            continue
        kept.append(rec)
    return np.array(fids, dtype=np.int64), kept


def chunks(fids: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs of a batch with distinct ids (one run unless an id repeats).

    A new run starts at a record whose id already appeared in the current one,
    so applying the runs in order is applying the records in order.
    """
    n = len(fids)
    if n < 2:
        return [(0, n)]
    s = np.sort(fids, kind="stable")
    if not (s[1:] == s[:-1]).any():
        return [(0, n)]
    cuts = [0]
    seen: set[int] = set()
    for i, f in enumerate(fids.tolist()):
        if f in seen:
            cuts.append(i)
            seen = set()
        seen.add(f)
    cuts.append(n)
    return list(itertools.pairwise(cuts))


def _feature_id(record: Record) -> int:
    try:
        return int(record["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"record without an integer 'id': {record!r}") from exc


class FeatureTable:
    """Rows of a numpy structured array addressed by feature id.

    Rows stay packed (removal moves the last row into the hole), so the live
    rows are always ``array[:n]`` and renderers can hand them to pyqtgraph as is.
    The id -> row index is a sorted id array with the row of each (looked up
    with ``np.searchsorted``), plus a small dict for ids added one at a time.
    """

    #: Ids added one at a time are merged into the sorted index past this many.
    tail_limit = 512

    def __init__(self, dtype: np.dtype[Any], capacity: int = 64) -> None:
        if "id" not in (dtype.names or ()):
            raise ValueError("a feature table needs an 'id' field")
        self._arr = np.zeros(capacity, dtype=dtype)
        #: Per row: the model's stored record of the feature (the dict in its
        #: ``records``), so a batch reaches records by row, not by hashing ids.
        self.objects = np.full(capacity, None, dtype=object)
        self._n = 0
        self._keys = np.zeros(0, dtype=np.int64)  # sorted ids
        self._vals = np.zeros(0, dtype=np.int64)  # the row of each sorted id
        self._tail: dict[int, int] = {}  # ids not (yet) in the sorted arrays

    def __len__(self) -> int:
        return self._n

    def __contains__(self, fid: object) -> bool:
        return self._row_of(fid) >= 0

    @property
    def rows(self) -> np.ndarray:
        """The live rows (a view: do not keep it across changes)."""
        return self._arr[: self._n]

    # -- lookups -------------------------------------------------------------------------------

    def _row_of(self, fid: object) -> int:
        i = _as_id(fid)
        if i is None:
            return -1
        r = self._tail.get(i)
        if r is not None:
            return r
        k = self._keys
        try:
            p = int(np.searchsorted(k, i))
        except OverflowError:  # beyond int64: never an id here
            return -1
        return int(self._vals[p]) if p < len(k) and k[p] == i else -1

    def find(self, ids: np.ndarray) -> np.ndarray:
        """Rows of an int64 id array, -1 where absent (vectorised)."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(len(ids), -1, dtype=np.int64)
        k = self._keys
        if len(k) and len(ids):
            if len(ids) > 64 and len(k) > 4096:
                # Sorted needles walk the index in order: far fewer cache misses.
                order = np.argsort(ids, kind="stable")
                pos = np.empty(len(ids), dtype=np.int64)
                pos[order] = np.searchsorted(k, ids[order])
            else:
                pos = np.searchsorted(k, ids)
            pos[pos == len(k)] = 0
            hit = k[pos] == ids
            out[hit] = self._vals[pos[hit]]
        if self._tail:
            miss = np.flatnonzero(out < 0)
            if len(miss):
                get = self._tail.get
                out[miss] = [get(i, -1) for i in ids[miss].tolist()]
        return out

    def row(self, fid: int) -> int:
        """The row of an id (KeyError when absent)."""
        r = self._row_of(fid)
        if r < 0:
            raise KeyError(fid)
        return r

    def rows_of(self, ids: Iterable[int]) -> np.ndarray:
        """Rows of the ids present, in the order given (absent ids are skipped)."""
        if isinstance(ids, np.ndarray):
            arr = ids.astype(np.int64, copy=False)
        else:
            try:
                arr = np.fromiter(ids, np.int64)  # ids are ints: one C loop
            except (TypeError, ValueError, OverflowError):
                arr = np.fromiter((i for i in (_as_id(f) for f in ids) if i is not None), np.int64)
        rows = self.find(arr)
        return rows[rows >= 0]

    # -- the index -----------------------------------------------------------------------------

    def _index(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Add ids (not yet indexed, distinct) with their rows to the sorted index."""
        if self._tail:
            ids = np.concatenate([ids, np.fromiter(self._tail, np.int64, len(self._tail))])
            rows = np.concatenate(
                [rows, np.fromiter(self._tail.values(), np.int64, len(self._tail))]
            )
            self._tail.clear()
        if not len(ids):
            return
        order = np.argsort(ids, kind="stable")  # linear when ids arrive sorted
        ids, rows = ids[order], rows[order]
        if not len(self._keys):
            self._keys, self._vals = ids, rows
            return
        pos = np.searchsorted(self._keys, ids)
        self._keys = np.insert(self._keys, pos, ids)
        self._vals = np.insert(self._vals, pos, rows)

    def _grow(self, need: int) -> None:
        if need > len(self._arr):
            grown = np.zeros(max(64, 2 * len(self._arr), need), dtype=self._arr.dtype)
            grown[: self._n] = self._arr[: self._n]
            self._arr = grown
            objects = np.full(len(grown), None, dtype=object)
            objects[: self._n] = self.objects[: self._n]
            self.objects = objects

    # -- changes -------------------------------------------------------------------------------

    def ensure(self, fid: int) -> tuple[int, bool]:
        """The row of an id, appending a zeroed row when new; (row, was_new)."""
        r = self._row_of(fid)
        if r >= 0:
            return r, False
        self._grow(self._n + 1)
        r = self._n
        self._arr[r] = np.zeros((), dtype=self._arr.dtype)
        self._arr["id"][r] = fid
        self._tail[int(fid)] = r
        self._n += 1
        if len(self._tail) > self.tail_limit:
            self._index(np.zeros(0, np.int64), np.zeros(0, np.int64))
        return r, True

    def ensure_many(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of distinct ids, appending zeroed rows for new ones in one go; (rows, new)."""
        ids = np.asarray(ids, dtype=np.int64)
        rows = np.full(len(ids), -1, dtype=np.int64) if self._n == 0 else self.find(ids)
        new = rows < 0
        if new.any():
            rows[new] = self.append_many(ids[new] if not new.all() else ids)
        return rows, new

    def append_many(self, ids: np.ndarray) -> np.ndarray:
        """Append zeroed rows for distinct ids not in the table; their rows."""
        ids = np.asarray(ids, dtype=np.int64)
        k = len(ids)
        start, need = self._n, self._n + k
        self._grow(need)
        fresh = np.arange(start, need)
        self._arr[start:need] = np.zeros((), dtype=self._arr.dtype)
        self._arr["id"][start:need] = ids
        self._n = need
        self._index(ids.copy(), fresh)
        return fresh

    def remove(self, ids: Iterable[int]) -> list[int]:
        """Remove ids; returns those that were present (in the order given).

        Each removal moves the last row into the hole, in order, so the rows end
        as a removal one id at a time leaves them; the index is updated once.
        """
        wanted = [i for i in (_as_id(f) for f in ids) if i is not None]
        if not wanted or not self._n:
            return []
        start = self.find(np.array(wanted, dtype=np.int64)).tolist()
        moved: dict[int, int] = {}  # id -> its row now, for rows moved by earlier removals
        gone: list[int] = []
        done: set[int] = set()
        arr, ids_col = self._arr, self._arr["id"]
        for fid, r0 in zip(wanted, start, strict=True):
            if r0 < 0 or fid in done:
                continue
            done.add(fid)
            r = moved.pop(fid, r0)
            gone.append(fid)
            last = self._n - 1
            if r != last:
                arr[r] = arr[last]
                self.objects[r] = self.objects[last]
                moved[int(ids_col[r])] = r
            self.objects[last] = None
            self._n = last
        self._unindex(gone, moved)
        return gone

    def _unindex(self, gone: list[int], moved: dict[int, int]) -> None:
        """Drop removed ids from the index and re-point the ids whose rows moved."""
        tail = self._tail
        for fid in gone:
            tail.pop(fid, None)
        for fid, r in list(moved.items()):
            if fid in tail:
                tail[fid] = r
                del moved[fid]
        k = self._keys
        if not len(k):
            return
        if moved:
            m_ids = np.fromiter(moved, np.int64, len(moved))
            pos = np.searchsorted(k, m_ids)
            self._vals[pos] = np.fromiter(moved.values(), np.int64, len(moved))
        g = np.array(gone, dtype=np.int64)
        pos = np.searchsorted(k, g)
        pos[pos == len(k)] = 0
        pos = pos[k[pos] == g]
        if len(pos):
            self._keys = np.delete(k, pos)
            self._vals = np.delete(self._vals, pos)

    def clear(self) -> None:
        """Drop every row."""
        self.objects[: self._n] = None
        self._n = 0
        self._keys = np.zeros(0, dtype=np.int64)
        self._vals = np.zeros(0, dtype=np.int64)
        self._tail.clear()


class Batch:
    """One chunk of an upsert: records with distinct ids and the records they merge into.

    ``found[i]`` is the table row of ``fids[i]`` before the batch (-1: a new
    feature). The stored records they merge into (:attr:`bases`, from the
    table's per-row ``objects``) are gathered only when a column needs them.
    ``ok`` says which records are still to be applied: a model refuses a
    record (:meth:`refuse`) when a field will not convert, and only the rest
    get rows and are stored.
    """

    def __init__(
        self,
        layer: str,
        fids: np.ndarray,
        recs: list[Record],
        objects: np.ndarray,
        found: np.ndarray,
    ) -> None:
        self.layer = layer
        self.fids = fids
        self.recs = recs
        self.objects = objects
        self.n = len(recs)
        self.found = found
        self.new = found < 0
        #: Whether every feature is new (e.g. a load into an empty layer): nothing to merge.
        self.all_new = bool(self.new.all())
        self.ok = np.ones(self.n, dtype=bool)
        self.errors: list[str] = []
        #: Per record: its table row once placed (-1 until then, or when refused).
        self.rows = np.full(self.n, -1, dtype=np.int64)
        self._bases: list[Record | None] | None = None
        self._names: dict[str, np.ndarray] = {}

    @property
    def bases(self) -> list[Record | None]:
        """Per record: the stored record it merges into (None for a new feature)."""
        if self._bases is None:
            if self.all_new:
                self._bases = [None] * self.n
            else:
                bases = self.objects[np.maximum(self.found, 0)]
                bases[self.new] = None
                self._bases = bases.tolist()
        return self._bases

    def refuse(self, i: int, exc: BaseException) -> None:
        """Leave record ``i`` out, saying why (once per record)."""
        if self.ok[i]:
            self.ok[i] = False
            self.errors.append(f"{self.layer} record {int(self.fids[i])}: {exc!r}")

    def names(self, *fields: str) -> np.ndarray:
        """Per record: whether it names any of ``fields``."""
        out = np.zeros(self.n, dtype=bool)
        for f in fields:
            has = self._names.get(f)
            if has is None:
                # One C-level pass per field (no Python frame per record).
                has = np.fromiter(
                    map(operator.contains, self.recs, itertools.repeat(f)), bool, self.n
                )
                self._names[f] = has
            out |= has
        return out

    def touched(self, *fields: str) -> np.ndarray:
        """Indices of the records whose columns from ``fields`` must be (re)computed.

        Those are new features and those whose record names one of the fields;
        the others keep their columns, which already follow the merged record.
        """
        if self.all_new:
            return np.arange(self.n)
        return np.flatnonzero(self.new | self.names(*fields))

    def values(self, field: str, which: np.ndarray) -> list[Any]:
        """Merged values of a field (the record's, else the stored one's) at indices ``which``."""
        recs = self.recs
        whole = len(which) == self.n
        if self.all_new:
            if whole:
                return [r.get(field) for r in recs]
            return [recs[i].get(field) for i in which.tolist()]
        if self.names(field)[which].all():  # every record names it: no stored record needed
            if whole:
                return list(map(operator.getitem, recs, itertools.repeat(field)))
            return [recs[i][field] for i in which.tolist()]
        bases = self.bases
        if whole:
            return [
                r[field] if field in r else (b or _EMPTY).get(field)
                for r, b in zip(recs, bases, strict=True)
            ]
        return [
            recs[i][field] if field in recs[i] else (bases[i] or _EMPTY).get(field)
            for i in which.tolist()
        ]

    def floats(self, field: str, which: np.ndarray) -> np.ndarray:
        """Merged values as floats (None: NaN); a value that will not convert refuses its record."""
        if self.all_new and len(which) == self.n:
            try:  # a load: one C loop from the records to floats (None: NaN)
                return np.fromiter(map(dict.get, self.recs, itertools.repeat(field)), float, self.n)
            except (TypeError, ValueError):
                pass
        vals = self.values(field, which)
        try:
            out = np.array(vals, dtype=float)
            if out.shape == (len(vals),):
                return out
        except (TypeError, ValueError):
            pass
        # Rare: find the bad ones, each refused on its own.
        out = np.full(len(vals), np.nan)
        for k, v in enumerate(vals):
            if v is None:
                continue
            try:
                out[k] = float(v)
            except (TypeError, ValueError) as exc:
                self.refuse(int(which[k]), exc)
        return out

    def converted(self, field: str, which: np.ndarray, convert: Any) -> np.ndarray:
        """Merged values through ``convert`` (value -> float), one record refused per failure."""
        out = np.full(len(which), np.nan)
        for k, v in enumerate(self.values(field, which)):
            try:
                out[k] = convert(v)
            except (TypeError, ValueError) as exc:
                self.refuse(int(which[k]), exc)
        return out
