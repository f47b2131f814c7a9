"""Draws the assets layer: one scatter item, a symbol per kind, a colour per status.

At city zoom, where thousands of assets share each screen cell, the item
draws a density image coloured by the most severe status in each cell (see
:mod:`layers.fast_scatter`), so an alarm is never buried under a crowd of OKs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtGui

from layers import palette
from layers.assets.model import AssetLayerModel
from layers.fast_scatter import Style
from layers.rendering import PointRenderer

#: Statuses from least to most severe: the more severe wins a shared density cell.
SEVERITY = ("ok", "under_repair", "out_of_service", "warning", "alarm")


class AssetLayerRenderer(PointRenderer):
    """Assets as one scatter item; styles come from small per-code tables."""

    z = 10
    model: AssetLayerModel

    def __init__(
        self, model: AssetLayerModel, view: pg.ViewBox, request_frame: Callable[[], None]
    ) -> None:
        super().__init__(model, view, request_frame)
        self._statuses_seen = -1

    def style_codes(self, rows: np.ndarray) -> tuple[np.ndarray, list[Style]]:
        """Code = kind code x statuses + status code; the table holds every pair."""
        kinds = self.model.vocab["kind"].names or ["unknown"]
        statuses = self.model.vocab["status"].names or ["ok"]
        looks = [palette.asset_status_style(s) for s in statuses]
        table: list[Style] = []
        for k in kinds:
            symbol = palette.asset_symbol(k)
            for s in looks:
                size = palette.ASSET_BASE_SIZE * s.size_scale
                if not s.filled:
                    pen = self.styles.pen(s.colour, s.outline or 1.5)
                    brush = self.styles.brush(palette.BACKGROUND, 0.6)
                else:
                    pen = (
                        self.styles.pen(palette.INK, s.outline, 0.85)
                        if s.outline
                        else self.styles.no_pen
                    )
                    brush = self.styles.brush(s.colour)
                table.append((symbol, size, pen, brush))
        t = self.model.table.rows
        codes = t["kind_code"][rows].astype(np.int64) * len(looks) + t["status_code"][rows]
        return codes, table

    def density_classes(self, rows: np.ndarray) -> np.ndarray:
        """The status code: the density image shows status, the symbol's main cue."""
        self._update_density_look()
        return self.model.table.rows["status_code"][rows].astype(np.int64)

    def _update_density_look(self) -> None:
        statuses = self.model.vocab["status"].names
        if len(statuses) == self._statuses_seen:
            return
        self._statuses_seen = len(statuses)
        # Unknown statuses rank just above OK: they should be seen, but not over alarms.
        order = sorted(
            range(len(statuses)),
            key=lambda i: SEVERITY.index(statuses[i]) if statuses[i] in SEVERITY else 0.5,
        )
        rank = np.zeros(len(statuses), dtype=np.uint8)
        rank[order] = np.arange(1, len(statuses) + 1)
        self.scatter.density_rank = rank
        self.scatter.density_colours = [
            QtGui.QColor(palette.asset_status_style(s).colour) for s in statuses
        ]
