"""Draws crews: heading arrows coloured by status, names, one item for all trails."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtGui

from layers import declutter, palette
from layers.crews.model import CrewLayerModel
from layers.fast_scatter import Style
from layers.rendering import LabelsItem, PointRenderer

#: Headings are drawn in steps of this many degrees: few atlas entries, no visible loss.
HEADING_STEP = 10
CREW_SIZE = 18.0


def _arrow_paths() -> list[QtGui.QPainterPath]:
    """An arrow per heading step, pointing up the screen at 0° and turning clockwise."""
    base = QtGui.QPainterPath()
    base.moveTo(0.0, -0.5)
    base.lineTo(0.38, 0.42)
    base.lineTo(0.0, 0.2)
    base.lineTo(-0.38, 0.42)
    base.closeSubpath()
    paths = []
    for deg in range(0, 360, HEADING_STEP):
        paths.append(QtGui.QTransform().rotate(deg).map(base))
    return paths


class CrewLayerRenderer(PointRenderer):
    """Crews: a scatter of arrows (a disc with no heading), a trail curve, a label item."""

    z = 30
    model: CrewLayerModel

    def __init__(
        self, model: CrewLayerModel, view: pg.ViewBox, request_frame: Callable[[], None]
    ) -> None:
        super().__init__(model, view, request_frame)
        self.arrows = _arrow_paths()
        self.trails = pg.PlotCurveItem(pen=self.styles.pen(palette.INK, 1.0, 0.5))
        # Beside the arrow, a little up (a route's ETA label goes under it); when a more
        # important crew's label is there: left, above or below, else not drawn.
        self.labels = LabelsItem(
            candidates=declutter.candidates_around(10.0, dy=-6.0), marker=CREW_SIZE
        )
        #: Crews whose labels are placed first, whatever their status (e.g. the selection).
        self.pinned: frozenset[int] = frozenset()
        self.add_item(self.trails, -1)
        self.add_item(self.labels, 1)

    def style_codes(self, rows: np.ndarray) -> tuple[np.ndarray, list[Style]]:
        """Look = (arrow by heading step, or a disc) x status x staleness."""
        t = self.model.table.rows
        heading = t["heading"][rows]
        has_heading = np.isfinite(heading)
        shape = np.full(len(rows), len(self.arrows), dtype=np.int64)  # last shape: the disc
        shape[has_heading] = np.round(heading[has_heading] / HEADING_STEP).astype(np.int64) % len(
            self.arrows
        )
        statuses = self.model.vocab["status"].names
        looks = [palette.crew_status_style(s) for s in statuses] or [palette.UNKNOWN_STATUS]
        table: list[Style] = []
        for symbol in [*self.arrows, "o"]:
            for s in looks:
                for stale in (0, 1):
                    alpha = palette.STALE_ALPHA if stale else 1.0
                    if s.filled:
                        pen = self.styles.pen(palette.INK, 1.2, alpha)
                        brush = self.styles.brush(s.colour, alpha)
                    else:
                        pen = self.styles.pen(s.colour, 2.0, alpha)
                        brush = self.styles.brush(palette.BACKGROUND, 0.6 * alpha)
                    table.append((symbol, CREW_SIZE, pen, brush))
        key = t["status_code"][rows].astype(np.int64) * 2 + t["stale"][rows].astype(np.int64)
        return shape * (2 * len(looks)) + key, table

    def after_data(self) -> None:
        """Trails and labels follow the points (a few hundred crews: rebuilt together)."""
        shown = np.flatnonzero(self.model.shown_mask())
        x, y, connect = self.model.trails(shown)
        self.trails.setData(x=x, y=y, connect=connect.astype(np.int32))
        t = self.model.table.rows
        ink = self.styles.pen(palette.INK)
        dim = self.styles.pen(palette.DIM_INK)
        ids = t["id"][shown]
        texts = [self.model.label(int(i)) for i in ids]
        pens = [dim if s else ink for s in t["stale"][shown]]
        rank = self.model.label_rank(shown)
        if self.pinned:
            rank = np.where(np.isin(ids, list(self.pinned)), -1, rank)
        order = declutter.placement_order(rank, ids)
        self.labels.set_labels(t["x"][shown], t["y"][shown], texts, pens, order)

    def pin_labels(self, ids: frozenset[int]) -> None:
        """Place these crews' labels before all others (a selected crew keeps its name shown)."""
        if ids != self.pinned:
            self.pinned = ids
            self.after_data()
