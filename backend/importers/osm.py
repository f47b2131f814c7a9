"""OpenStreetMap importer: roads and maintained assets from ``.osm.pbf`` and ``.osm`` XML.

The format is told from content, never from the file name alone: PBF files
carry the ``OSMHeader`` blob type in their first bytes, XML opens with
``<?xml``/``<osm``; gzip and bzip2 compressed XML is accepted too. The file is
read in one streaming pass with pyosmium (node locations cached in memory), and
a C++ key filter keeps Python away from the untagged bulk of the file.

Decisions, so that a reader of the database knows what a row means:

* **Roads.** Every way with a ``highway`` tag is a ``roads`` row, including
  footways, steps, platforms and pedestrian areas (``area=yes``): the map shows
  them, ``drivable`` keeps them out of a driving graph. A way is drivable when
  its class is (:data:`backend.importers.rows.DRIVABLE_CLASSES`), it is not an
  area, and its most specific vehicle access tag (``motorcar`` >
  ``motor_vehicle`` > ``vehicle`` > ``access``) is not ``no``. ``private`` and
  ``destination`` stay drivable: a city's own crews serve private service roads,
  and the tags are kept in ``attributes`` for a router that wants to weigh them.
* **Oneway.** ``yes``/``1``/``true`` is 1, ``-1``/``reverse`` is -1, ``no`` is 0;
  without a tag, roundabouts and motorways are implied one-way. ``reversible``
  and ``alternating`` change direction over the day and are stored as 0.
* **Cut extracts.** A road with nodes missing (cut on the extract's box) keeps
  its longest run of consecutive present nodes, counted in
  ``notes["roads_clipped"]``; a road with no run of two present nodes is
  skipped as ``way_missing_nodes``. An asset drawn as a way must be complete
  (its centroid would be wrong otherwise): ``asset_way_missing_nodes``.
* **Assets** come from tagged nodes and ways (:data:`ASSET_RULES`, first match
  wins). Ways keep their line or polygon in ``geom``; ``lon``/``lat`` is the
  polygon's centroid, or the midpoint along an open line (a line's centroid
  can lie off the line). ``name`` is ``name``, else ``ref`` (lamp and cabinet
  numbers are what crews use). ``install_date`` comes from ``start_date`` when
  it is ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (the first day of the period);
  anything vaguer ("before 1815", "1890s") stays only in ``attributes`` and
  is counted in ``notes["start_date_not_a_date"]``.
* Relations (multipolygons, routes) are not read.

A truncated or corrupt file raises :class:`ImportRefused` before anything is
written. A PBF cut exactly between two blocks cannot be told from a smaller
file: the format carries no object count.
"""

from __future__ import annotations

import bz2
import re
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import osmium
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from backend.db.models import Asset, Road
from backend.importers.base import (
    ImportOptions,
    ImportRefused,
    ImportSummary,
    insert_new,
    read_head,
)
from backend.importers.rows import asset_row, is_drivable, road_row

SOURCE = "osm"

#: (tag key, tag values, asset kind); the first rule an object matches decides its kind.
ASSET_RULES: tuple[tuple[str, frozenset[str], str], ...] = (
    ("highway", frozenset({"street_lamp"}), "street_light"),
    ("highway", frozenset({"traffic_signals"}), "traffic_signal"),
    ("emergency", frozenset({"fire_hydrant"}), "hydrant"),
    ("man_made", frozenset({"pumping_station", "water_works"}), "pump"),
    ("power", frozenset({"transformer"}), "transformer"),
    ("power", frozenset({"substation"}), "substation"),
    ("man_made", frozenset({"water_tower"}), "water_tower"),
    ("man_made", frozenset({"manhole"}), "manhole"),
    ("man_made", frozenset({"street_cabinet"}), "street_cabinet"),
    ("man_made", frozenset({"utility_pole"}), "utility_pole"),
    ("highway", frozenset({"speed_camera"}), "speed_camera"),
    ("highway", frozenset({"bus_stop"}), "bus_stop"),
    ("amenity", frozenset({"parking_meter"}), "parking_meter"),
    ("vending", frozenset({"parking_tickets"}), "parking_meter"),
    ("amenity", frozenset({"charging_station"}), "ev_charger"),
    ("amenity", frozenset({"bicycle_rental"}), "bike_share_station"),
    ("amenity", frozenset({"bicycle_parking"}), "bicycle_parking"),
    ("amenity", frozenset({"bench"}), "bench"),
    ("amenity", frozenset({"waste_basket"}), "waste_basket"),
    ("amenity", frozenset({"waste_disposal"}), "waste_container"),
    ("amenity", frozenset({"recycling"}), "recycling_point"),
    ("amenity", frozenset({"drinking_water"}), "drinking_water"),
    ("amenity", frozenset({"fountain"}), "fountain"),
    ("amenity", frozenset({"toilets"}), "public_toilet"),
    ("emergency", frozenset({"life_ring", "lifebuoy"}), "life_ring"),
    ("amenity", frozenset({"life_ring"}), "life_ring"),
    ("leisure", frozenset({"playground"}), "playground"),
)

#: Keys the C++ filter lets through to Python: roads plus every asset rule's key.
_WANTED_KEYS = tuple(sorted({"highway"} | {key for key, _, _ in ASSET_RULES}))

_ONEWAY_FORWARD = frozenset({"yes", "1", "true"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ONEWAY_IMPLIED_CLASSES = frozenset({"motorway"})
_ROUNDABOUTS = frozenset({"roundabout", "circular"})
#: Most specific first: the first of these a way carries decides motor access.
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")

_PBF_MARK = b"OSMHeader"
_OSM_ROOT = re.compile(rb"<osm[\s>]")
_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_NAME_MAX = 200  # roads.name / assets.name are String(200)


def _is_osm_xml(text: bytes) -> bool:
    """True when decoded bytes open an OSM XML document (not osmChange, GPX or KML)."""
    start = text.lstrip()[:4096]
    return start.startswith((b"<?xml", b"<osm", b"<!--")) and bool(_OSM_ROOT.search(start))


def _gunzip_head(head: bytes) -> bytes:
    try:
        # A partial stream decompresses as far as it goes; that is all sniffing needs.
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 8192)
    except zlib.error:
        return b""


def _bunzip_head(path: Path) -> bytes:
    try:
        # bzip2 emits nothing before a whole block (up to 900 kB), so read from the file.
        with bz2.open(path, "rb") as fh:
            return fh.read(4096)
    except (OSError, EOFError, ValueError):
        return b""


def detect_format(path: Path, head: bytes) -> str | None:
    """The libosmium format string for a file's content ("pbf", "osm", "osm.gz", "osm.bz2")."""
    # The first blob header is a 4-byte length then a protobuf naming its type.
    if _PBF_MARK in head[:64]:
        return "pbf"
    if head.startswith(b"\x1f\x8b"):
        return "osm.gz" if _is_osm_xml(_gunzip_head(head)) else None
    if head.startswith(b"BZh"):
        return "osm.bz2" if _is_osm_xml(_bunzip_head(path)) else None
    return "osm" if _is_osm_xml(head) else None


def asset_kind(tags: dict[str, str]) -> str | None:
    """The asset kind of an object's tags, or None when it is nothing a city maintains."""
    for key, values, kind in ASSET_RULES:
        if tags.get(key) in values:
            return kind
    return None


def oneway_of(tags: dict[str, str], road_class: str) -> int:
    """1 along the way, -1 against it, 0 both ways (explicit tag first, then implied)."""
    value = tags.get("oneway", "").strip().lower()
    if value in _ONEWAY_FORWARD:
        return 1
    if value in _ONEWAY_BACKWARD:
        return -1
    if value:  # "no", "reversible", "alternating", junk: both ways
        return 0
    if tags.get("junction") in _ROUNDABOUTS or road_class in _ONEWAY_IMPLIED_CLASSES:
        return 1
    return 0


def drivable_of(tags: dict[str, str], road_class: str) -> bool:
    """Whether a vehicle may use the way (see the module docstring for the rules)."""
    if not is_drivable(road_class) or tags.get("area") == "yes":
        return False
    for key in _ACCESS_KEYS:
        if key in tags:
            return tags[key].strip().lower() != "no"
    return True


def parse_start_date(value: str | None) -> date | None:
    """``start_date`` as a date when it is ISO ``YYYY[-MM[-DD]]``, else None."""
    if not value:
        return None
    match = _ISO_DATE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:_NAME_MAX]


def _dedupe(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop consecutive repeated points (a node listed twice in a row)."""
    out: list[tuple[float, float]] = []
    for point in points:
        if not out or out[-1] != point:
            out.append(point)
    return out


def longest_run(coords: list[tuple[float, float] | None]) -> list[tuple[float, float]]:
    """The longest stretch of consecutive present points (None marks a missing node)."""
    best: list[tuple[float, float]] = []
    run: list[tuple[float, float]] = []
    for point in [*coords, None]:
        if point is None:
            run = _dedupe(run)
            if len(run) > len(best):
                best = run
            run = []
        else:
            run.append(point)
    return best


class _Collector:
    """Turns the objects of one pass over the file into road and asset rows."""

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary
        self.roads: list[dict[str, Any]] = []
        self.assets: list[dict[str, Any]] = []

    def node(self, obj: osmium.osm.Node) -> None:
        tags = {tag.k: tag.v for tag in obj.tags}
        kind = asset_kind(tags)
        if kind is None:
            return
        if not obj.location.valid():
            self.summary.skip("node_invalid_location")
            return
        loc = obj.location
        self._asset(f"node/{obj.id}", kind, tags, loc.lon, loc.lat, None)

    def way(self, obj: osmium.osm.Way) -> None:
        tags = {tag.k: tag.v for tag in obj.tags}
        refs = [node.ref for node in obj.nodes]
        coords: list[tuple[float, float] | None] = [
            (node.location.lon, node.location.lat) if node.location.valid() else None
            for node in obj.nodes
        ]
        if "highway" in tags:
            self._road(obj.id, tags, coords)
        kind = asset_kind(tags)
        if kind is not None:
            self._way_asset(obj.id, kind, tags, refs, coords)

    def _road(self, way_id: int, tags: dict[str, str], coords: list[Any]) -> None:
        if len(coords) < 2:
            self.summary.skip("way_too_few_nodes")
            return
        run = longest_run(coords)
        complete = None not in coords
        if len(run) < 2:
            self.summary.skip("way_missing_nodes" if not complete else "way_degenerate")
            return
        if not complete:
            self.summary.notes["roads_clipped"] = self.summary.notes.get("roads_clipped", 0) + 1
        road_class = tags["highway"]
        self.roads.append(
            road_row(
                source=SOURCE,
                source_id=f"way/{way_id}",
                geom=LineString(run),
                road_class=road_class[:40],
                name=_clip(tags.get("name")),
                oneway=oneway_of(tags, road_class),
                drivable=drivable_of(tags, road_class),
                attributes=tags,
            )
        )

    def _way_asset(
        self, way_id: int, kind: str, tags: dict[str, str], refs: list[int], coords: list[Any]
    ) -> None:
        if None in coords:
            self.summary.skip("asset_way_missing_nodes")
            return
        points = _dedupe(coords)
        geom: BaseGeometry
        if len(points) >= 4 and refs[0] == refs[-1]:
            geom = Polygon(points)
            center = geom.centroid if geom.area > 0 else geom.exterior.centroid
        elif len(points) >= 2:
            geom = LineString(points)
            center = geom.interpolate(0.5, normalized=True)
        elif len(points) == 1:
            geom, center = Point(points[0]), Point(points[0])
        else:
            self.summary.skip("way_too_few_nodes")
            return
        self._asset(
            f"way/{way_id}", kind, tags, center.x, center.y, None if len(points) == 1 else geom
        )

    def _asset(
        self,
        source_id: str,
        kind: str,
        tags: dict[str, str],
        lon: float,
        lat: float,
        geom: BaseGeometry | None,
    ) -> None:
        start = tags.get("start_date")
        installed = parse_start_date(start)
        if start and installed is None:
            notes = self.summary.notes
            notes["start_date_not_a_date"] = notes.get("start_date_not_a_date", 0) + 1
        self.assets.append(
            asset_row(
                source=SOURCE,
                source_id=source_id,
                kind=kind,
                lon=lon,
                lat=lat,
                name=_clip(tags.get("name") or tags.get("ref")),
                install_date=installed,
                geom=geom,
                attributes=tags,
            )
        )


def _objects(path: Path, fmt: str) -> osmium.FileProcessor:
    """Tagged nodes and ways of interest, ways with node locations filled in."""
    return (
        osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        # Runs after the location cache has seen every node, so untagged way
        # nodes still give ways their coordinates without reaching Python.
        .with_filter(osmium.filter.KeyFilter(*_WANTED_KEYS))
    )


def read_osm(
    path: Path, summary: ImportSummary
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Road and asset rows of an OSM file; raises ImportRefused when it is not whole."""
    fmt = detect_format(path, read_head(path))
    if fmt is None:
        raise ImportRefused(f"{path}: not an OpenStreetMap file (.osm.pbf or .osm XML)")
    collector = _Collector(summary)
    try:
        for obj in _objects(path, fmt):
            if isinstance(obj, osmium.osm.Node):
                collector.node(obj)
            elif isinstance(obj, osmium.osm.Way):
                collector.way(obj)
    except RuntimeError as exc:  # libosmium's io, PBF and XML errors
        raise ImportRefused(
            f"{path}: truncated or corrupt OpenStreetMap {fmt} file ({exc})"
        ) from exc
    return collector.roads, collector.assets


class OsmImporter:
    """OpenStreetMap ``.osm.pbf`` / ``.osm`` XML: roads and maintained assets."""

    name = "osm"
    order = 10  # an inventory: before event files that refer to its assets

    def sniff(self, path: Path, head: bytes) -> bool:
        """True for PBF (``OSMHeader`` blob) or OSM XML, plain or gzip/bzip2 compressed."""
        return detect_format(path, head) is not None

    def run(self, path: Path, session: Session, options: ImportOptions) -> ImportSummary:
        """Read the whole file first, then bulk-insert the rows not stored yet."""
        summary = ImportSummary()
        roads, assets = read_osm(path, summary)
        insert_new(session, Road, roads, summary, "roads")
        insert_new(session, Asset, assets, summary, "assets")
        return summary


IMPORTER = OsmImporter()
