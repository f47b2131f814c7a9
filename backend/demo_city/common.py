"""What every part of the demo city shares: where it is, its clock and its random streams.

The city is laid out in local metres (x east, y north) around :data:`CENTER_LON`,
:data:`CENTER_LAT` and converted to WGS84 once, with pyproj. Each part draws
from its own named random stream, so changing how many lamps one street gets
does not reshuffle every crew and issue after it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from pyproj import Transformer

#: The fictional city and where it sits: open heathland in Lower Saxony,
#: away from every real data set in ../shared/data.
CITY_NAME = "Larkhaven"
CENTER_LON = 10.45
CENTER_LAT = 53.05
#: Local time zone of the city (crew shifts are local HH:MM).
TIMEZONE = "Europe/Berlin"
#: ``source`` of every demo row; source ids are stable for a given seed.
SOURCE = "demo"


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible random stream for one part of the city."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode("utf-8"))])


def default_as_of() -> datetime:
    """The city's "now": the current UTC hour, so open jobs have live due times.

    Every generated time is an offset from this anchor; a build is a pure
    function of ``(seed, as_of)``.
    """
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class LocalFrame:
    """Local metres around the city centre ⇄ WGS84 lon/lat (azimuthal equidistant)."""

    def __init__(self, lon: float = CENTER_LON, lat: float = CENTER_LAT) -> None:
        proj = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs"
        self._forward = Transformer.from_crs(proj, "EPSG:4326", always_xy=True)

    def to_lon_lat(self, xy: np.ndarray) -> np.ndarray:
        """Convert an (n, 2) array of metres to an (n, 2) array of lon/lat (1 cm precision)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        lon, lat = self._forward.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 7)


@dataclass(frozen=True, slots=True)
class Clock:
    """Converts the generator's float years/days before ``as_of`` into dates and times."""

    as_of: datetime

    def at_years(self, years_before: float) -> datetime:
        """The instant ``years_before`` years before ``as_of`` (whole minutes)."""
        minutes = round(float(years_before) * 365.25 * 24 * 60)
        return self.as_of - timedelta(minutes=minutes)

    def at_hours(self, hours_before: float) -> datetime:
        """The instant ``hours_before`` hours before ``as_of`` (whole minutes)."""
        return self.as_of - timedelta(minutes=round(float(hours_before) * 60))

    def date_years(self, years_before: float) -> date:
        """The calendar date ``years_before`` years before ``as_of``."""
        return self.at_years(years_before).date()
