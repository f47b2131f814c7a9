"""A vehicle following a route polyline at street speeds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pyproj import Geod

_GEOD = Geod(ellps="WGS84")


@dataclass(slots=True)
class RouteFollower:
    """Moves along ``coords`` (lon/lat) with a speed per leg in metres per second.

    ``speeds`` has one value per leg (``len(coords) - 1``); a single value is
    used for every leg. ``advance`` returns the position after ``seconds``.
    """

    coords: list[tuple[float, float]]
    speeds: list[float]
    _leg: int = 0
    _along: float = 0.0  # metres into the current leg
    _lengths: list[float] = field(default_factory=list)
    _azimuths: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.coords) < 1:
            raise ValueError("a route needs at least one point")
        legs = max(len(self.coords) - 1, 0)
        if len(self.speeds) == 1 and legs > 1:
            self.speeds = self.speeds * legs
        if legs and len(self.speeds) != legs:
            raise ValueError(f"{legs} legs but {len(self.speeds)} speeds")
        for (x0, y0), (x1, y1) in zip(self.coords, self.coords[1:], strict=False):
            az, _, dist = _GEOD.inv(x0, y0, x1, y1)
            self._azimuths.append(az % 360.0)
            self._lengths.append(dist)

    @property
    def done(self) -> bool:
        """True once the vehicle has reached the last point."""
        return self._leg >= len(self._lengths)

    @property
    def remaining_m(self) -> float:
        """Metres left to drive."""
        if self.done:
            return 0.0
        return self._lengths[self._leg] - self._along + sum(self._lengths[self._leg + 1 :])

    def remaining_s(self) -> float:
        """Seconds left at the legs' speeds."""
        if self.done:
            return 0.0
        first = (self._lengths[self._leg] - self._along) / max(self.speeds[self._leg], 0.1)
        rest = sum(
            length / max(speed, 0.1)
            for length, speed in zip(
                self._lengths[self._leg + 1 :], self.speeds[self._leg + 1 :], strict=True
            )
        )
        return first + rest

    def position(self) -> tuple[float, float, float]:
        """Current (lon, lat, heading in degrees clockwise from north)."""
        if self.done:
            heading = self._azimuths[-1] if self._azimuths else 0.0
            lon, lat = self.coords[-1]
            return lon, lat, heading
        x0, y0 = self.coords[self._leg]
        length = self._lengths[self._leg]
        az = self._azimuths[self._leg]
        if length <= 0:
            return x0, y0, az
        lon, lat, _ = _GEOD.fwd(x0, y0, az, self._along)
        return float(lon), float(lat), az

    def advance(self, seconds: float) -> tuple[float, float, float]:
        """Drive for ``seconds``; returns the new position and heading."""
        budget = max(seconds, 0.0)
        while budget > 0 and not self.done:
            speed = max(self.speeds[self._leg], 0.1)
            left = self._lengths[self._leg] - self._along
            need = left / speed
            if need <= budget:
                budget -= need
                self._leg += 1
                self._along = 0.0
            else:
                self._along += budget * speed
                budget = 0.0
        return self.position()


def heading_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Compass heading from a to b in degrees (0 north, 90 east)."""
    az, _, _ = _GEOD.inv(a[0], a[1], b[0], b[1])
    return az % 360.0 if math.isfinite(az) else 0.0
