"""Emerging problems: places where citizens report one kind of problem far more than usual.

Method: an expectation-based scan (Neill et al. 2005) on H3 cells with each
cell's own history as the baseline, chosen over SaTScan's prospective
space-time permutation scan because:

* the question a control room asks is "more than *this place* usually
  gets", which is exactly a per-cell expectation; the permutation scan
  conditions on each cell's total over the whole study period, so a place
  that is always busy and a place that has just become busy look alike until
  the permutation reshuffles them;
* it needs no Monte Carlo replications (999 scans per service in SaTScan),
  so the p-values are exact tail probabilities and a run over a year of a
  big city's reports takes well under a second;
* its false-alarm control is explicit: a family-wise error rate over every
  zone that could have been flagged.

For each service type (``service_code``, else ``category``):

1. Reports are binned into H3 cells (resolution 9 by default: about 0.1 km²,
   200 m edges). The **window** is the last ``window_days`` before
   ``as_of``; the **baseline** the ``baseline_days`` before it.
2. A cell's report rate is Gamma–Poisson: a Gamma prior centred on the
   city-wide rate per cell for that service (worth ``prior_days`` of
   history) updated with the cell's own baseline count. The count expected in
   the window is then negative binomial, so a cell with little history gets
   a wide expectation rather than a zero one (a zero would make any report
   "infinitely" surprising).
3. When the service's city-wide rate rose in the window (a storm, a season),
   every expectation is scaled up by that rise, so a city-wide surge is not
   reported as hundreds of local clusters; a fall is not scaled (a quiet
   week must not make ordinary cells look busy).
4. **Zones** are each reported-in cell alone and with its ``rings`` of
   neighbours (``grid_disk``): a few street lamps on one block and a
   neighbourhood-wide rise are both found.
5. A zone is tested when its window count reaches ``min_count``; its
   p-value is the negative binomial's upper tail P(X ≥ observed).
6. **False alarms**: Holm's adjustment over *every* zone that could have been
   tested (cells × zone sizes × services), and only adjusted p < ``alpha``
   (0.01) is flagged. Flagged zones that share a cell with a more
   significant one are dropped (SaTScan's "no geographical overlap").

The module is pure (numpy, pandas, scipy, h3); loading reports from the
database is :mod:`backend.analytics.reports`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import h3
import numpy as np
import pandas as pd
from scipy.stats import nbinom

#: The columns :func:`find_emerging` needs.
COLUMNS = ("id", "service", "category", "lon", "lat", "requested_at")


@dataclass(frozen=True, slots=True)
class EmergingConfig:
    """Windows, zone shapes and the false-alarm control of the scan."""

    window_days: float = 7.0
    baseline_days: float = 56.0  # eight weeks: whole weeks, so weekday habits cancel
    resolution: int = 9
    rings: int = 1
    alpha: float = 0.01
    min_count: int = 4
    prior_days: float = 14.0
    max_samples: int = 10
    #: A service needs at least this much baseline (its first report may be recent).
    min_baseline_days: float = 14.0

    def __post_init__(self) -> None:
        if not 0 < self.window_days <= 90:
            raise ValueError("window_days must be in (0, 90]")
        if self.baseline_days < self.min_baseline_days or self.min_baseline_days <= 0:
            raise ValueError("baseline_days must be at least min_baseline_days (> 0)")
        if not 0 <= self.resolution <= 15 or not 0 <= self.rings <= 3:
            raise ValueError("resolution must be 0..15 and rings 0..3")
        if not 0 < self.alpha < 1 or self.min_count < 1 or self.prior_days <= 0:
            raise ValueError("alpha in (0, 1), min_count >= 1 and prior_days > 0 are needed")


@dataclass(slots=True)
class Cluster:
    """One emerging problem: a zone whose window count is far above its expectation."""

    service: str
    category: str
    center: tuple[float, float]  # lon, lat of the zone's central cell
    cells: list[str]
    observed: int
    expected: float
    p_value: float  # Holm-adjusted
    p_raw: float
    first_report: datetime
    last_report: datetime
    issue_ids: list[int]  # a sample, newest first

    def to_json(self) -> dict[str, Any]:
        """A plain map for replies and the CLI."""
        return {
            "service": self.service,
            "category": self.category,
            "center": [round(self.center[0], 6), round(self.center[1], 6)],
            "cells": self.cells,
            "observed": self.observed,
            "expected": round(self.expected, 3),
            "ratio": round(self.observed / self.expected, 2) if self.expected > 0 else None,
            "p_value": float(f"{self.p_value:.3g}"),
            "p_raw": float(f"{self.p_raw:.3g}"),
            "first_report": self.first_report.isoformat(),
            "last_report": self.last_report.isoformat(),
            "issue_ids": self.issue_ids,
        }


@dataclass(slots=True)
class EmergingResult:
    """The clusters, most significant first, and what the scan looked at."""

    as_of: datetime
    window_start: datetime
    baseline_start: datetime
    clusters: list[Cluster]
    reports_in_window: int = 0
    reports_in_baseline: int = 0
    zones_tested: int = 0
    hypotheses: int = 0
    services: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A plain map for replies and the CLI."""
        return {
            "as_of": self.as_of.isoformat(),
            "window_start": self.window_start.isoformat(),
            "baseline_start": self.baseline_start.isoformat(),
            "reports_in_window": self.reports_in_window,
            "reports_in_baseline": self.reports_in_baseline,
            "zones_tested": self.zones_tested,
            "hypotheses": self.hypotheses,
            "services": self.services,
            "clusters": [c.to_json() for c in self.clusters],
        }


@dataclass(slots=True)
class _Zone:
    service: str
    center: str
    cells: list[str]
    observed: int
    expected: float
    p_raw: float
    p_value: float = 1.0


def find_emerging(
    reports: pd.DataFrame,
    as_of: datetime,
    config: EmergingConfig | None = None,
    history_start: datetime | None = None,
) -> EmergingResult:
    """Scan ``reports`` (columns :data:`COLUMNS`, ``requested_at`` tz-aware) at ``as_of``.

    ``history_start`` is when the records begin (the oldest report in the
    database): a baseline reaching before it is shortened to what was recorded.
    By default, the oldest report given. Rows outside the baseline and window,
    and rows without a valid position, are ignored. Raises ``ValueError`` for a
    naive ``as_of`` or missing columns.
    """
    config = config or EmergingConfig()
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    missing = [c for c in COLUMNS if c not in reports.columns]
    if missing:
        raise ValueError(f"reports lack columns {missing}")
    window_start = as_of - timedelta(days=config.window_days)
    baseline_start = window_start - timedelta(days=config.baseline_days)
    df = _usable(reports, baseline_start, as_of)
    result = EmergingResult(as_of, window_start, baseline_start, [])
    if df.empty:
        return result
    recorded_from = max(
        baseline_start,
        history_start or df["requested_at"].min().to_pydatetime(),
    )
    df["cell"] = [
        h3.latlng_to_cell(lat, lon, config.resolution)
        for lon, lat in zip(df["lon"].to_numpy(), df["lat"].to_numpy(), strict=True)
    ]
    df["in_window"] = df["requested_at"] >= pd.Timestamp(window_start)
    result.reports_in_window = int(df["in_window"].sum())
    result.reports_in_baseline = int((~df["in_window"]).sum())
    # Where citizens report anything at all: the cells a service's rate is spread over.
    universe = set(df["cell"].unique())
    zones: list[_Zone] = []
    for service, group in df.groupby("service", sort=True):
        tested, summary = _scan_service(
            str(service), group, universe, window_start, recorded_from, config
        )
        zones.extend(tested)
        result.services[str(service)] = summary
        result.hypotheses += summary.get("hypotheses", 0)
    result.zones_tested = len(zones)
    _holm(zones, result.hypotheses)
    categories = df.groupby("service")["category"].agg(lambda s: s.mode().iat[0])
    flagged = [z for z in zones if z.p_value < config.alpha]
    result.clusters = [
        _cluster(z, str(categories[z.service]), df, config) for z in _without_overlap(flagged)
    ]
    for c in result.clusters:
        result.services[c.service]["clusters"] = result.services[c.service].get("clusters", 0) + 1
    return result


def _usable(reports: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    df = reports.loc[:, list(COLUMNS)].copy()
    df["requested_at"] = pd.to_datetime(df["requested_at"], utc=True)
    df["lon"] = pd.to_numeric(df["lon"], errors="coerce")
    df["lat"] = pd.to_numeric(df["lat"], errors="coerce")
    ok = (
        df["lon"].between(-180, 180)
        & df["lat"].between(-90, 90)
        & (df["requested_at"] >= pd.Timestamp(start))
        & (df["requested_at"] < pd.Timestamp(end))
        & df["service"].notna()
    )
    return df.loc[ok].reset_index(drop=True)


def _scan_service(
    service: str,
    group: pd.DataFrame,
    universe: set[str],
    window_start: datetime,
    recorded_from: datetime,
    config: EmergingConfig,
) -> tuple[list[_Zone], dict[str, Any]]:
    """Test every zone of one service; the zones reaching ``min_count`` with their p-values."""
    window = group[group["in_window"]]
    base = group[~group["in_window"]]
    baseline_days = (window_start - recorded_from).total_seconds() / 86400.0
    summary: dict[str, Any] = {
        "window": len(window),
        "baseline": len(base),
        "baseline_days": round(baseline_days, 2),
    }
    if baseline_days < config.min_baseline_days or base.empty:
        summary["skipped"] = (
            f"only {baseline_days:.1f} days of history before the window "
            f"(needs {config.min_baseline_days:g})"
            if baseline_days < config.min_baseline_days
            else "no reports before the window"
        )
        return [], summary
    w = config.window_days
    baseline_rate = len(base) / baseline_days  # city-wide reports per day
    trend = max(1.0, (len(window) / w) / baseline_rate)
    summary["trend"] = round(trend, 3)
    summary["hypotheses"] = len(universe) * (config.rings + 1)
    # Gamma prior per cell: mean = city-wide daily rate per cell, weight = prior_days.
    alpha0 = baseline_rate / len(universe) * config.prior_days
    beta = config.prior_days + baseline_days
    p = beta / (beta + w * trend)  # negative binomial "success" probability for every zone
    b_counts = base["cell"].value_counts().to_dict()
    x_counts = window["cell"].value_counts().to_dict()
    zones: list[_Zone] = []
    seen: set[tuple[str, ...]] = set()
    for center in sorted(x_counts):
        for k in range(config.rings + 1):
            cells = sorted(h3.grid_disk(center, k))
            key = tuple(cells)
            if key in seen:
                continue
            seen.add(key)
            x = sum(x_counts.get(c, 0) for c in cells)
            if x < config.min_count:
                continue
            n = alpha0 * sum(1 for c in cells if c in universe) + sum(
                b_counts.get(c, 0) for c in cells
            )
            p_raw = float(nbinom.sf(x - 1, n, p))
            expected = n * (1 - p) / p
            zones.append(_Zone(service, center, cells, x, expected, p_raw))
    summary["zones_tested"] = len(zones)
    return zones, summary


def _holm(zones: list[_Zone], hypotheses: int) -> None:
    """Holm's step-down adjustment over ``hypotheses`` tests (untested ones count, at p = 1)."""
    if not zones:
        return
    m = max(hypotheses, len(zones))
    order = np.argsort([z.p_raw for z in zones], kind="stable")
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * zones[i].p_raw))
        zones[i].p_value = running


def _without_overlap(flagged: list[_Zone]) -> list[_Zone]:
    """The most significant zones first, each dropping later ones of its service it overlaps."""
    kept: list[_Zone] = []
    taken: dict[str, set[str]] = {}
    for z in sorted(flagged, key=lambda z: (z.p_raw, -z.observed, z.service, z.center)):
        used = taken.setdefault(z.service, set())
        if used.isdisjoint(z.cells):
            kept.append(z)
            used.update(z.cells)
    return sorted(kept, key=lambda z: (z.p_value, z.p_raw, -z.observed))


def _cluster(z: _Zone, category: str, df: pd.DataFrame, config: EmergingConfig) -> Cluster:
    rows = df[(df["service"] == z.service) & df["in_window"] & df["cell"].isin(z.cells)]
    rows = rows.sort_values(["requested_at", "id"], ascending=False)
    lat, lon = h3.cell_to_latlng(z.center)
    return Cluster(
        service=z.service,
        category=category,
        center=(float(lon), float(lat)),
        cells=z.cells,
        observed=z.observed,
        expected=z.expected,
        p_value=z.p_value,
        p_raw=z.p_raw,
        first_report=rows["requested_at"].min().to_pydatetime(),
        last_report=rows["requested_at"].max().to_pydatetime(),
        issue_ids=[int(i) for i in rows["id"].head(config.max_samples)],
    )
