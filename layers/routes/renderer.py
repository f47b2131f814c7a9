"""Draws the recommended routes: the best one bold, the others thinner, ETA labels at the crews.

Four items for any number of routes: two ``PlotCurveItem`` (rank 1, and the
rest, each one curve with a ``connect`` mask), one ``LabelsItem`` for the ETA
labels and one scatter marking the job the routes lead to.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from layers import palette
from layers.base import ChangeSet
from layers.rendering import LabelsItem, LayerRenderer
from layers.routes.model import RouteLayerModel

#: The best route: sky blue, wide (no status colour means "route"; width backs the rank).
BEST_COLOUR = palette.OKABE_ITO["sky_blue"]
OTHER_COLOUR = palette.OKABE_ITO["reddish_purple"]


class RouteLayerRenderer(LayerRenderer):
    """Routes under the crews (z 25): curves for the lines, one label item, one job marker."""

    z = 25
    model: RouteLayerModel

    def __init__(
        self, model: RouteLayerModel, view: pg.ViewBox, request_frame: Callable[[], None]
    ) -> None:
        super().__init__(model, view, request_frame)
        self.best = pg.PlotCurveItem(pen=self.styles.pen(BEST_COLOUR, 5.0, 0.9))
        self.others = pg.PlotCurveItem(pen=self.styles.pen(OTHER_COLOUR, 3.0, 0.8))
        # Third line beside a crew: its own label sits above, the drag ETA mark just below.
        self.labels = LabelsItem(offset=(14.0, 36.0))
        self.target = pg.ScatterPlotItem(
            pxMode=True,
            symbol="star",
            size=20,
            pen=self.styles.pen(palette.INK, 1.5),
            brush=self.styles.brush(BEST_COLOUR),
        )
        self.add_item(self.others, 0)
        self.add_item(self.best, 0.5)
        self.add_item(self.labels, 6)
        self.add_item(self.target, 5)

    def apply_data(self, changes: ChangeSet) -> None:
        """A handful of routes: rebuild them all."""
        for item, best in ((self.best, True), (self.others, False)):
            x, y, connect = self.model.paths(best)
            item.setData(x=x, y=y, connect=connect.astype(np.int32))
        ids = self.model.ranked_ids()
        t = self.model.table.rows
        rows = self.model.table.rows_of(ids)
        ink, dim = self.styles.pen(palette.INK), self.styles.pen(palette.DIM_INK)
        self.labels.set_labels(
            t["x"][rows],
            t["y"][rows],
            [self.model.label(i) for i in ids],
            [dim if s else ink for s in t["stale"][rows]],
        )
        end = self.model.end_point()
        if end is None:
            self.target.setData(x=[], y=[])
        else:
            self.target.setData(x=[end[0]], y=[end[1]])

    def pick(self, x: float, y: float, metres_per_pixel: float) -> list[int]:
        """Routes are not picked: the crews and issues beneath take the click."""
        return []
