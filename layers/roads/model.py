"""The roads basemap model: centerlines in projected metres, grouped by style (no Qt)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from shapely import wkb
from shapely.geometry.base import BaseGeometry

from layers import palette
from layers.base import LayerModel, Record


def road_parts(geom: Any) -> list[np.ndarray]:
    """Lon/lat vertex arrays of a road: ``[[lon, lat], ...]``, nested parts, or WKB bytes."""
    if isinstance(geom, bytes | bytearray | memoryview):
        geom = wkb.loads(bytes(geom))
    if isinstance(geom, str):
        geom = shapely.from_wkt(geom)
    if isinstance(geom, BaseGeometry):
        if geom.geom_type == "LineString":
            return [np.asarray(geom.coords, dtype=float)[:, :2]]
        if geom.geom_type == "MultiLineString":
            return [np.asarray(g.coords, dtype=float)[:, :2] for g in geom.geoms]
        raise ValueError(f"a road must be a line, got {geom.geom_type}")
    if (
        isinstance(geom, list | tuple)
        and geom
        and isinstance(geom[0], list | tuple)
        and geom[0]
        and isinstance(geom[0][0], list | tuple)
    ):
        # Nested parts (a MultiLineString's coordinates): parts may differ in length.
        return [_part(p) for p in geom]
    return [_part(geom)]


def _part(coords: Any) -> np.ndarray:
    arr = np.asarray(coords, dtype=float)
    if arr.ndim == 2 and arr.shape[1] >= 2:
        return arr[:, :2]
    raise ValueError("road coords must be [[lon, lat], ...], nested parts, or WKB")


class RoadLayerModel(LayerModel):
    """Road centerlines; filter by ``road_class``. Geometry is kept per road in metres."""

    name = "roads"
    title = "Roads"
    dtype = np.dtype(
        [
            ("id", "i8"),
            ("road_class_code", "i2"),
            ("oneway", "i1"),
            ("x", "f8"),  # a representative point (first vertex), for picking
            ("y", "f8"),
        ]
    )
    filter_fields = ("road_class",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Projected vertex arrays of each road's parts.
        self.geometry: dict[int, list[np.ndarray]] = {}
        self._group_of_code: list[str] = []

    def _cleared(self) -> None:
        self.geometry.clear()

    def _fill_row(self, row: int, record: Record, new: bool) -> None:
        geom = record.get("coords", record.get("geom"))
        if geom is None:
            raise ValueError("road without coords or geom")
        parts = [p for p in road_parts(geom) if len(p) >= 2]
        if not parts:
            raise ValueError("road with fewer than two vertices")
        projected = [self.projection.forward_xy(p) for p in parts]
        oneway = int(record.get("oneway") or 0)
        if oneway not in (-1, 0, 1):
            raise ValueError(f"oneway must be -1, 0 or 1, got {oneway}")
        rows = self.table.rows
        fid = int(rows["id"][row])
        self.geometry[fid] = projected
        self._set_code(row, "road_class", str(record.get("road_class") or "unclassified"))
        rows["oneway"][row] = oneway
        rows["x"][row], rows["y"][row] = projected[0][0]

    def _drop(self, ids: Iterable[int]) -> set[int]:
        removed = super()._drop(ids)
        for fid in removed:
            self.geometry.pop(fid, None)
        return removed

    def group_of(self, fid: int) -> str:
        """The style group (see :data:`palette.ROAD_STYLES`) of a road."""
        code = int(self.table.rows["road_class_code"][self.table.row(fid)])
        return palette.road_group(self.vocab["road_class"].names[code])

    def polylines(self, group: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every shown road of one style group as x, y and a connect array."""
        rows = self.table.rows
        shown = self.shown_mask()
        groups = [palette.road_group(n) for n in self.vocab["road_class"].names]
        parts: list[np.ndarray] = []
        for r in np.flatnonzero(shown):
            if groups[rows["road_class_code"][r]] == group:
                parts.extend(self.geometry[int(rows["id"][r])])
        if not parts:
            e = np.zeros(0)
            return e, e, np.zeros(0, dtype=bool)
        xy = np.concatenate(parts)
        connect = np.ones(len(xy), dtype=bool)
        connect[np.cumsum([len(p) for p in parts]) - 1] = False
        return xy[:, 0], xy[:, 1], connect

    def parts(self, group: str) -> list[np.ndarray]:
        """Every shown road part of one style group, as (n, 2) vertex arrays in metres."""
        rows = self.table.rows
        groups = np.array(
            [palette.road_group(n) == group for n in self.vocab["road_class"].names] or [False]
        )
        take = self.shown_mask() & groups[rows["road_class_code"]]
        return [p for fid in rows["id"][take] for p in self.geometry[int(fid)]]

    def shown_mask(self) -> np.ndarray:
        """Roads pass only the class filter (they always have geometry)."""
        rows = self.table.rows
        mask = np.ones(len(rows), dtype=bool)
        hidden = self.vocab["road_class"].codes_of(self.hidden["road_class"])
        if hidden:
            mask &= ~np.isin(rows["road_class_code"], hidden)
        return mask

    def bounds(self, ids: Iterable[int] | None = None) -> tuple[float, float, float, float] | None:
        """Extent of the roads' vertices."""
        keys = self.geometry.keys() if ids is None else [i for i in ids if i in self.geometry]
        arrs = [p for k in keys for p in self.geometry[k]]
        if not arrs:
            return None
        xy = np.concatenate(arrs)
        return (
            float(xy[:, 0].min()),
            float(xy[:, 1].min()),
            float(xy[:, 0].max()),
            float(xy[:, 1].max()),
        )

    def _legend_look(self, field_name: str, value: str) -> tuple[str, str, str, bool]:
        s = palette.ROAD_STYLES[palette.road_group(value)]
        return value.replace("_", " "), s.colour, "_", True

    def describe(self, fid: int) -> str:
        """``Main Street (residential, one-way)``."""
        rec = self.records[fid]
        extra = str(rec.get("road_class") or "")
        if int(rec.get("oneway") or 0):
            extra += ", one-way"
        return f"{rec.get('name') or 'Road ' + str(fid)} ({extra})"
