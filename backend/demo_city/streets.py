"""The demo city's street network: a perturbed grid with a river, diagonals and arterials.

Layout happens in a flat "design" plane first (a jittered grid of intersections
inside a wobbly city boundary, cut by a meandering river), then a smooth warp
and a rotation bend it into local metres, so streets are neither straight nor
north-up. Every segment runs from one node to another: streets are split at
every junction (and at the mouth of every service road), so the roads share
end points and form a graph.

Road classes use the OSM ``highway`` vocabulary: ``primary`` and ``secondary``
arterials every few blocks, ``tertiary`` collectors between them,
``residential`` streets, dead-end ``service`` roads into blocks, and
``footway`` paths (park paths, riverside walks, foot bridges) that no vehicle
drives. Bridges cross the river on arterials only. Some residential streets in
the old core are one-way; any one-way that would cut a part of the city off
(checked with strongly connected components) is made two-way again, so every
drivable node can reach every other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.demo_city.common import stream
from backend.demo_city.graph import spanning_forest, strongly_connected, union_find_components
from backend.demo_city.names import arterial_names, street_names
from backend.importers.rows import is_drivable


@dataclass(frozen=True, slots=True)
class StreetParams:
    """Size and texture of the grid (defaults give ~3,000 segments over ~5 x 3.5 km)."""

    nx: int = 48
    ny: int = 38
    dx: float = 112.0  # metres between intersections east-west
    dy: float = 92.0  # ... and north-south
    jitter_m: float = 7.0
    drop_fraction: float = 0.08  # residential links removed to make larger, irregular blocks
    river_half_band_m: float = 55.0  # intersections this close to the river are not built
    core_radius: float = 0.5  # one-way streets inside this fraction of the city radius


@dataclass(slots=True)
class Segment:
    """One road segment between two nodes; ``coords`` in metres from node ``a`` to ``b``."""

    a: int
    b: int
    road_class: str
    name: str | None
    oneway: int
    coords: np.ndarray
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Block:
    """A city block: its corner nodes (SW, SE, NE, NW) in metres and what fills it."""

    corners: np.ndarray  # (4, 2) metres
    use: str  # buildings, park, service, diagonal, plain
    street: str | None  # name of the street along its south side


@dataclass(slots=True)
class StreetNetwork:
    """The whole street plan in local metres."""

    nodes: np.ndarray  # (n, 2) metres; unused ids are NaN
    segments: list[Segment]
    blocks: list[Block]
    river: np.ndarray  # (k, 2) metres, the river's centreline
    centre_node: int


@dataclass(slots=True)
class _Edge:
    a: int
    b: int
    road_class: str
    name: str | None
    line: str
    bridge: bool = False
    oneway: int = 0
    bend: float = 0.0
    splits: list[tuple[float, int]] = field(default_factory=list)
    path: np.ndarray | None = None  # explicit design-plane polyline (riverside walks)


def _warp_factory(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """A smooth, gentle, one-to-one bend of the design plane plus a rotation."""
    ax, ay = rng.uniform(35, 60, 2)
    lx, ly = rng.uniform(2200, 3400, 2)
    px, py = rng.uniform(0, 2 * np.pi, 2)
    theta = np.deg2rad(rng.uniform(8, 28))
    cos_t, sin_t = np.cos(theta), np.sin(theta)

    def warp(points: np.ndarray) -> np.ndarray:
        x, y = points[:, 0], points[:, 1]
        u = x + ax * np.sin(2 * np.pi * y / lx + px)
        v = y + ay * np.sin(2 * np.pi * x / ly + py)
        return np.column_stack([u * cos_t - v * sin_t, u * sin_t + v * cos_t])

    return warp


def build_streets(seed: int, params: StreetParams | None = None) -> StreetNetwork:
    """Lay out the street network for ``seed`` (deterministic)."""
    p = params or StreetParams()
    rng = stream(seed, "streets")
    nx, ny = p.nx, p.ny
    jj, ii = np.divmod(np.arange(nx * ny), nx)
    gx = (ii - (nx - 1) / 2) * p.dx
    gy = (jj - (ny - 1) / 2) * p.dy
    design: list[np.ndarray] = list(
        np.column_stack([gx, gy]) + rng.normal(0, p.jitter_m, (nx * ny, 2))
    )

    # A wobbly oval boundary: the city thins out at the edges.
    half_w, half_h = (nx - 1) / 2 * p.dx, (ny - 1) / 2 * p.dy
    wob = rng.uniform(0, 2 * np.pi, 3)

    def inside_city(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        phi = np.arctan2(y / half_h, x / half_w)
        limit = (
            0.95
            - 0.07 * np.sin(2 * phi + wob[0])
            - 0.05 * np.sin(3 * phi + wob[1])
            - 0.03 * np.sin(5 * phi + wob[2])
        )
        result: np.ndarray = np.hypot(x / half_w, y / half_h) <= limit
        return result

    # A meandering river crossing west to east.
    amp, length = rng.uniform(110, 190), rng.uniform(2600, 3800)
    ph1, ph2 = rng.uniform(0, 2 * np.pi, 2)
    y0 = rng.uniform(-0.25, 0.1) * half_h

    def river_y(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = (
            y0
            + amp * np.sin(2 * np.pi * x / length + ph1)
            + 0.3 * amp * np.sin(2 * np.pi * x / (0.45 * length) + ph2)
        )
        return out

    grid = np.array(design)
    offset = grid[:, 1] - river_y(grid[:, 0])
    in_city = inside_city(grid[:, 0], grid[:, 1])
    in_river = np.abs(offset) < p.river_half_band_m
    side = np.sign(offset)
    kept = in_city & ~in_river
    centre_i, centre_j = (nx - 1) // 2, (ny - 1) // 2

    def node(i: int, j: int) -> int:
        return j * nx + i

    # Line classes: arterials every 8 columns / 6 rows, collectors half way between.
    col_off, row_off = int(rng.integers(8)), int(rng.integers(6))
    col_class = {
        i: "secondary" if (i - col_off) % 8 == 0 else "tertiary" if (i - col_off) % 8 == 4 else ""
        for i in range(nx)
    }
    row_class = {
        j: "secondary" if (j - row_off) % 6 == 0 else "tertiary" if (j - row_off) % 6 == 3 else ""
        for j in range(ny)
    }
    main_col = min(
        (i for i in col_class if col_class[i] == "secondary"), key=lambda i: abs(i - centre_i)
    )
    main_row = min(
        (j for j in row_class if row_class[j] == "secondary"), key=lambda j: abs(j - centre_j)
    )
    col_class[main_col] = row_class[main_row] = "primary"
    n_art = sum(1 for c in [*col_class.values(), *row_class.values()] if c) + 2
    n_res = sum(1 for c in [*col_class.values(), *row_class.values()] if not c)
    art_names = iter(arterial_names(rng, n_art))
    res_names = iter(street_names(rng, n_res))

    lines: list[tuple[str, list[int], str, str, bool]] = []  # (id, nodes, class, name, bridges)
    for j in range(ny):
        cls = row_class[j]
        name = next(art_names) if cls else next(res_names)
        lines.append(
            (f"row{j}", [node(i, j) for i in range(nx)], cls or "residential", name, False)
        )
    for i in range(nx):
        cls = col_class[i]
        name = next(art_names) if cls else next(res_names)
        seq = [node(i, j) for j in range(ny)]
        lines.append((f"col{i}", seq, cls or "residential", name, bool(cls)))
    # Two diagonal avenues crossing near the centre (they stop at the river).
    candidates = [
        (di, dj)
        for di in range(-3, 4)
        for dj in range(-3, 4)
        if kept[node(centre_i + di, centre_j + dj)]
    ]
    di, dj = candidates[int(rng.integers(len(candidates)))]
    ci, cj = centre_i + di, centre_j + dj
    for label, step, cls in (("diag_ne", 1, "primary"), ("diag_nw", -1, "secondary")):
        seq = [
            node(ci + k, cj + step * k)
            for k in range(-max(nx, ny), max(nx, ny))
            if 0 <= ci + k < nx and 0 <= cj + step * k < ny
        ]
        lines.append((label, seq, cls, next(art_names), False))

    edges: list[_Edge] = []
    diagonal_cells: set[tuple[int, int]] = set()
    for line_id, seq, cls, name, bridges in lines:
        prev, gap, gap_river = -1, 0, True
        for n in seq:
            if kept[n]:
                if prev >= 0 and gap == 0:
                    edges.append(_Edge(prev, n, cls, name, line_id))
                    if line_id.startswith("diag"):
                        (ia, ja), (ib, jb) = divmod(prev, nx)[::-1], divmod(n, nx)[::-1]
                        diagonal_cells.add((min(ia, ib), min(ja, jb)))
                elif prev >= 0 and bridges and gap_river and gap <= 3 and side[prev] != side[n]:
                    edges.append(_Edge(prev, n, cls, name, line_id, bridge=True))
                prev, gap, gap_river = n, 0, True
            elif prev >= 0:
                gap += 1
                gap_river = gap_river and bool(in_river[n] and in_city[n])

    # Remove some residential links (never one of a random spanning forest's).
    weights = rng.random(len(edges))
    protected = _spanning_forest(nx * ny, edges, weights)
    drop = rng.random(len(edges)) < p.drop_fraction
    edges = [
        e
        for k, e in enumerate(edges)
        if not (drop[k] and k not in protected and e.road_class == "residential")
    ]

    # Keep the largest connected piece; islands at the ragged edge go.
    labels = union_find_components(nx * ny, [(e.a, e.b) for e in edges])
    edge_labels = np.array([labels[e.a] for e in edges])
    biggest = np.bincount(edge_labels).argmax()
    edges = [e for e, lab in zip(edges, edge_labels, strict=True) if lab == biggest]
    in_net = np.zeros(nx * ny, dtype=bool)
    for e in edges:
        in_net[e.a] = in_net[e.b] = True
    by_key = {(min(e.a, e.b), max(e.a, e.b)): e for e in edges}

    # Old-core one-way streets: alternate directions on residential rows and columns.
    radius = np.hypot(grid[:, 0] / half_w, grid[:, 1] / half_h)
    for e in edges:
        if e.road_class != "residential" or max(radius[e.a], radius[e.b]) > p.core_radius:
            continue
        j_a, i_a = divmod(e.a, nx)
        if e.line.startswith("row"):
            e.oneway = 1 if j_a % 2 == 0 else -1
        elif i_a % 3 == 0:
            e.oneway = 1 if i_a % 2 == 0 else -1
    for e in edges:
        if e.road_class == "residential" and not e.bridge:
            e.bend = float(rng.normal(0, 3.5))

    def edge_point(e: _Edge, t: float) -> np.ndarray:
        pa, pb = design[e.a], design[e.b]
        d = pb - pa
        normal = np.array([-d[1], d[0]]) / (np.hypot(d[0], d[1]) or 1.0)
        out: np.ndarray = pa + t * d + e.bend * np.sin(np.pi * t) * normal
        return out

    def new_node(point: np.ndarray) -> int:
        design.append(point)
        return len(design) - 1

    # Blocks, and what fills them.
    blocks_idx: list[tuple[tuple[int, int, int, int], str, str | None]] = []
    extra: list[_Edge] = []
    uses = ("buildings", "park", "service", "plain")
    for j in range(ny - 1):
        for i in range(nx - 1):
            corners = (node(i, j), node(i + 1, j), node(i + 1, j + 1), node(i, j + 1))
            if not all(in_net[c] for c in corners):
                continue
            south = by_key.get((corners[0], corners[1]))
            use = str(rng.choice(uses, p=[0.55, 0.06, 0.14, 0.25]))
            if (i, j) in diagonal_cells:
                use = "diagonal"
            if use == "service":
                if south is None or south.road_class not in ("residential", "tertiary"):
                    use = "plain"
                else:
                    t = float(rng.uniform(0.35, 0.65))
                    mouth = new_node(edge_point(south, t))
                    south.splits.append((t, mouth))
                    centre = np.mean([design[c] for c in corners], axis=0)
                    end = new_node(design[mouth] + (centre - design[mouth]) * rng.uniform(0.9, 1.3))
                    kind = str(rng.choice(["parking_aisle", "driveway", "alley"]))
                    extra.append(_Edge(mouth, end, "service", None, f"service:{kind}"))
            elif use == "park":
                hub = new_node(np.mean([design[c] for c in corners], axis=0))
                extra.extend(_Edge(c, hub, "footway", None, "park") for c in corners)
            blocks_idx.append((corners, use, south.name if south else None))

    # Two foot bridges on residential columns, and a walk along each bank.
    line_names = {line_id: name for line_id, _seq, _cls, name, _b in lines}
    foot_cols = [i for i in range(nx) if not col_class[i] and abs(i - centre_i) < nx // 3]
    for i in rng.permutation(foot_cols)[:2]:
        kept_seq = [node(int(i), j) for j in range(ny) if in_net[node(int(i), j)]]
        for a, b in itertools.pairwise(kept_seq):
            if side[a] != side[b] and (b - a) // nx <= 4:
                name = f"{line_names[f'col{i}'].split()[0]} Footbridge"
                extra.append(_Edge(a, b, "footway", name, "footbridge", bridge=True))
    xs = np.arange(-half_w, half_w, 20.0)
    river_centre = np.column_stack([xs, river_y(xs)])
    for bank, sign in (("Riverside Walk", 1.0), ("Towpath", -1.0)):
        pts = np.column_stack([xs, river_y(xs) + sign * (p.river_half_band_m - 20)])
        inside = inside_city(pts[:, 0], pts[:, 1])
        run: list[int] = []
        for k in range(len(xs) + 1):
            if k < len(xs) and inside[k]:
                run.append(k)
                continue
            for start in range(0, len(run) - 1, 9):
                piece = run[start : start + 10]
                if len(piece) >= 2:
                    a, b = new_node(pts[piece[0]]), new_node(pts[piece[-1]])
                    extra.append(_Edge(a, b, "footway", bank, "walk", path=pts[piece]))
            run = []
    edges.extend(extra)

    pieces = _split(edges, design, edge_point)
    _keep_strongly_connected(pieces, len(design))
    warp = _warp_factory(rng)
    return _finish(pieces, design, blocks_idx, warp(river_centre), node(ci, cj), warp)


@dataclass(slots=True)
class _Piece:
    """A part of an edge between two consecutive split points, in design coordinates."""

    edge: _Edge
    a: int
    b: int
    path: np.ndarray


def _spanning_forest(n: int, edges: list[_Edge], weights: np.ndarray) -> set[int]:
    return spanning_forest(n, [(e.a, e.b) for e in edges], weights)


def _split(
    edges: list[_Edge],
    design: list[np.ndarray],
    edge_point: Callable[[_Edge, float], np.ndarray],
) -> list[_Piece]:
    """Cut every edge at its split points; gently bent edges get interior vertices."""
    pieces: list[_Piece] = []
    for e in edges:
        if e.path is not None:
            pieces.append(_Piece(e, e.a, e.b, e.path))
            continue
        stops = [(0.0, e.a), *sorted(e.splits), (1.0, e.b)]
        for (t0, n0), (t1, n1) in itertools.pairwise(stops):
            inner = [edge_point(e, t0 + (t1 - t0) * q) for q in (0.25, 0.5, 0.75) if e.bend]
            pieces.append(_Piece(e, n0, n1, np.array([design[n0], *inner, design[n1]])))
    return pieces


def _keep_strongly_connected(pieces: list[_Piece], n: int) -> None:
    """Make two-way every one-way street whose direction would strand part of the city."""
    while True:
        arcs: list[tuple[int, int]] = []
        for piece in pieces:
            if not is_drivable(piece.edge.road_class):
                continue
            if piece.edge.oneway >= 0:
                arcs.append((piece.a, piece.b))
            if piece.edge.oneway <= 0:
                arcs.append((piece.b, piece.a))
        comp = strongly_connected(n, arcs)
        broken = [pc.edge for pc in pieces if pc.edge.oneway and comp[pc.a] != comp[pc.b]]
        if not broken:
            return
        for e in broken:
            e.oneway = 0


_LANES = {"primary": 4, "secondary": 2, "tertiary": 2, "residential": 2, "service": 1}
_MAXSPEED = {"primary": 50, "secondary": 50, "tertiary": 50, "residential": 30, "service": 20}


def _finish(
    pieces: list[_Piece],
    design: list[np.ndarray],
    blocks_idx: list[tuple[tuple[int, int, int, int], str, str | None]],
    river: np.ndarray,
    centre_node: int,
    warp: Callable[[np.ndarray], np.ndarray],
) -> StreetNetwork:
    """Warp everything into metres; segment ends take their node's exact coordinates."""
    nodes = warp(np.array(design))
    segments: list[Segment] = []
    for piece in pieces:
        e = piece.edge
        coords = warp(piece.path)
        coords[0], coords[-1] = nodes[piece.a], nodes[piece.b]
        attributes: dict[str, Any] = {}
        if e.road_class in _LANES:
            attributes["lanes"] = _LANES[e.road_class] // (2 if e.oneway else 1) or 1
            attributes["maxspeed"] = _MAXSPEED[e.road_class]
            attributes["lit"] = "yes"
        if e.bridge:
            attributes.update(bridge="yes", layer=1)
        if e.road_class == "service":
            attributes["service"] = e.line.split(":", 1)[1]
        if e.line == "park":
            attributes["surface"] = "gravel"
        segments.append(
            Segment(piece.a, piece.b, e.road_class, e.name, e.oneway, coords, attributes)
        )
    blocks = [Block(nodes[list(corners)], use, street) for corners, use, street in blocks_idx]
    return StreetNetwork(nodes, segments, blocks, river, centre_node)
