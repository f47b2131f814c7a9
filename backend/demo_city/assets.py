"""Placing the demo city's assets along its streets, with ages and visible attributes.

Street lights stand every 32–40 m beside lit streets; traffic signals at
junctions of two arterials; hydrants and water mains along the streets;
transformers in block corners; pumping stations on the river banks and at
booster sites; municipal buildings (polygons) inside blocks; three depots at
the end of service roads. Attributes follow the installation era (LED lamps
are recent, cast-iron mains old), which is what ties the hidden frailty in
:mod:`backend.demo_city.hazard` to what an analyst can see.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.demo_city.streets import StreetNetwork

LIT_CLASSES = frozenset({"primary", "secondary", "tertiary", "residential"})
ARTERIAL_CLASSES = frozenset({"primary", "secondary", "tertiary"})


@dataclass(slots=True)
class PlannedAsset:
    """An asset before it has a database id; positions in local metres."""

    kind: str
    source_id: str
    name: str
    xy: np.ndarray  # point, or centroid of a line or area
    age_years: float
    attributes: dict[str, Any]
    street: str | None = None
    line: np.ndarray | None = None  # (k, 2) metres for water mains
    ring: np.ndarray | None = None  # (k, 2) metres, closed, for buildings


@dataclass(slots=True)
class Depot:
    """A crew depot: its name and the yard position at the end of its service road."""

    name: str
    xy: np.ndarray


@dataclass(slots=True)
class AssetPlan:
    """Every planned asset plus the depots crews start from."""

    assets: list[PlannedAsset] = field(default_factory=list)
    depots: list[Depot] = field(default_factory=list)


def _along(coords: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points at distances ``dist`` along a polyline and the unit tangent there."""
    seg = np.diff(coords, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    k = np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, len(seg) - 1)
    t = (dist - cum[k]) / np.where(seg_len[k] > 0, seg_len[k], 1.0)
    points = coords[k] + seg[k] * t[:, None]
    tangent = seg[k] / np.where(seg_len[k] > 0, seg_len[k], 1.0)[:, None]
    return points, tangent


def _length(coords: np.ndarray) -> float:
    seg = np.diff(coords, axis=0)
    return float(np.hypot(seg[:, 0], seg[:, 1]).sum())


def _left(tangent: np.ndarray) -> np.ndarray:
    return np.column_stack([-tangent[:, 1], tangent[:, 0]])


def _choice(rng: np.random.Generator, options: dict[str, float]) -> str:
    """One key of ``options`` drawn with the given relative weights."""
    total = sum(options.values())
    u = float(rng.random()) * total
    for key, weight in options.items():
        u -= weight
        if u < 0:
            return key
    return next(reversed(options))


def plan_assets(net: StreetNetwork, rng: np.random.Generator) -> AssetPlan:
    """Place every asset of the city (deterministic for a given ``rng`` state)."""
    plan = AssetPlan()
    centre = net.nodes[net.centre_node]
    extent = float(np.nanmax(np.hypot(*(net.nodes - centre).T)))
    # Streets near the old centre are older: a street's build age by distance.
    street_age: dict[str | None, float] = {}
    for s in net.segments:
        if s.name not in street_age:
            r = float(np.hypot(*(s.coords.mean(axis=0) - centre))) / extent
            street_age[s.name] = float(np.clip(95 * (1 - r) + rng.normal(0, 12), 8, 110))

    _street_lights(net, rng, plan, street_age)
    _hydrants_and_mains(net, rng, plan, street_age)
    _signals(net, rng, plan)
    _pumps(net, rng, plan)
    _blocks(net, rng, plan, street_age)
    _depots(net, plan, centre)
    return plan


def _street_lights(
    net: StreetNetwork,
    rng: np.random.Generator,
    plan: AssetPlan,
    street_age: dict[str | None, float],
) -> None:
    counter: dict[str | None, int] = defaultdict(int)
    n = 0
    for s in net.segments:
        if s.road_class not in LIT_CLASSES:
            continue
        length = _length(s.coords)
        spacing = float(rng.uniform(32, 40))
        dist = np.arange(spacing / 2, max(length - spacing / 4, spacing / 2 + 1e-6), spacing)
        points, tangent = _along(s.coords, dist)
        arterial = s.road_class in ARTERIAL_CLASSES
        sides = (
            np.where(np.arange(len(dist)) % 2 == 0, 1.0, -1.0) if arterial else np.ones(len(dist))
        )
        offset = (9.0 if s.road_class == "primary" else 6.0) * sides
        points = points + _left(tangent) * offset[:, None]
        # One draw per attribute per street segment (not per lamp): fast and still seeded.
        ages = rng.uniform(0, min(street_age[s.name], 45), len(points))
        lamp_u, watt_u, pole_u = rng.random((3, len(points)))
        heights = rng.choice([5, 6, 8], len(points))
        for k, pt in enumerate(points):
            n += 1
            counter[s.name] += 1
            age = float(ages[k])
            lamp = _pick(_LAMP_MIX[0 if age < 9 else 1 if age < 20 else 2], float(lamp_u[k]))
            low, high = _WATTS[lamp]
            attributes = {
                "lamp_type": lamp,
                "wattage_w": int(low + (high - low) * float(watt_u[k])) // 10 * 10,
                "pole_material": _pick(_POLE_MIX, float(pole_u[k])),
                "pole_height_m": 10 if arterial else int(heights[k]),
                "street": s.name,
            }
            plan.assets.append(
                PlannedAsset(
                    "street_light",
                    f"light-{n:05d}",
                    f"{s.name or 'Street'} lamp {counter[s.name]}",
                    pt,
                    age,
                    attributes,
                    s.name,
                )
            )


#: Lamp types by lamp age (< 9 years, 9–20, older): LED retrofits are recent.
_LAMP_MIX = (
    {"LED": 0.92, "HPS": 0.08},
    {"LED": 0.25, "HPS": 0.55, "metal_halide": 0.2},
    {"HPS": 0.5, "mercury": 0.3, "metal_halide": 0.2},
)
_WATTS = {"LED": (30, 90), "HPS": (70, 150), "metal_halide": (70, 150), "mercury": (80, 125)}
_POLE_MIX = {"steel": 0.6, "aluminium": 0.25, "concrete": 0.15}


def _pick(options: dict[str, float], u: float) -> str:
    """The key of ``options`` (weights summing to 1) that ``u`` in [0, 1) falls on."""
    for key, weight in options.items():
        u -= weight
        if u < 0:
            return key
    return next(reversed(options))


def _hydrants_and_mains(
    net: StreetNetwork,
    rng: np.random.Generator,
    plan: AssetPlan,
    street_age: dict[str | None, float],
) -> None:
    n_hydrant = n_main = 0
    hydrants: list[PlannedAsset] = []
    for s in net.segments:
        if s.road_class not in LIT_CLASSES:
            continue
        length = _length(s.coords)
        if rng.random() < 0.88:
            n_main += 1
            age = float(rng.uniform(0, min(street_age[s.name], 100)))
            if age > 60:
                material = _choice(
                    rng, {"cast_iron": 0.8, "asbestos_cement": 0.1, "ductile_iron": 0.1}
                )
            elif age > 35:
                material = _choice(
                    rng, {"cast_iron": 0.3, "asbestos_cement": 0.4, "ductile_iron": 0.3}
                )
            else:
                material = _choice(rng, {"PVC": 0.55, "ductile_iron": 0.45})
            diameter = (
                int(rng.choice([250, 300, 400]))
                if s.road_class in ("primary", "secondary")
                else int(rng.choice([100, 150, 150, 200]))
            )
            coords = s.coords.copy()
            seg = np.diff(coords, axis=0)
            normal = _left(seg / np.hypot(seg[:, 0], seg[:, 1])[:, None])
            vertex_normal = np.vstack([normal[:1], (normal[:-1] + normal[1:]) / 2, normal[-1:]])
            line = coords + 2.5 * vertex_normal
            mid, _ = _along(line, np.array([_length(line) / 2]))
            plan.assets.append(
                PlannedAsset(
                    "water_main",
                    f"main-{n_main:05d}",
                    f"{s.name or 'Main'} main {n_main}",
                    mid[0],
                    age,
                    {
                        "material": material,
                        "diameter_mm": diameter,
                        "length_m": round(length, 1),
                        "pressure_zone": "Zone A"
                        if mid[0][1] > net.river[:, 1].mean()
                        else "Zone B",
                        "street": s.name,
                    },
                    s.name,
                    line=line,
                )
            )
        if rng.random() < min(1.0, length / 150):
            n_hydrant += 1
            pt, tangent = _along(s.coords, np.array([length * rng.uniform(0.2, 0.8)]))
            pt = pt - _left(tangent) * 4.0
            age = float(rng.uniform(0, min(street_age[s.name], 75)))
            material = "cast_iron" if age > 35 and rng.random() < 0.8 else "ductile_iron"
            hydrants.append(
                PlannedAsset(
                    "hydrant",
                    f"hydrant-{n_hydrant:05d}",
                    f"Hydrant {n_hydrant}, {s.name or 'street'}",
                    pt[0],
                    age,
                    {
                        "material": material,
                        "type": _choice(rng, {"pillar": 0.7, "underground": 0.3}),
                        "outlets": int(rng.choice([2, 3])),
                        "flow_class": _choice(rng, {"AA": 0.3, "A": 0.5, "B": 0.2}),
                        "street": s.name,
                    },
                    s.name,
                )
            )
    plan.assets.extend(hydrants)


def _signals(net: StreetNetwork, rng: np.random.Generator, plan: AssetPlan) -> None:
    incident: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for s in net.segments:
        if s.road_class in ARTERIAL_CLASSES:
            incident[s.a].append((s.road_class, s.name))
            incident[s.b].append((s.road_class, s.name))
    n = 0
    for node_id in sorted(incident):
        roads = incident[node_id]
        names = sorted({name for _cls, name in roads if name})
        major = any(cls in ("primary", "secondary") for cls, _name in roads)
        if len(roads) < 3 or len(names) < 2 or not major:
            continue
        n += 1
        age = float(rng.uniform(0.5, 30))
        controller = _choice(
            rng,
            {"Siemens C800": 0.35, "Swarco ITC-3": 0.3, "Peek PTC-1": 0.2, "legacy relay": 0.15}
            if age > 15
            else {"Siemens C800": 0.5, "Swarco ITC-3": 0.45, "Peek PTC-1": 0.05},
        )
        plan.assets.append(
            PlannedAsset(
                "traffic_signal",
                f"signal-{n:04d}",
                f"{names[0]} / {names[1]}",
                net.nodes[node_id].copy(),
                age,
                {
                    "controller": controller,
                    "phases": int(rng.choice([2, 3, 4])),
                    "detection": _choice(rng, {"loop": 0.5, "radar": 0.3, "camera": 0.2}),
                    "pedestrian_buttons": bool(rng.random() < 0.8),
                    "junction_node": int(node_id),
                },
                names[0],
            )
        )


def _pumps(net: StreetNetwork, rng: np.random.Generator, plan: AssetPlan) -> None:
    river = net.river
    n = 0
    # Lift stations on the banks, boosters at the edge of town.
    lo, hi = np.nanmin(net.nodes, axis=0), np.nanmax(net.nodes, axis=0)
    inside = (river[:, 0] > lo[0] + 300) & (river[:, 0] < hi[0] - 300)
    bank = river[inside]
    for k in np.sort(rng.choice(len(bank) - 2, size=8, replace=False)) + 1:
        tangent = bank[k + 1] - bank[k - 1]
        tangent = tangent / np.hypot(*tangent)
        side = 1.0 if rng.random() < 0.5 else -1.0
        plan.assets.append(
            _pump(
                rng, n := n + 1, bank[k] + np.array([-tangent[1], tangent[0]]) * 45 * side, "lift"
            )
        )
    drivable = [s for s in net.segments if s.road_class == "residential"]
    for k in rng.choice(len(drivable), size=7, replace=False):
        s = drivable[int(k)]
        pt, tangent = _along(s.coords, np.array([_length(s.coords) / 2]))
        plan.assets.append(
            _pump(rng, n := n + 1, pt[0] + _left(tangent)[0] * 18, "booster", s.name)
        )


def _pump(
    rng: np.random.Generator, n: int, xy: np.ndarray, station: str, street: str | None = None
) -> PlannedAsset:
    flow = float(rng.choice([15, 25, 40, 60, 90, 140]))
    name = f"{'Lift' if station == 'lift' else 'Booster'} station P{n:02d}"
    return PlannedAsset(
        "pump",
        f"pump-{n:03d}",
        name,
        xy,
        float(rng.uniform(2, 42)),
        {
            "station_type": station,
            "rated_flow_lps": flow,
            "power_kw": round(flow * float(rng.uniform(0.35, 0.6)), 1),
            "pump_count": int(rng.choice([2, 2, 3, 4])),
            "model": _choice(
                rng,
                {"Grundfos NK": 0.35, "KSB Etanorm": 0.25, "Flygt NP": 0.25, "Wilo Atmos": 0.15},
            ),
            "street": street,
        },
        street,
    )


_BUILDING_USES = {
    "school": ("Primary School", 0.18),
    "library": ("Library", 0.06),
    "community_centre": ("Community Centre", 0.12),
    "office": ("Civic Offices", 0.08),
    "fire_station": ("Fire Station", 0.04),
    "sports_hall": ("Sports Hall", 0.08),
    "housing": ("Housing", 0.34),
    "clinic": ("Health Centre", 0.1),
}


def _bilinear(corners: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    sw, se, ne, nw = corners
    return (
        np.outer((1 - u) * (1 - v), sw)
        + np.outer(u * (1 - v), se)
        + np.outer(u * v, ne)
        + np.outer((1 - u) * v, nw)
    )


def _blocks(
    net: StreetNetwork,
    rng: np.random.Generator,
    plan: AssetPlan,
    street_age: dict[str | None, float],
) -> None:
    n_building = n_transformer = 0
    uses = list(_BUILDING_USES)
    weights = np.array([w for _label, w in _BUILDING_USES.values()])
    for block in net.blocks:
        if block.use in ("buildings", "plain") and rng.random() < 0.16:
            n_transformer += 1
            xy = _bilinear(block.corners, np.array([0.1]), np.array([0.12]))[0]
            age = float(rng.uniform(1, 55))
            kva = int(rng.choice([250, 400, 630, 1000]))
            plan.assets.append(
                PlannedAsset(
                    "transformer",
                    f"xfmr-{n_transformer:04d}",
                    f"Substation T{n_transformer:03d}",
                    xy,
                    age,
                    {
                        "kva": kva,
                        "insulation": _choice(
                            rng,
                            {"mineral_oil": 0.7, "dry": 0.15, "ester": 0.15}
                            if age < 15
                            else {"mineral_oil": 0.9, "dry": 0.1},
                        ),
                        "load_factor": round(float(rng.uniform(0.3, 1.05)), 2),
                        "voltage": "10/0.4 kV",
                        "street": block.street,
                    },
                    block.street,
                )
            )
        if block.use != "buildings" or rng.random() > 0.5:
            continue
        n_building += 1
        u0, v0 = rng.uniform(0.18, 0.45, 2)
        du, dv = rng.uniform(0.25, 0.42), rng.uniform(0.22, 0.4)
        u = np.array([u0, u0 + du, u0 + du, u0, u0])
        v = np.array([v0, v0, v0 + dv, v0 + dv, v0])
        ring = _bilinear(block.corners, u, v)
        use = uses[int(rng.choice(len(uses), p=weights / weights.sum()))]
        age = float(rng.uniform(3, min(street_age[block.street] + 10, 110)))
        area = 0.5 * abs(
            float(np.dot(ring[:-1, 0], ring[1:, 1]) - np.dot(ring[1:, 0], ring[:-1, 1]))
        )
        floors = int(rng.integers(1, 4 if use != "housing" else 7))
        plan.assets.append(
            PlannedAsset(
                "building",
                f"bldg-{n_building:04d}",
                f"{(block.street or 'Town').split()[0]} {_BUILDING_USES[use][0]}",
                ring[:-1].mean(axis=0),
                age,
                {
                    "use": use,
                    "floors": floors,
                    "floor_area_m2": round(area * floors),
                    "construction": _choice(
                        rng,
                        {"masonry": 0.5, "concrete": 0.35, "timber": 0.15}
                        if age < 60
                        else {"masonry": 0.8, "timber": 0.2},
                    ),
                    "street": block.street,
                },
                block.street,
                ring=ring,
            )
        )


def _depots(net: StreetNetwork, plan: AssetPlan, centre: np.ndarray) -> None:
    ends = [s for s in net.segments if s.road_class == "service"]
    lo, hi = np.nanmin(net.nodes, axis=0), np.nanmax(net.nodes, axis=0)
    targets = {
        "West Depot": np.array([lo[0] * 0.55, centre[1]]),
        "North-East Depot": np.array([hi[0] * 0.45, hi[1] * 0.45]),
        "South-East Depot": np.array([hi[0] * 0.35, lo[1] * 0.5]),
    }
    used: set[int] = set()
    for name, target in targets.items():
        dist = [
            float(np.hypot(*(s.coords[-1] - target))) if k not in used else np.inf
            for k, s in enumerate(ends)
        ]
        k = int(np.argmin(dist))
        used.add(k)
        plan.depots.append(Depot(name, ends[k].coords[-1].copy()))
