"""What each asset kind measures: metric names, units, normal values and limits.

One table serves the simulator (what to send), the backend (what to accept and
which limits to check) and the console (axis labels and limit lines).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    """One measured quantity of an asset kind."""

    name: str
    unit: str
    normal: float  # typical value in healthy operation
    spread: float  # standard deviation of healthy noise
    low_limit: float | None = None  # below this: alarm
    high_limit: float | None = None  # above this: alarm
    warn_low: float | None = None
    warn_high: float | None = None
    discrete: bool = False  # on/off or codes, not a continuous signal


CATALOG: dict[str, tuple[Metric, ...]] = {
    "pump": (
        Metric("flow", "L/s", 42.0, 1.5, low_limit=15.0, warn_low=25.0),
        Metric("pressure", "bar", 4.2, 0.08, low_limit=2.5, high_limit=6.5, warn_low=3.2),
        Metric("vibration", "mm/s", 2.1, 0.25, high_limit=7.1, warn_high=4.5),
        Metric("temperature", "°C", 48.0, 1.2, high_limit=85.0, warn_high=70.0),
    ),
    "transformer": (
        Metric("load", "%", 55.0, 4.0, high_limit=110.0, warn_high=95.0),
        Metric("oil_temperature", "°C", 62.0, 1.5, high_limit=105.0, warn_high=90.0),
    ),
    "street_light": (
        Metric("on", "", 1.0, 0.0, discrete=True),
        Metric("power", "W", 78.0, 2.0, low_limit=5.0, high_limit=140.0, warn_high=110.0),
    ),
    "traffic_signal": (
        Metric("fault_code", "", 0.0, 0.0, high_limit=0.5, discrete=True),
        Metric("cycle_time", "s", 90.0, 1.0, low_limit=40.0, high_limit=180.0),
    ),
    "hydrant": (Metric("pressure", "bar", 5.0, 0.1, low_limit=2.0, warn_low=3.0),),
    "substation": (
        Metric("load", "%", 60.0, 3.0, high_limit=110.0, warn_high=95.0),
        Metric("temperature", "°C", 35.0, 1.0, high_limit=80.0, warn_high=65.0),
    ),
}


def metrics_for(kind: str) -> tuple[Metric, ...]:
    """The metrics an asset kind reports (empty for kinds without telemetry)."""
    return CATALOG.get(kind, ())


def metric(kind: str, name: str) -> Metric | None:
    """One metric of a kind, or None when the kind does not report it."""
    return next((m for m in metrics_for(kind) if m.name == name), None)
