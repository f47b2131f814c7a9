"""The risk layer model: where each scored asset is and its 30-day failure probability (no Qt).

Records come from the backend's ``get_risk`` reply (``asset_id``, ``lon``,
``lat``, ``p30``, ``kind``, ``name``, ``reasons``). Probabilities fall into a
few bands, and each band has one colour of a colour-blind-safe sequential
ramp (viridis, whose lightness rises steadily, so it reads in grey too) and
its own symbol size: risk is seen by brightness and size, not hue alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layers.base import POINT_FIELDS, Clock, LayerModel, Record, utc_now
from layers.projection import LocalProjection


@dataclass(frozen=True, slots=True)
class RiskBand:
    """One class of 30-day failure probability and how it draws."""

    key: str
    low: float  # inclusive lower bound of p30
    label: str
    colour: str
    size: float


#: Bands from least to most likely to fail; viridis from mid-blue up (its darkest
#: purples vanish on the dark map).
RISK_BANDS: tuple[RiskBand, ...] = (
    RiskBand("p0", 0.0, "< 0.5 % in 30 days", "#3b528b", 4.0),
    RiskBand("p1", 0.005, "0.5–2 %", "#21918c", 6.0),
    RiskBand("p2", 0.02, "2–5 %", "#5ec962", 8.0),
    RiskBand("p3", 0.05, "5–10 %", "#b5de2b", 10.0),
    RiskBand("p4", 0.10, "≥ 10 %", "#fde725", 13.0),
)
BAND_KEYS = tuple(b.key for b in RISK_BANDS)
_LOWS = np.array([b.low for b in RISK_BANDS])


def band_of(p30: float) -> RiskBand:
    """The band a probability falls in."""
    return RISK_BANDS[int(np.searchsorted(_LOWS, max(float(p30), 0.0), side="right") - 1)]


def percent(p30: float) -> str:
    """A probability as a short percentage (``"0.42 %"``, ``"12 %"``)."""
    value = 100.0 * float(p30)
    return f"{value:.2f} %" if value < 1 else f"{value:.1f} %" if value < 10 else f"{value:.0f} %"


class RiskLayerModel(LayerModel):
    """Scored assets as points; filters by probability ``band``."""

    name = "risk"
    title = "Failure risk (30 days)"
    dtype = np.dtype(
        [
            *POINT_FIELDS,
            ("p30", "f4"),
            ("band_code", "i2"),
        ]
    )
    filter_fields = ("band",)

    def __init__(self, projection: LocalProjection, clock: Clock = utc_now) -> None:
        super().__init__(projection, clock)
        for key in BAND_KEYS:  # codes follow band order, so a code ranks its band
            self.vocab["band"].code(key)

    @staticmethod
    def records_from_reply(assets: Sequence[Record]) -> list[Record]:
        """``get_risk`` rows as layer records (``asset_id`` becomes ``id``)."""
        return [{**a, "id": int(a["asset_id"])} for a in assets if a.get("asset_id") is not None]

    def _fill_row(self, row: int, record: Record, new: bool) -> None:
        p30 = float(record["p30"])
        if not 0.0 <= p30 <= 1.0:
            raise ValueError(f"p30 {p30} is not a probability")
        self._set_lon_lat(row, record.get("lon"), record.get("lat"))
        self.table.rows["p30"][row] = p30
        self._set_code(row, "band", band_of(p30).key)

    def _legend_values(self, field_name: str) -> Sequence[str]:
        return BAND_KEYS

    def _order_legend(self, field_name: str, names: set[str]) -> list[str]:
        return list(BAND_KEYS[::-1])  # riskiest first

    def _legend_look(self, field_name: str, value: str) -> tuple[str, str, str, bool]:
        band = RISK_BANDS[BAND_KEYS.index(value)]
        return band.label, band.colour, "o", True

    def riskiest(self, n: int = 10) -> list[int]:
        """Ids of the ``n`` shown features most likely to fail."""
        rows = self.table.rows
        shown = np.flatnonzero(self.shown_mask())
        order = shown[np.argsort(-rows["p30"][shown], kind="stable")]
        return [int(i) for i in rows["id"][order[:n]]]

    def describe(self, fid: int) -> str:
        """``Water main 12 · Elm St · 4.2 % in 30 days · 3 failures since 2012``."""
        rec = self.records[fid]
        kind = str(rec.get("kind") or "asset").replace("_", " ").capitalize()
        reasons = ", ".join(str(r) for r in (rec.get("reasons") or [])[:2])
        parts = (f"{kind} {fid}", rec.get("name"), f"{percent(rec['p30'])} in 30 days", reasons)
        return " · ".join(str(p) for p in parts if p)
