"""Draws open issues: single issues by category and age, clusters with counts when zoomed out."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from layers import palette
from layers.base import ChangeSet
from layers.issues.model import Clusters, IssueLayerModel
from layers.rendering import FastScatter, LabelsItem, LayerRenderer

#: Grid cell of the clustering, in screen pixels.
CLUSTER_CELL_PX = 48.0


class IssueLayerRenderer(LayerRenderer):
    """Three items: single issues, cluster discs, and cluster counts.

    Clustering is a grid in screen space, recomputed when the zoom changes (or
    issues change), never on a pan: the grid is anchored in map metres.
    """

    z = 20
    model: IssueLayerModel

    def __init__(
        self, model: IssueLayerModel, view: pg.ViewBox, request_frame: Callable[[], None]
    ) -> None:
        super().__init__(model, view, request_frame)
        self.singles = FastScatter(pxMode=True)
        self.discs = FastScatter(pxMode=True)
        self.counts = LabelsItem(centred=True)
        self.add_item(self.singles, 0)
        self.add_item(self.discs, 1)
        self.add_item(self.counts, 2)
        self.metres_per_pixel = 0.0
        self.clusters: Clusters | None = None
        self.cluster_runs = 0
        self._disc_pen = self.styles.pen(palette.INK, 1.5, 0.9)
        self._disc_brush = self.styles.brush(palette.CLUSTER_COLOUR, 0.85)
        self._count_pen = self.styles.pen(palette.BACKGROUND)

    def view_scale_changed(self, metres_per_pixel: float) -> None:
        """Regroup when the zoom moved by more than a few per cent."""
        old = self.metres_per_pixel
        self.metres_per_pixel = metres_per_pixel
        if old <= 0 or abs(metres_per_pixel - old) / old > 0.02:
            self.mark_dirty()

    def apply_data(self, changes: ChangeSet) -> None:
        """Regroup and redraw (a few thousand issues: one vectorised pass)."""
        self._recluster()

    def apply_filters(self) -> None:
        """Filters change which issues group together."""
        self._recluster()

    def _recluster(self) -> None:
        if self.metres_per_pixel <= 0:
            return
        cell = CLUSTER_CELL_PX * self.metres_per_pixel
        cl = self.model.clusters(cell)
        self.clusters = cl
        self.cluster_runs += 1
        t = self.model.table.rows
        single_k = np.flatnonzero(cl.count == 1)
        in_single = np.isin(cl.label, single_k)
        rows = cl.rows[in_single]
        sym, size, pen, brush = self._single_styles(rows)
        self.singles.set_all(
            t["x"][rows],
            t["y"][rows],
            sym,
            size,
            pen,
            brush,
            np.ones(len(rows), bool),
            t["id"][rows],
        )
        multi = np.flatnonzero(cl.count > 1)
        n = len(multi)
        sizes = np.array([18.0 + 6.0 * math.log10(c) for c in cl.count[multi]])
        self.discs.set_all(
            cl.x[multi],
            cl.y[multi],
            np.full(n, "o", dtype=object),
            sizes,
            np.full(n, self._disc_pen, dtype=object),
            np.full(n, self._disc_brush, dtype=object),
            np.ones(n, bool),
            multi,
        )
        self.counts.set_labels(
            cl.x[multi], cl.y[multi], [str(c) for c in cl.count[multi]], [self._count_pen] * n
        )

    def _single_styles(
        self, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        cats = self.model.vocab["category"].names
        statuses = self.model.vocab["status"].names
        sym_table = np.array([palette.issue_symbol(c) for c in cats] or ["o"], dtype=object)
        bands = palette.ISSUE_AGE_BANDS
        size_table = np.array([b.size for b in bands])
        nb = len(bands)
        looks = [palette.issue_status_style(s) for s in statuses] or [palette.UNKNOWN_STATUS]
        # Style per (status, age band): a handful of pens and brushes in all.
        pen_table = np.empty(len(looks) * nb, dtype=object)
        brush_table = np.empty(len(looks) * nb, dtype=object)
        for si, s in enumerate(looks):
            for bi, b in enumerate(bands):
                if s.filled:
                    pen_table[si * nb + bi] = self.styles.pen(palette.BACKGROUND, 1.0)
                    brush_table[si * nb + bi] = self.styles.brush(b.colour)
                else:
                    pen_table[si * nb + bi] = self.styles.pen(b.colour, 2.0)
                    brush_table[si * nb + bi] = self.styles.brush(palette.BACKGROUND, 0.6)
        t = self.model.table.rows
        band = t["age_band"][rows].astype(np.int64)
        key = t["status_code"][rows].astype(np.int64) * nb + band
        return (
            sym_table[t["category_code"][rows]],
            size_table[band],
            pen_table[key],
            brush_table[key],
        )

    def pick(self, x: float, y: float, metres_per_pixel: float) -> list[int]:
        """A click on a cluster gives all its issues; else the nearest single issue."""
        if not self.model.visible or self.clusters is None:
            return super().pick(x, y, metres_per_pixel)
        cl = self.clusters
        multi = np.flatnonzero(cl.count > 1)
        if len(multi):
            d2 = (cl.x[multi] - x) ** 2 + (cl.y[multi] - y) ** 2
            i = int(np.argmin(d2))
            radius = (9.0 + 3.0 * math.log10(float(cl.count[multi[i]]))) * metres_per_pixel
            if d2[i] <= radius * radius:
                rows = cl.members(int(multi[i]))
                return [int(v) for v in self.model.table.rows["id"][rows]]
        return super().pick(x, y, metres_per_pixel)
