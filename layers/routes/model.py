"""The routes layer model: the recommended crews' drives to one job, in projected metres (no Qt).

One feature per recommended crew (id = crew id), filled from a
``recommend_crews`` reply: rank, ETA, stale flag and the route's lon/lat
polyline. The renderer draws every route with a couple of items, so the model
hands out all polylines at once as flat ``x``/``y`` arrays with a ``connect``
mask (``False`` where one route ends and the next begins), the form
``pyqtgraph.PlotCurveItem`` takes. Routes are not selectable: a click on
the map still picks the crew or issue under it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from layers.base import LayerChange, LayerModel, Record


def eta_text(seconds: float) -> str:
    """A short ETA for a map label: ``45s``, ``12m``, ``1h 05m``."""
    s = max(int(seconds), 0)  # truncated like the panels' format_duration, so they agree
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


class RouteLayerModel(LayerModel):
    """Routes from recommended crews to the selected job; label anchors at the crews' ends."""

    name = "routes"
    title = "Routes"
    dtype = np.dtype(
        [
            ("id", "i8"),
            ("rank", "i2"),
            ("stale", "?"),
            ("eta_s", "f8"),
            ("x", "f8"),  # where the route starts (the crew), for the label
            ("y", "f8"),
        ]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Projected vertices of each route, by crew id.
        self.geometry: dict[int, np.ndarray] = {}
        #: The job the routes lead to (None: no routes shown).
        self.job_id: int | None = None

    # -- feeding ----------------------------------------------------------------------------

    def show_recommendation(self, job_id: int, choices: Sequence[Mapping[str, Any]]) -> None:
        """Replace the routes with a ``recommend_crews`` reply's choices for ``job_id``."""
        records = []
        for c in choices:
            route = c.get("route") or {}
            records.append(
                {
                    "id": int(c["crew_id"]),
                    "rank": int(c.get("rank") or 0),
                    "crew_name": c.get("crew_name"),
                    "eta_s": c.get("eta_s"),
                    "stale": bool(c.get("stale")),
                    "coords": route.get("coords") or [],
                }
            )
        self.job_id = job_id
        self.replace_all(records)

    def clear(self) -> None:
        """No job selected: no routes."""
        self.job_id = None
        if len(self):
            self.replace_all([])

    def _cleared(self) -> None:
        self.geometry.clear()

    def _fill_row(self, row: int, record: Record, new: bool) -> None:
        coords = np.asarray(record.get("coords") or [], dtype=float)
        if coords.ndim != 2 or coords.shape[0] < 2 or coords.shape[1] < 2:
            raise ValueError("a route needs at least two [lon, lat] points")
        if not np.isfinite(coords[:, :2]).all():
            raise ValueError("a route has a non-finite coordinate")
        xy = self.projection.forward_xy(coords[:, :2])
        fid = int(record["id"])
        self.geometry[fid] = xy
        rows = self.table.rows
        rows["rank"][row] = int(record.get("rank") or 0)
        rows["stale"][row] = bool(record.get("stale"))
        eta = record.get("eta_s")
        rows["eta_s"][row] = float("nan") if eta is None else float(eta)
        rows["x"][row], rows["y"][row] = float(xy[0, 0]), float(xy[0, 1])

    def _drop(self, ids: Any) -> set[int]:
        removed = super()._drop(ids)
        for fid in removed:
            self.geometry.pop(fid, None)
        return removed

    # -- reading ----------------------------------------------------------------------------

    def ranked_ids(self) -> list[int]:
        """Crew ids of the shown routes, best first."""
        rows = self.table.rows
        order = np.lexsort((rows["id"], rows["rank"]))
        return [int(i) for i in rows["id"][order]] if self.visible else []

    def paths(self, best: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All rank-1 routes (``best``) or all the others, as ``x``, ``y`` and ``connect``.

        ``connect[i]`` says whether vertex ``i`` joins vertex ``i + 1``: False at
        each route's last vertex, so one curve item draws every route apart.
        """
        parts = [
            self.geometry[fid]
            for fid in self.ranked_ids()
            if (int(self.table.rows["rank"][self.table.row(fid)]) == 1) == best
        ]
        if not parts:
            return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
        xy = np.concatenate(parts)
        connect = np.ones(len(xy), dtype=bool)
        connect[np.cumsum([len(p) for p in parts]) - 1] = False
        return xy[:, 0].copy(), xy[:, 1].copy(), connect

    def label(self, fid: int) -> str:
        """``1 · Alpha · 4m`` (and ``stale`` when the crew's position is old)."""
        rec = self.records[fid]
        eta = rec.get("eta_s")
        parts = [str(rec.get("rank") or "?"), str(rec.get("crew_name") or f"crew {fid}")]
        parts.append("ETA ?" if eta is None else f"ETA {eta_text(float(eta))}")
        text = " · ".join(parts)
        return text + " · stale" if rec.get("stale") else text

    def end_point(self) -> tuple[float, float] | None:
        """Where the routes end (the job), in metres; None without routes."""
        for fid in self.ranked_ids():
            xy = self.geometry[fid]
            return float(xy[-1, 0]), float(xy[-1, 1])
        return None

    def describe(self, fid: int) -> str:
        """Tooltip text of one route."""
        return f"Route {self.label(fid)}"

    # Routes are drawn, not picked: clicks go to the crews and issues beneath.
    def nearest(self, x: float, y: float, radius: float) -> int | None:
        """Never a hit (routes are not selectable)."""
        return None

    def ids_in(self, area: BaseGeometry) -> list[int]:
        """Never a hit (routes are not selectable)."""
        return []

    def announce_style(self) -> None:
        """Tell the renderer to redraw (used after a projection swap)."""
        self.changed.emit(LayerChange(self.name, frozenset(self.records), True))
