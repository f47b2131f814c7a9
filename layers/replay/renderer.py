"""Draws the replay: one scatter for every marker, one label item for the crews' names.

Two pyqtgraph items for any number of features. Each (kind, status) look
is one shared pen and brush from the style book, so the scatter's symbol
atlas holds a handful of entries. Crews are discs in their status colour,
jobs hexagons in their status colour, issues hollow triangles, alarms their
severity's own shape and colour (the same palette as the live layers); each
is drawn larger than the dimmed live map beneath.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from layers import palette
from layers.base import ChangeSet
from layers.rendering import LabelsItem, LayerRenderer
from layers.replay.model import ReplayLayerModel

Look = tuple[str, float, object, object]


class ReplayLayerRenderer(LayerRenderer):
    """The replay above every live layer (z 60): markers, then crew labels."""

    z = 60
    model: ReplayLayerModel

    def __init__(
        self, model: ReplayLayerModel, view: pg.ViewBox, request_frame: Callable[[], None]
    ) -> None:
        super().__init__(model, view, request_frame)
        self.markers = pg.ScatterPlotItem(pxMode=True)
        self.labels = LabelsItem(offset=(12.0, -8.0))
        self.add_item(self.markers, 0)
        self.add_item(self.labels, 1)

    def look(self, kind: str, status: str) -> Look:
        """(symbol, size, pen, brush) of a kind in a status."""
        s = self.styles
        if kind == "crew":
            c = palette.crew_status_style(status)
            return "o", 16.0, s.pen(palette.INK, 1.5), s.brush(c.colour)
        if kind == "job":
            c = palette.job_status_style(status)
            return "h", 14.0, s.pen(palette.INK, 1.0), s.brush(c.colour)
        if kind == "issue":
            return "t", 12.0, s.pen(palette.INK, 2.0), s.brush(palette.BACKGROUND, 0.6)
        sev = palette.alarm_severity_style(status)
        return sev.symbol, 15.0, s.pen(palette.INK, 1.0), s.brush(sev.colour)

    def apply_data(self, changes: ChangeSet) -> None:
        """A frame replaces everything: rebuild both items (a few hundred features)."""
        m = self.model
        t = m.table.rows
        shown = np.flatnonzero(m.shown_mask())
        kinds = m.vocab["kind"].names
        looks = [
            self.look(kinds[int(k)], status)
            for k, status in zip(t["kind_code"][shown], m.status_of_rows(shown), strict=True)
        ]
        self.markers.setData(
            x=t["x"][shown],
            y=t["y"][shown],
            symbol=[lk[0] for lk in looks],
            size=[lk[1] for lk in looks],
            pen=[lk[2] for lk in looks],
            brush=[lk[3] for lk in looks],
            data=t["id"][shown],
        )
        crews = m.rows_of_kind("crew")
        ink = self.styles.pen(palette.INK)
        self.labels.set_labels(
            t["x"][crews],
            t["y"][crews],
            [m.label(int(i)) for i in t["id"][crews]],
            [ink] * len(crews),
        )
