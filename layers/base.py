"""What every layer model shares: change events, a feature table, style state.

Models are plain Python (no Qt). Per-feature drawing state lives in one numpy
structured array; the full records (for tooltips and the inspector) stay in a
dict by id. Upserts and loads are applied a column at a time (see
:mod:`layers.batch`), never a Python pass per record per column. Every change
is announced as a :class:`LayerChange` that keeps the data side (which feature
ids changed, whether rows moved) apart from the style side (which layer-wide
visual properties changed), so a renderer restyles without recomputing
geometry and touches only the features a delta names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from layers.batch import Batch, FeatureTable, chunks, identify
from layers.projection import LocalProjection

__all__ = ["Batch", "FeatureTable"]  # re-exported: the table and batches belong to the model API

#: The columns every point layer starts with: its feature id, map x/y and WGS84 lon/lat.
POINT_FIELDS: list[tuple[str, str]] = [
    ("id", "i8"),
    ("x", "f8"),
    ("y", "f8"),
    ("lon", "f8"),
    ("lat", "f8"),
]

Record = dict[str, Any]
Clock = Callable[[], datetime]

#: Style properties a renderer may be told about.
STYLE_PROPERTIES = frozenset({"visible", "opacity", "filters"})


def utc_now() -> datetime:
    """The default clock: now, timezone-aware UTC."""
    return datetime.now(UTC)


def to_epoch(value: Any) -> float:
    """An ISO string, datetime or epoch number as epoch seconds (NaN when absent).

    A naive time is taken as UTC: the bus carries aware UTC times, so a naive
    one is a producer's slip, not local time.
    """
    if value is None or value == "":
        return float("nan")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    raise TypeError(f"not a time: {value!r}")


@dataclass(frozen=True)
class LayerChange:
    """One change to a layer: data (ids, rows moved) apart from style (properties)."""

    layer: str
    #: Ids whose per-feature state changed (added, updated or removed).
    ids: frozenset[int] = frozenset()
    #: True when rows were added or removed, so row order is no longer valid.
    structure: bool = False
    #: Layer-wide visual properties that changed (see :data:`STYLE_PROPERTIES`).
    style: frozenset[str] = frozenset()

    @property
    def has_data(self) -> bool:
        """Whether any feature changed."""
        return bool(self.ids) or self.structure


@dataclass
class ChangeSet:
    """Changes gathered since the last draw (glue's changed-property set)."""

    ids: set[int] = field(default_factory=set)
    structure: bool = False
    style: set[str] = field(default_factory=set)

    def merge(self, change: LayerChange) -> None:
        """Fold one change in."""
        self.ids |= change.ids
        self.structure = self.structure or change.structure
        self.style |= change.style

    def __bool__(self) -> bool:
        return bool(self.ids) or self.structure or bool(self.style)

    def take(self) -> ChangeSet:
        """Hand over the gathered changes and start empty."""
        out = ChangeSet(self.ids, self.structure, self.style)
        self.ids, self.structure, self.style = set(), False, set()
        return out


class Event:
    """A named event with plain callbacks; :meth:`hold` batches emissions into one."""

    def __init__(self, layer: str) -> None:
        self._layer = layer
        self._callbacks: list[Callable[[LayerChange], None]] = []
        self._held = 0
        self._pending = ChangeSet()

    def connect(self, callback: Callable[[LayerChange], None]) -> None:
        """Call ``callback(change)`` on every change."""
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[LayerChange], None]) -> None:
        """Stop calling ``callback``."""
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def emit(self, change: LayerChange) -> None:
        """Deliver a change now, or gather it while held."""
        if self._held:
            self._pending.merge(change)
            return
        for cb in list(self._callbacks):
            cb(change)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Gather changes inside the block and deliver them as one (glue's delay_callbacks)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held and self._pending:
                p = self._pending.take()
                self.emit(
                    LayerChange(self._layer, frozenset(p.ids), p.structure, frozenset(p.style))
                )


class Vocabulary:
    """Strings to small integer codes, so per-feature categories fit a numpy column."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}
        for n in names:
            self.code(n)

    def code(self, name: str) -> int:
        """The code of a name, adding it when new."""
        c = self._codes.get(name)
        if c is None:
            c = self._codes[name] = len(self.names)
            self.names.append(name)
        return c

    def codes_for(self, values: Sequence[Any], default: str) -> np.ndarray:
        """Codes of many raw field values (``str(value or default)``), adding new names.

        New names get codes in order of first appearance, as coding the values
        one at a time would give them; the mapping is one dict lookup per value.
        """
        try:
            uniq = dict.fromkeys(values)
        except TypeError:  # an unhashable value: code each one as text
            uniq = None
        if uniq is not None and all(v is None or type(v) is str for v in uniq):
            lut = {v: self.code(v or default) for v in uniq}
            return np.fromiter(map(lut.__getitem__, values), np.int16, len(values))
        # Other types: 1 and True are one dict key but "1" and "True" as text.
        return np.array([self.code(str(v or default)) for v in values], dtype=np.int16)

    def codes_of(self, names: Iterable[str]) -> list[int]:
        """Codes of the names already known (unknown names are skipped)."""
        return [self._codes[n] for n in names if n in self._codes]

    def __len__(self) -> int:
        return len(self.names)


class LayerInputError(ValueError):
    """Some records were refused; the others were applied. ``errors`` says why, each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} record(s) refused: " + "; ".join(errors[:5]))
        self.errors = errors


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: a value of a field, how it draws, how many, whether shown."""

    field: str
    value: str
    label: str
    colour: str
    symbol: str
    filled: bool
    count: int
    hidden: bool


class LayerModel:
    """Base of all layer models: records by id, a feature table, style, changes.

    Subclasses give ``dtype``, ``filter_fields`` (fields with a ``<field>_code``
    column and a vocabulary) and either :meth:`_fill_row`, which writes one
    record's drawing state into its row, or (layers with many features) a
    :meth:`_fill` that fills whole columns of a :class:`~layers.batch.Batch`.
    Stored records are the model's own dicts (copied on arrival, merged in
    place after), so a dict returned by :meth:`record` follows later updates.
    """

    name = "layer"
    title = "Layer"
    dtype: np.dtype[Any] = np.dtype([("id", "i8")])
    filter_fields: tuple[str, ...] = ()

    def __init__(self, projection: LocalProjection, clock: Clock = utc_now) -> None:
        self.projection = projection
        self.clock = clock
        self.table = FeatureTable(self.dtype)
        self.records: dict[int, Record] = {}
        self.vocab: dict[str, Vocabulary] = {f: Vocabulary() for f in self.filter_fields}
        self.visible = True
        self.opacity = 1.0
        self.hidden: dict[str, set[str]] = {f: set() for f in self.filter_fields}
        self.changed = Event(self.name)
        #: Ids whose x/y wait for the batch's one projection call.
        self._unprojected: set[int] = set()

    # -- data -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.table)

    @property
    def ids(self) -> np.ndarray:
        """Ids of all features, in row order."""
        return self.table.rows["id"]

    def record(self, fid: int) -> Record:
        """The full record of a feature (as last received, merged)."""
        return self.records[fid]

    def upsert(self, records: Sequence[Record]) -> None:
        """Add or update features; a record may name only the fields that changed.

        The batch is applied in chunks of distinct ids (one chunk unless an id
        repeats), each chunk column by column (:meth:`_fill`), so a snapshot or
        a burst of deltas costs a few vectorised passes, not one per record,
        and ends exactly as applying the records one at a time would: a later
        record for an id merges into what the earlier one left. A bad record
        is refused on its own (:class:`LayerInputError` after the rest apply).
        """
        errors: list[str] = []
        fids, recs = identify(records, errors)
        parts: list[np.ndarray] = []
        structure = False
        for lo, hi in chunks(fids):
            applied, removed, added = self._apply(fids[lo:hi], recs[lo:hi], errors)
            parts += [applied, removed]
            structure = structure or added or bool(len(removed))
        ids = frozenset(np.concatenate(parts).tolist()) if parts else frozenset()
        if ids or structure:
            self.changed.emit(LayerChange(self.name, ids, structure))
        if errors:
            raise LayerInputError(errors)

    def _apply(
        self, fids: np.ndarray, recs: list[Record], errors: list[str]
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Apply records with distinct ids; (ids filled, ids removed, rows added)."""
        found = self.table.find(fids) if len(self.table) else np.full(len(fids), -1)
        batch = Batch(self.name, fids, recs, self.table.objects, found)
        accepted = self._accepted(batch)
        gone: list[int] = []
        if accepted is not None and not accepted.all():
            batch.ok &= accepted
            gone = fids[~accepted & ~batch.new].tolist()
        if batch.ok.any():
            self._fill(batch)
        errors.extend(batch.errors)
        done = batch.ok
        added = bool((done & batch.new).any())
        removed = self._drop(gone) if gone else set()
        return fids[done], np.fromiter(removed, np.int64, len(removed)), added

    def _fill(self, batch: Batch) -> None:
        """Write a batch's records into rows and store them merged.

        The default fills one row at a time with :meth:`_fill_row` (a bad record
        leaves its feature as it was; the good ones still apply), then projects
        every position set on the way in one call. Models with many features
        override it to fill columns (see :meth:`_place` and :meth:`_store`).
        """
        for i in np.flatnonzero(batch.ok).tolist():
            fid = int(batch.fids[i])
            base, rec = batch.bases[i], batch.recs[i]
            merged = dict(rec) if base is None else {**base, **rec}
            row, new = self.table.ensure(fid)
            try:
                self._fill_row(row, merged, new)
            except (TypeError, ValueError, KeyError) as exc:
                self._unprojected.discard(fid)
                if new:
                    self.table.remove([fid])
                batch.refuse(i, exc)
                continue
            self.records[fid] = merged
            self.table.objects[row] = merged
        self._project_pending()

    def _accepted(self, batch: Batch) -> np.ndarray | None:
        """Per record: whether its merged record belongs on this layer (None: all do)."""
        return None

    def _place(self, batch: Batch) -> np.ndarray:
        """Rows of the batch's records still to apply, appending rows for new ones.

        Call it after every field is checked, so a refused new record never gets
        a row. Sets and returns ``batch.rows`` (-1 for refused records).
        """
        ok, new = batch.ok, batch.new
        batch.rows[ok] = batch.found[ok]
        add = np.flatnonzero(ok & new)
        if len(add):
            batch.rows[add] = self.table.append_many(batch.fids[add])
        return batch.rows

    def _store(self, batch: Batch) -> None:
        """Keep the applied records merged: a copy for a new feature, one update otherwise.

        A stored record is always the model's own dict (new ones are copied), so
        merging in place never touches a caller's dict and makes no new objects
        for a burst of updates to churn through.
        """
        ok, new, recs, rows = batch.ok, batch.new, batch.recs, batch.rows
        objects = self.table.objects
        fresh = np.flatnonzero(ok & new)
        if len(fresh):
            if len(fresh) == batch.n:
                fids, copies = batch.fids.tolist(), list(map(dict, recs))
            else:
                fids = batch.fids[fresh].tolist()
                copies = [dict(recs[i]) for i in fresh.tolist()]
            kept = np.empty(len(copies), dtype=object)
            kept[:] = copies
            objects[rows[fresh]] = kept
            self.records.update(zip(fids, copies, strict=True))
        old = np.flatnonzero(ok & ~new)
        if len(old) == batch.n:
            list(map(dict.update, objects[rows].tolist(), recs))
        elif len(old):
            list(map(dict.update, objects[rows[old]].tolist(), [recs[i] for i in old.tolist()]))

    def _positions(
        self, batch: Batch, lon_field: str = "lon", lat_field: str = "lat"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Records whose position is to be set, and its lon/lat (both NaN unless both finite).

        Refuses records whose lon or lat will not convert. Returns
        (indices, lon, lat); indices of refused records are still included.
        """
        which = batch.touched(lon_field, lat_field)
        lon = batch.floats(lon_field, which)
        lat = batch.floats(lat_field, which)
        missing = ~(np.isfinite(lon) & np.isfinite(lat))
        lon[missing] = lat[missing] = np.nan
        return which, lon, lat

    def _set_positions(
        self, batch: Batch, which: np.ndarray, lon: np.ndarray, lat: np.ndarray
    ) -> np.ndarray:
        """Write placed records' lon/lat and project only the new or moved; rows moved."""
        keep = batch.ok[which]
        rows = batch.rows[which[keep]]
        lon, lat = lon[keep], lat[keep]
        t = self.table.rows
        # NaN never equals NaN: a feature without a position is re-projected (to NaN).
        moved = batch.new[which[keep]] | (t["lon"][rows] != lon) | (t["lat"][rows] != lat)
        t["lon"][rows] = lon
        t["lat"][rows] = lat
        if moved.any():
            self._project_rows(rows[moved])
        return rows[moved]

    def _set_codes(self, batch: Batch, field_name: str, default: str) -> None:
        """Set a filter field's code column for placed records that are new or name it."""
        which = batch.touched(field_name)
        which = which[batch.ok[which]]
        if len(which):
            codes = self.vocab[field_name].codes_for(batch.values(field_name, which), default)
            self.table.rows[f"{field_name}_code"][batch.rows[which]] = codes

    def _project_pending(self) -> None:
        """Project the positions :meth:`_set_lon_lat` deferred, in one pyproj call."""
        if not self._unprojected:
            return
        rows_idx = self.table.rows_of(self._unprojected)
        self._unprojected.clear()
        self._project_rows(rows_idx)

    def _project_rows(self, rows_idx: np.ndarray, prefix: str = "") -> None:
        """x/y of some rows from their lon/lat (NaN where either is missing)."""
        rows = self.table.rows
        lon, lat = rows[prefix + "lon"][rows_idx], rows[prefix + "lat"][rows_idx]
        ok = np.isfinite(lon) & np.isfinite(lat)
        x = np.full(len(rows_idx), np.nan)
        y = np.full(len(rows_idx), np.nan)
        if ok.any():
            x[ok], y[ok] = self.projection.forward(lon[ok], lat[ok])
        rows["x"][rows_idx] = x
        rows["y"][rows_idx] = y

    def remove(self, ids: Iterable[int]) -> None:
        """Remove features by id (ids not present are ignored)."""
        removed = self._drop(int(i) for i in ids)
        if removed:
            self.changed.emit(LayerChange(self.name, frozenset(removed), True))

    def replace_all(self, records: Sequence[Record]) -> None:
        """Replace every feature (a snapshot), announced as one change."""
        old = set(self.records)
        with self.changed.hold():
            self.table.clear()
            self.records.clear()
            self._cleared()
            self.changed.emit(LayerChange(self.name, frozenset(old), True))
            self.upsert(records)

    def set_projection(self, projection: LocalProjection) -> None:
        """Reproject every feature."""
        self.projection = projection
        recs = list(self.records.values())
        self.replace_all(recs)

    def _drop(self, ids: Iterable[int]) -> set[int]:
        removed = set(self.table.remove(ids))
        for fid in removed:
            del self.records[fid]
        return removed

    def _cleared(self) -> None:
        """Hook: forget per-feature state kept outside the table."""

    def _fill_row(self, row: int, record: Record, new: bool) -> None:
        raise NotImplementedError

    def _set_code(self, row: int, field_name: str, value: Any) -> None:
        text = "" if value is None else str(value)
        self.table.rows[f"{field_name}_code"][row] = self.vocab[field_name].code(text)

    def _set_lon_lat(
        self, row: int, lon: Any, lat: Any, prefix: str = "", defer: bool = True
    ) -> None:
        """Set a row's lon/lat; its x/y follow at the end of the batch (or now)."""
        rows = self.table.rows
        if lon is None or lat is None:
            rows[prefix + "lon"][row] = rows[prefix + "lat"][row] = np.nan
            rows["x"][row] = rows["y"][row] = np.nan
            return
        lo, la = float(lon), float(lat)
        if defer:
            rows[prefix + "lon"][row], rows[prefix + "lat"][row] = lo, la
            self._unprojected.add(int(rows["id"][row]))
            return
        x, y = self.projection.forward(lo, la)
        rows[prefix + "lon"][row], rows[prefix + "lat"][row] = lo, la
        rows["x"][row], rows["y"][row] = float(x), float(y)

    # -- time ---------------------------------------------------------------------------------

    def tick(self) -> None:
        """Re-evaluate time-dependent state (ages, staleness) against the clock."""

    # -- style --------------------------------------------------------------------------------

    def set_visible(self, visible: bool) -> None:
        """Show or hide the whole layer."""
        if visible != self.visible:
            self.visible = visible
            self.changed.emit(LayerChange(self.name, style=frozenset({"visible"})))

    def set_opacity(self, opacity: float) -> None:
        """Layer opacity, 0 to 1."""
        opacity = min(1.0, max(0.0, float(opacity)))
        if opacity != self.opacity:
            self.opacity = opacity
            self.changed.emit(LayerChange(self.name, style=frozenset({"opacity"})))

    def set_hidden(self, field_name: str, values: Iterable[str]) -> None:
        """Hide features whose ``field_name`` is one of ``values`` (a filter)."""
        if field_name not in self.hidden:
            raise KeyError(f"{self.name} has no filter on {field_name!r}")
        new = set(values)
        if new != self.hidden[field_name]:
            self.hidden[field_name] = new
            self.changed.emit(LayerChange(self.name, style=frozenset({"filters"})))

    def set_value_shown(self, field_name: str, value: str, shown: bool) -> None:
        """Show or hide one value of a filter field."""
        hidden = set(self.hidden[field_name])
        if shown:
            hidden.discard(value)
        else:
            hidden.add(value)
        self.set_hidden(field_name, hidden)

    def shown_mask(self) -> np.ndarray:
        """Per row: passes every filter and has a position."""
        rows = self.table.rows
        mask = (
            np.isfinite(rows["x"]) if "x" in (rows.dtype.names or ()) else np.ones(len(rows), bool)
        )
        for f, hidden in self.hidden.items():
            if hidden:
                codes = self.vocab[f].codes_of(hidden)
                if codes:
                    mask &= ~np.isin(rows[f"{f}_code"], codes)
        return mask

    def legend(self) -> list[LegendEntry]:
        """Legend rows for every filter field's values present (or hidden)."""
        out: list[LegendEntry] = []
        rows = self.table.rows
        for f in self.filter_fields:
            vocab = self.vocab[f]
            counts = np.bincount(rows[f"{f}_code"], minlength=len(vocab)) if len(rows) else None
            names = set(self._legend_values(f)) | set(vocab.names) | self.hidden[f]
            for value in self._order_legend(f, names):
                code = vocab.codes_of([value])
                n = int(counts[code[0]]) if counts is not None and code else 0
                if n == 0 and value not in self._legend_values(f) and value not in self.hidden[f]:
                    continue
                label, colour, symbol, filled = self._legend_look(f, value)
                out.append(
                    LegendEntry(f, value, label, colour, symbol, filled, n, value in self.hidden[f])
                )
        return out

    def _legend_values(self, field_name: str) -> Sequence[str]:
        """Values always listed in the legend (e.g. every status), even at count 0."""
        return ()

    def _order_legend(self, field_name: str, names: set[str]) -> list[str]:
        fixed = list(self._legend_values(field_name))
        return fixed + sorted(n for n in names if n not in fixed)

    def _legend_look(self, field_name: str, value: str) -> tuple[str, str, str, bool]:
        return value, "#ffffff", "o", True

    # -- geometry queries ----------------------------------------------------------------------

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Projected positions of all rows."""
        rows = self.table.rows
        return rows["x"], rows["y"]

    def ids_in(self, area: BaseGeometry) -> list[int]:
        """Ids of shown features inside a polygon in projected metres."""
        x, y = self.xy()
        mask = self.shown_mask()
        if not mask.any():
            return []
        inside = np.zeros(len(x), dtype=bool)
        inside[mask] = shapely.contains_xy(area, x[mask], y[mask])
        return [int(i) for i in self.ids[inside]]

    def nearest(self, x: float, y: float, radius: float) -> int | None:
        """The shown feature nearest to (x, y) within ``radius`` metres, if any."""
        xs, ys = self.xy()
        mask = self.shown_mask()
        if not mask.any():
            return None
        d2 = np.where(mask, (xs - x) ** 2 + (ys - y) ** 2, np.inf)
        i = int(np.argmin(d2))
        return int(self.ids[i]) if d2[i] <= radius * radius else None

    def bounds(self, ids: Iterable[int] | None = None) -> tuple[float, float, float, float] | None:
        """(xmin, ymin, xmax, ymax) of some features (all when ``ids`` is None)."""
        x, y = self.xy()
        if ids is not None:
            r = self.table.rows_of(ids)
            x, y = x[r], y[r]
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return None
        return float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())

    def describe(self, fid: int) -> str:
        """A one-line description for tooltips and lists."""
        rec = self.records[fid]
        return f"{self.title} {fid}: {rec.get('name') or ''}".strip()
