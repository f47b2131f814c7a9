"""Draws the risk layer: one scatter item, a colour and size per probability band."""

from __future__ import annotations

import numpy as np
from pyqtgraph.Qt import QtGui

from layers import palette
from layers.fast_scatter import Style
from layers.rendering import PointRenderer
from layers.risk.model import BAND_KEYS, RISK_BANDS, RiskLayerModel


class RiskLayerRenderer(PointRenderer):
    """Scored assets as one scatter item; the riskiest band wins a shared density cell."""

    z = 12  # just above the assets it scores
    model: RiskLayerModel

    def style_codes(self, rows: np.ndarray) -> tuple[np.ndarray, list[Style]]:
        """Code = band code (the model's vocabulary holds the bands in order)."""
        outline = self.styles.pen(palette.BACKGROUND, 1.0, 0.9)
        table: list[Style] = [
            ("o", band.size, outline, self.styles.brush(band.colour, 0.95)) for band in RISK_BANDS
        ]
        return self.model.table.rows["band_code"][rows].astype(np.int64), table

    def density_classes(self, rows: np.ndarray) -> np.ndarray:
        """The band code: at city zoom a cell shows the riskiest asset in it."""
        if len(self.scatter.density_colours) != len(BAND_KEYS):
            self.scatter.density_rank = np.arange(1, len(BAND_KEYS) + 1, dtype=np.uint8)
            self.scatter.density_colours = [QtGui.QColor(b.colour) for b in RISK_BANDS]
        return self.model.table.rows["band_code"][rows].astype(np.int64)
