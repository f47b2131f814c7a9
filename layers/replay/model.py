"""The replay layer model: what :class:`console.timeline.replay.ReplayModel` shows at T (no Qt).

One layer for every kind, so a frame is one replacement of one table and
the renderer draws it with a couple of items. Features of different kinds
share the table, so a feature's id is its kind's block plus the entity id
(:func:`feature_id`); :meth:`ReplayLayerModel.entity_of` turns it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from layers.base import POINT_FIELDS, LayerModel, Record

#: Kinds in the table, and the id block each owns.
KINDS = ("crew", "job", "issue", "alarm")
BLOCK = 10**12


def feature_id(kind: str, entity_id: int) -> int:
    """The layer's id for an entity (``crew`` 5 → 1_000_000_000_005)."""
    return (KINDS.index(kind) + 1) * BLOCK + int(entity_id)


class ReplayLayerModel(LayerModel):
    """The replay at one time: markers with kind, status (alarms: severity), label, heading."""

    name = "replay"
    title = "Replay"
    dtype = np.dtype(
        [
            *POINT_FIELDS,
            ("heading", "f8"),
            ("kind_code", "i2"),
            ("status_code", "i2"),
        ]
    )
    filter_fields = ("kind", "status")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The time shown (epoch seconds), None when the replay is off.
        self.at: float | None = None

    def show(self, at: float, markers: Iterable[Any]) -> None:
        """Show a frame: ``markers`` with ``kind``, ``id``, ``lon``, ``lat``, ``status``,
        ``label``, ``heading`` (:class:`console.timeline.replay.Marker`)."""
        self.at = at
        self.replace_all(
            [
                {
                    "id": feature_id(m.kind, m.id),
                    "kind": m.kind,
                    "entity_id": int(m.id),
                    "status": m.status,
                    "label": m.label,
                    "lon": m.lon,
                    "lat": m.lat,
                    "heading": m.heading,
                }
                for m in markers
            ]
        )

    def clear(self) -> None:
        """Replay off: nothing to show."""
        self.at = None
        if len(self):
            self.replace_all([])

    def _fill_row(self, row: int, record: Record, new: bool) -> None:
        t = self.table.rows
        if record["kind"] not in KINDS:
            raise ValueError(f"unknown replay kind {record['kind']!r}")
        self._set_code(row, "kind", record["kind"])
        self._set_code(row, "status", record.get("status"))
        heading = record.get("heading")
        t["heading"][row] = np.nan if heading is None else float(heading)
        self._set_lon_lat(row, record.get("lon"), record.get("lat"))

    def entity_of(self, fid: int) -> tuple[str, int]:
        """A feature id as ``(kind, entity id)``."""
        return KINDS[fid // BLOCK - 1], fid % BLOCK

    def rows_of_kind(self, kind: str) -> np.ndarray:
        """Rows of one kind that have a position."""
        codes = self.vocab["kind"].codes_of([kind])
        t = self.table.rows
        if not codes:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero((t["kind_code"] == codes[0]) & np.isfinite(t["x"]))

    def status_of_rows(self, rows: np.ndarray) -> list[str]:
        """The status (or severity) text of some rows."""
        names = self.vocab["status"].names
        return [names[int(c)] for c in self.table.rows["status_code"][rows]]

    def label(self, fid: int) -> str:
        """A feature's label (crews: their name)."""
        return str(self.records[fid].get("label") or "")

    def describe(self, fid: int) -> str:
        """Tooltip text: ``Crew Alpha · on site``."""
        kind, eid = self.entity_of(fid)
        rec = self.records[fid]
        name = rec.get("label") or f"{kind.capitalize()} {eid}"
        return f"{name} · {str(rec.get('status') or '').replace('_', ' ')} (replay)"
