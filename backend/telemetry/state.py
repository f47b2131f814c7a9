"""The detector's per-(asset, metric) state: one numpy column per quantity.

Columns grow by doubling as assets register, so 10,000 assets of a few
metrics each hold a few hundred bytes per metric, most of it the warm-up
window the robust baseline is learned from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Per-slot columns: name, dtype, initial value.
COLUMNS: tuple[tuple[str, Any, float | int | bool], ...] = (
    ("prof", np.int32, -1),
    ("asset", np.int64, -1),
    ("gate_slot", np.int64, -1),
    ("is_gate", np.bool_, False),
    ("last_ts", np.float64, math.nan),  # newest reading's time (orders readings)
    ("heard_ts", np.float64, math.nan),  # newest reading, or registration time (missing data)
    ("last_v", np.float64, math.nan),
    ("missing", np.bool_, False),
    ("level", np.int8, 0),  # limit level: +1..+3 high side, -1..-3 low side
    ("level_calm", np.int32, 0),  # readings in a row that would lower the level
    ("code", np.float64, 0.0),  # current fault code
    ("rate_on", np.bool_, False),
    ("rate_ref", np.float64, math.nan),  # the value before the jump
    ("rate_calm", np.int32, 0),
    ("stuck_run", np.int32, 0),
    ("stuck_on", np.bool_, False),
    ("warm_n", np.int32, 0),
    ("base", np.float64, math.nan),
    ("scale", np.float64, math.nan),
    ("z", np.float64, 0.0),
    ("drift_on", np.int8, 0),  # +1 drifting up, -1 down
)


class SlotColumns:
    """Per-slot state columns with amortised growth; the detector subclasses it."""

    # Per-slot columns (see COLUMNS), set by _grow; declared here for type checkers.
    prof: npt.NDArray[np.int32]
    asset: IntArray
    gate_slot: IntArray
    is_gate: BoolArray
    last_ts: FloatArray
    heard_ts: FloatArray
    last_v: FloatArray
    missing: BoolArray
    level: npt.NDArray[np.int8]
    level_calm: npt.NDArray[np.int32]
    code: FloatArray
    rate_on: BoolArray
    rate_ref: FloatArray
    rate_calm: npt.NDArray[np.int32]
    stuck_run: npt.NDArray[np.int32]
    stuck_on: BoolArray
    warm_n: npt.NDArray[np.int32]
    base: FloatArray
    scale: FloatArray
    z: FloatArray
    drift_on: npt.NDArray[np.int8]
    warm_buf: npt.NDArray[np.float64]  # (slot, warm-up index)

    def __init__(self, warmup: int, capacity: int = 1024) -> None:
        self._warmup = warmup
        self._cap = 0
        self._grow(capacity)

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap)
        for name, dtype, fill in COLUMNS:
            new = np.full(cap, fill, dtype=dtype)
            if self._cap:
                new[: self._cap] = getattr(self, name)
            setattr(self, name, new)
        buf = np.full((cap, self._warmup), math.nan)
        if self._cap:
            buf[: self._cap] = self.warm_buf
        self.warm_buf = buf
        self._cap = cap

    @property
    def state_bytes(self) -> int:
        """Memory held by the per-slot state arrays."""
        return sum(getattr(self, n).nbytes for n, _, _ in COLUMNS) + self.warm_buf.nbytes
