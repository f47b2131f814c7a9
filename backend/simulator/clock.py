"""Simulated time: wall time fast-forwarded by a speed factor."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SimClock:
    """City time that runs ``speed`` times faster than the wall clock.

    ``monotonic`` is injectable so tests can step time by hand.
    """

    def __init__(
        self,
        speed: float = 1.0,
        start: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._monotonic = monotonic
        self._wall0 = monotonic()
        self._sim0 = start or datetime.now(UTC)

    def now(self) -> datetime:
        """The current simulated time (UTC)."""
        elapsed = (self._monotonic() - self._wall0) * self.speed
        return self._sim0 + timedelta(seconds=elapsed)

    def wall_seconds(self, sim_seconds: float) -> float:
        """How long ``sim_seconds`` of city time takes on the wall clock."""
        return sim_seconds / self.speed
