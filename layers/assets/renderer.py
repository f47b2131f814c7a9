"""Draws the assets layer: one scatter item, a symbol per kind, a colour per status."""

from __future__ import annotations

import numpy as np

from layers import palette
from layers.assets.model import AssetLayerModel
from layers.rendering import PointRenderer


class AssetLayerRenderer(PointRenderer):
    """Assets as one ScatterPlotItem; styles come from small per-code tables."""

    z = 10
    model: AssetLayerModel

    def point_styles(
        self, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Look up each row's style by (kind code, status code): a few table lookups."""
        kinds = self.model.vocab["kind"].names
        statuses = self.model.vocab["status"].names
        sym_table = np.array([palette.asset_symbol(k) for k in kinds] or ["o"], dtype=object)
        looks = [palette.asset_status_style(s) for s in statuses] or [palette.UNKNOWN_STATUS]
        size_table = np.array([palette.ASSET_BASE_SIZE * s.size_scale for s in looks])
        pen_table = np.empty(len(looks), dtype=object)
        brush_table = np.empty(len(looks), dtype=object)
        for i, s in enumerate(looks):
            if not s.filled:
                pen_table[i] = self.styles.pen(s.colour, s.outline or 1.5)
                brush_table[i] = self.styles.brush(palette.BACKGROUND, 0.6)
            else:
                pen_table[i] = (
                    self.styles.pen(palette.INK, s.outline, 0.85)
                    if s.outline
                    else self.styles.no_pen
                )
                brush_table[i] = self.styles.brush(s.colour)
        t = self.model.table.rows
        k = t["kind_code"][rows]
        st = t["status_code"][rows]
        return sym_table[k], size_table[st], pen_table[st], brush_table[st]
