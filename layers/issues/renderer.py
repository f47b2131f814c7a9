"""Draws open issues: single issues by category and age, clusters with counts when zoomed out."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from layers import palette
from layers.base import ChangeSet
from layers.fast_scatter import FastScatter, Style
from layers.issues.model import Clusters, IssueLayerModel
from layers.rendering import LabelsItem, LayerRenderer

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
        codes, looks = self._single_styles(rows)
        self.singles.set_styled(
            t["x"][rows], t["y"][rows], codes, looks, np.ones(len(rows), bool), t["id"][rows]
        )
        multi = np.flatnonzero(cl.count > 1)
        n = len(multi)
        # Disc sizes step by a tenth of a decade of count: few looks, one atlas entry each.
        steps = np.round(10.0 * np.log10(np.maximum(cl.count[multi], 1))).astype(np.int64)
        disc_looks: list[Style] = [
            ("o", 18.0 + 0.6 * k, self._disc_pen, self._disc_brush)
            for k in range(int(steps.max(initial=0)) + 1)
        ]
        self.discs.set_styled(cl.x[multi], cl.y[multi], steps, disc_looks, np.ones(n, bool), multi)
        self.counts.set_labels(
            cl.x[multi], cl.y[multi], [str(c) for c in cl.count[multi]], [self._count_pen] * n
        )

    def _single_styles(self, rows: np.ndarray) -> tuple[np.ndarray, list[Style]]:
        """Look = category symbol x status x age band (size and colour by age)."""
        cats = self.model.vocab["category"].names or ["Other"]
        statuses = self.model.vocab["status"].names
        bands = palette.ISSUE_AGE_BANDS
        nb = len(bands)
        looks = [palette.issue_status_style(s) for s in statuses] or [palette.UNKNOWN_STATUS]
        table: list[Style] = []
        for c in cats:
            symbol = palette.issue_symbol(c)
            for s in looks:
                for b in bands:
                    if s.filled:
                        pen = self.styles.pen(palette.BACKGROUND, 1.0)
                        brush = self.styles.brush(b.colour)
                    else:
                        pen = self.styles.pen(b.colour, 2.0)
                        brush = self.styles.brush(palette.BACKGROUND, 0.6)
                    table.append((symbol, b.size, pen, brush))
        t = self.model.table.rows
        band = t["age_band"][rows].astype(np.int64)
        key = t["status_code"][rows].astype(np.int64) * nb + band
        return t["category_code"][rows].astype(np.int64) * (len(looks) * nb) + key, table

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
