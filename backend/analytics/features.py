"""Features of every pipe as known at an origin date, and the rows a model trains on.

The rule that keeps an evaluation honest: a feature at origin ``t`` reads only
what happened strictly before ``t`` (breaks with time < t, linings done before
t, pipes laid before t). Outcomes read only what happens from ``t`` on. The
leakage test changes everything after a cutoff and checks that the features
stay the same.

Features a utility engineer would recognise:

* age at the origin, material, diameter, length, pressure zone, lining;
* the pipe's own break history: all breaks, breaks in the last 1 and 3 years,
  years since the last one;
* breaks of the main it replaced (same id, before its install date): the
  ground and the service there;
* neighbourhood: other breaks on the same street segment (``ROADSEGMENTID``,
  which both files carry, so it works for pipes that never broke) in the last
  5 years; other breaks within :data:`NEAR_RADIUS_M` in the last 5 years, and
  within :data:`WIDE_RADIUS_M` over all known history, of where the pipe is
  known to be at the origin (its own earlier breaks, else its street
  segment's). The inventory has no geometry, so a pipe that never broke and
  whose street never had a break has no known place yet.

Every break kind counts for the neighbourhood (a break on a since-removed
main, or on the main a pipe replaced, still tells of the ground and the
pressure there); only the pipe's own ``failure`` events count as its history.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from backend.analytics.history import NetworkHistory

NEAR_RADIUS_M = 150.0
#: Radius of the all-history neighbourhood: a cluster of breaks over decades marks
#: corrosive soil or a weak run of main even where the last 5 years were quiet.
WIDE_RADIUS_M = 200.0
RECENT_YEARS = 5.0
#: Materials with a coefficient of their own; the rest pool as "other".
MATERIAL_GROUPS = {
    "CI": "CI",
    "DI": "DI",
    "PVC": "PVC",
    "PVCO": "PVC",
    "PVCB": "PVC",
    "PVCF": "PVC",
    "HDPE": "PVC",
    "CPP": "CPP",
    "AC": "AC",
}
ZONES = ("KIT 4", "KIT 5", "KIT 2W", "KIT 6")
#: The model's covariates (chosen by validation before 2018; see backend.analytics.model).
MODEL_COLUMNS = (
    "age",
    "log_length",
    "length_over_100m",
    "log_diameter",
    "mat_ci",
    "mat_di",
    "mat_pvc",
    "ci_age",
    "ci_age_over_45",
    "ci_age_over_60",
    "di_age",
    "di_age_over_45",
    "pvc_age",
    "zone_kit_4",
    "log_breaks",
    "recency",
    "log_near_breaks_5y",
    "log_near_breaks_all",
    "log_segment_breaks_5y",
)


def material_group(material: str) -> str:
    """The model's material class for a source material code (CI, DI, PVC, CPP, AC, other)."""
    return MATERIAL_GROUPS.get(material.upper(), "other")


def _local_xy(lon: np.ndarray, lat: np.ndarray, lat0: float) -> np.ndarray:
    """Metres on a local plane (equirectangular: exact enough within a city)."""
    k = math.cos(math.radians(lat0))
    return np.column_stack((lon * 111_320.0 * k, lat * 110_540.0))


def features_at(history: NetworkHistory, origin: float) -> pd.DataFrame:
    """One row per pipe laid before ``origin`` (a fractional year), index asset id.

    Besides :data:`MODEL_COLUMNS` the frame keeps readable columns for reasons
    and reports: material, installed, length_m, breaks, breaks_since, near,
    near_all, segment_breaks_5y.
    """
    pipes = history.pipes[history.pipes["installed"] < origin]
    past = history.breaks[history.breaks["t"] < origin]
    out = pd.DataFrame(index=pipes.index)
    out["installed"] = pipes["installed"]
    out["material"] = pipes["material"].map(material_group)
    out["length_m"] = pipes["length_m"].fillna(pipes["length_m"].median()).clip(lower=0.1)
    diameter = pipes["diameter_mm"].where(pipes["diameter_mm"] > 0)
    out["age"] = origin - pipes["installed"]
    out["log_length"] = np.log(out["length_m"])
    out["log_diameter"] = np.log(diameter.fillna(150.0).clip(lower=25.0))
    # log length bends upward past 100 m: the longest mains break far more often.
    out["length_over_100m"] = np.clip(out["log_length"] - math.log(100.0), 0.0, None)
    for group in ("CI", "DI", "PVC", "CPP", "AC", "other"):
        out[f"mat_{group.lower()}"] = (out["material"] == group).astype(float)
    # Age acts differently by material (old pit-cast iron outlives later cast iron,
    # ductile iron wears with age): piecewise-linear age per material, in 50-year units.
    for group, knots in (("ci", (0, 45, 60)), ("di", (0, 45)), ("pvc", (0,))):
        for knot in knots:
            name = f"{group}_age" if knot == 0 else f"{group}_age_over_{knot}"
            out[name] = np.clip(out["age"] - knot, 0.0, None) * out[f"mat_{group}"] / 50.0
    out["lined"] = (pipes["lined_at"] < origin).astype(float)
    for zone in ZONES:
        out[f"zone_{zone.replace(' ', '_').lower()}"] = (pipes["zone"] == zone).astype(float)

    own = past[(past["kind"] == "failure") & past["asset_id"].isin(out.index)]
    by_pipe = own.groupby("asset_id")["t"]
    count = by_pipe.size().reindex(out.index, fill_value=0)
    last = by_pipe.max().reindex(out.index)
    out["breaks"] = count
    out["log_breaks"] = np.log1p(count)
    for years in (1, 3):
        recent = own[own["t"] >= origin - years].groupby("asset_id").size()
        out[f"breaks_{years}y"] = recent.reindex(out.index, fill_value=0).astype(float)
    # 1/(1 + years since the last break): 0 for a pipe that never broke.
    out["recency"] = (1.0 / (1.0 + (origin - last))).fillna(0.0)
    out["breaks_since"] = own.groupby("asset_id")["t"].min().reindex(out.index)

    pred = past[(past["kind"] == "predecessor_failure") & past["asset_id"].isin(out.index)]
    pred_count = pred.groupby("asset_id").size().reindex(out.index, fill_value=0)
    out["log_predecessor_breaks"] = np.log1p(pred_count)

    recent_all = past[past["t"] >= origin - RECENT_YEARS]
    out["segment_breaks_5y"] = _segment_counts(pipes, recent_all)
    out["log_segment_breaks_5y"] = np.log1p(out["segment_breaks_5y"])
    out["near"] = _near_counts(pipes, past, recent_all, NEAR_RADIUS_M)
    out["log_near_breaks_5y"] = np.log1p(out["near"])
    out["near_all"] = _near_counts(pipes, past, past, WIDE_RADIUS_M)
    out["log_near_breaks_all"] = np.log1p(out["near_all"])
    return out


def _segment_counts(pipes: pd.DataFrame, recent: pd.DataFrame) -> pd.Series:
    """Recent breaks on each pipe's street segment, the pipe's own left out."""
    located = recent[recent["segment"] != ""]
    per_segment = located.groupby("segment").size()
    total = pipes["segment"].map(per_segment).fillna(0.0)
    own = located[located["asset_id"].isin(pipes.index)]
    own_same = own[
        own["segment"].to_numpy() == pipes["segment"].reindex(own["asset_id"]).to_numpy()
    ]
    own_count = own_same.groupby("asset_id").size().reindex(pipes.index, fill_value=0)
    return (total - own_count).clip(lower=0).astype(float)


def _positions(pipes: pd.DataFrame, past: pd.DataFrame) -> pd.DataFrame:
    """Where each pipe is known to be before the origin: own breaks, else its segment's."""
    pts = past.dropna(subset=["lon", "lat"])
    own = pts[pts["asset_id"].isin(pipes.index)].groupby("asset_id")[["lon", "lat"]].mean()
    seg = pts[pts["segment"] != ""].groupby("segment")[["lon", "lat"]].mean()
    by_segment = seg.reindex(pipes["segment"]).set_axis(pipes.index)
    return own.reindex(pipes.index).fillna(by_segment)


def _near_counts(
    pipes: pd.DataFrame, past: pd.DataFrame, recent: pd.DataFrame, radius: float
) -> pd.Series:
    """Breaks of ``recent`` within ``radius`` metres of each placed pipe, its own left out.

    ``past`` (everything before the origin) only places the pipes.
    """
    result = pd.Series(0.0, index=pipes.index)
    pos = _positions(pipes, past).dropna()
    pts = recent.dropna(subset=["lon", "lat"])
    if pos.empty or pts.empty:
        return result
    lat0 = float(pts["lat"].mean())
    tree = cKDTree(_local_xy(pts["lon"].to_numpy(), pts["lat"].to_numpy(), lat0))
    hits = tree.query_ball_point(
        _local_xy(pos["lon"].to_numpy(), pos["lat"].to_numpy(), lat0), r=radius
    )
    owners = pts["asset_id"].to_numpy()
    for asset_id, idx in zip(pos.index, hits, strict=True):
        if idx:
            result[asset_id] = float(np.count_nonzero(owners[idx] != asset_id))
    return result


def outcomes(history: NetworkHistory, index: pd.Index, start: float, end: float) -> pd.DataFrame:
    """Each pipe's time to its first failure in ``[start, end)``, censored at ``end``.

    Columns: duration (years from start), event (1 failed, 0 censored),
    failures (count in the window).
    """
    window = history.breaks[
        (history.breaks["kind"] == "failure")
        & (history.breaks["t"] >= start)
        & (history.breaks["t"] < end)
        & history.breaks["asset_id"].isin(index)
    ]
    first = window.groupby("asset_id")["t"].min().reindex(index)
    count = window.groupby("asset_id").size().reindex(index, fill_value=0)
    duration = (first - start).fillna(end - start).clip(lower=1.0 / 365.25)
    return pd.DataFrame(
        {"duration": duration, "event": first.notna().astype(int), "failures": count},
        index=index,
    )


def origins(train_from: float, cutoff: float) -> list[float]:
    """Yearly origins from ``train_from`` up to (not including) ``cutoff``."""
    points = []
    t = train_from
    while t < cutoff - 1e-9:
        points.append(t)
        t += 1.0
    return points


def training_frame(
    history: NetworkHistory, train_from: float, cutoff: float, horizon: float = 1.0
) -> pd.DataFrame:
    """Stacked yearly origins in ``[train_from, cutoff)``: features and outcomes.

    Each origin's outcome window ends ``horizon`` years later or at the
    cutoff, whichever is first, so no training label reaches past the cutoff.
    """
    frames = []
    for origin in origins(train_from, cutoff):
        feats = features_at(history, origin)
        outcome = outcomes(history, feats.index, origin, min(origin + horizon, cutoff))
        frame = feats.join(outcome)
        frame["origin"] = origin
        frames.append(frame)
    if not frames:
        raise ValueError("the training window holds no origin: --train-from must precede --cutoff")
    return pd.concat(frames)
