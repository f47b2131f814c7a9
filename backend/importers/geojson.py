"""GeoJSON importer: road centerlines become ``roads``, point layers become ``assets``.

A file is recognised by content (a JSON object whose ``type`` is
``FeatureCollection`` or ``Feature``), not by its extension. It is parsed
whole with the standard ``json`` module: city layers are a few megabytes and
parse in tens of milliseconds. A file that is not valid JSON (cut short,
corrupt) is refused and nothing of it is written.

Per feature:

- LineString / MultiLineString -> a road (:func:`~backend.importers.rows.road_row`);
  Cambridge centerlines get class, one-way and name from their own fields,
  any other line layer from ``highway``/``class``/``road_class`` and ``oneway``.
- Point, or a MultiPoint of one point -> an asset
  (:func:`~backend.importers.rows.asset_row`) whose kind comes from
  ``--kind``, else an OSM tag on the feature, else the layer (property names,
  file name). Status from a lifecycle code, install date where the layer has one.
- Anything else is skipped with a reason: ``missing_geometry``,
  ``invalid_geometry``, ``empty_geometry``, ``out_of_range_coordinates``,
  ``placeholder_coordinates`` (0, 0), ``unsupported_geometry_<type>``,
  ``no_feature_id``, ``feature_id_too_long``, ``not_a_feature``,
  ``invalid_properties``, ``unknown_asset_kind``.

Every property is kept unchanged in ``attributes``. ``source`` names the layer
(``<folder>/<GeoJSON name member or file stem>``, e.g. ``cambridge/INFRA_Hydrants``);
``source_id`` is the feature id, else its OBJECTID/GlobalID/ID property, so a
re-import finds every row already stored and changes nothing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, MultiLineString
from sqlalchemy.orm import Session

from backend.db.models import Asset, Road
from backend.importers import geojson_fields as fields
from backend.importers.base import ImportOptions, ImportRefused, ImportSummary, insert_new
from backend.importers.rows import asset_row, road_row

_TYPE_MEMBER = re.compile(rb'"type"\s*:\s*"(?:FeatureCollection|Feature)"')
_LINE_TYPES = frozenset({"LineString", "MultiLineString"})
_POINT_TYPES = frozenset({"Point", "MultiPoint"})
# GeoJSON geometry types we understand but do not import (areas, collections).
_OTHER_TYPES = frozenset({"Polygon", "MultiPolygon", "GeometryCollection"})
# Names an old-style (2008) "crs" member may give WGS84 lon/lat.
_WGS84_NAMES = ("crs84", "epsg:4326", "epsg::4326")
_MAX_SOURCE_LENGTH = 80


class _Skip(Exception):
    """A feature that cannot be imported; ``args[0]`` is the skip reason."""


@dataclass(slots=True)
class _Point:
    lon: float
    lat: float


def _position(pos: Any) -> tuple[float, float]:
    """One GeoJSON position as (lon, lat); a third (height) value is dropped."""
    if not isinstance(pos, list) or len(pos) < 2:
        raise _Skip("invalid_geometry")
    lon, lat = pos[0], pos[1]
    if isinstance(lon, bool) or isinstance(lat, bool):
        raise _Skip("invalid_geometry")
    if not isinstance(lon, int | float) or not isinstance(lat, int | float):
        raise _Skip("invalid_geometry")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise _Skip("invalid_geometry")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise _Skip("out_of_range_coordinates")
    if lon == 0 and lat == 0:
        raise _Skip("placeholder_coordinates")  # "null island": a missing geocode
    return float(lon), float(lat)


def _line(coords: Any) -> list[tuple[float, float]]:
    """A LineString's positions: at least two, and not all the same point."""
    if not isinstance(coords, list):
        raise _Skip("invalid_geometry")
    points = [_position(pos) for pos in coords]
    if len(set(points)) < 2:
        raise _Skip("invalid_geometry")
    return points


def _road_geometry(kind: str, coords: Any) -> LineString | MultiLineString:
    if not isinstance(coords, list):
        raise _Skip("invalid_geometry")
    if not coords:
        raise _Skip("empty_geometry")
    if kind == "LineString":
        return LineString(_line(coords))
    return MultiLineString([_line(part) for part in coords])


def _point_geometry(kind: str, coords: Any) -> _Point:
    if not isinstance(coords, list):
        raise _Skip("invalid_geometry")
    if not coords:
        raise _Skip("empty_geometry")
    if kind == "MultiPoint":
        if len(coords) > 1:
            raise _Skip("unsupported_geometry_multipoint")  # one asset is one place
        coords = coords[0]
    lon, lat = _position(coords)
    return _Point(lon, lat)


def _geometry_type(feature: dict[str, Any]) -> str:
    """The feature's geometry type, after checking it is one we can read."""
    geometry = feature.get("geometry")
    if geometry is None:
        raise _Skip("missing_geometry")
    if not isinstance(geometry, dict):
        raise _Skip("invalid_geometry")
    kind = geometry.get("type")
    if kind in _LINE_TYPES or kind in _POINT_TYPES:
        return str(kind)
    if kind in _OTHER_TYPES:
        raise _Skip(f"unsupported_geometry_{str(kind).lower()}")
    raise _Skip("invalid_geometry")


def load_document(path: Path) -> dict[str, Any]:
    """The parsed GeoJSON object; refuses invalid JSON and non-GeoJSON documents."""
    try:
        # bytes in: json detects UTF-8 (with or without BOM), UTF-16 and UTF-32.
        doc = json.loads(path.read_bytes(), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "the file is truncated or corrupt"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"{path}: not UTF-8 text ({exc.reason}); not GeoJSON") from exc
    except RecursionError as exc:
        raise ImportRefused(f"{path}: JSON nested too deeply to be GeoJSON") from exc
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise ImportRefused(
            f"{path}: JSON but not a GeoJSON FeatureCollection or Feature "
            '(expected an object with "type": "FeatureCollection")'
        )
    _check_crs(path, doc.get("crs"))
    return doc


def _no_constant(name: str) -> None:
    # NaN/Infinity are not JSON and PostgreSQL's JSONB refuses them: read as null.
    return None


def _check_crs(path: Path, crs: Any) -> None:
    """Refuse a file whose (pre-RFC 7946) ``crs`` member says it is not WGS84 lon/lat."""
    if not isinstance(crs, dict):
        return
    props = crs.get("properties")
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str) or any(w in name.lower() for w in _WGS84_NAMES):
        return
    raise ImportRefused(
        f"{path}: coordinates are in {name}, not WGS84 lon/lat; reproject first "
        "(e.g. ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson)"
    )


def features_of(path: Path, doc: dict[str, Any]) -> list[Any]:
    """The document's features (a lone Feature is a list of one)."""
    if doc["type"] == "Feature":
        return [doc]
    features = doc.get("features")
    if not isinstance(features, list):
        raise ImportRefused(f'{path}: a FeatureCollection without a "features" list')
    return features


def layer_source(path: Path, doc: dict[str, Any]) -> str:
    """A stable name for the layer: ``<folder>/<name member or file stem>``.

    The folder keeps two cities' ``Hydrants.geojson`` apart.
    """
    member = doc.get("name")
    name = member.strip() if isinstance(member, str) and member.strip() else path.stem
    folder = path.resolve().parent.name
    source = f"{folder}/{name}" if folder else name
    return source[:_MAX_SOURCE_LENGTH]


class GeoJSONImporter:
    """GeoJSON road centerlines and point asset layers (see the module docstring)."""

    name = "geojson"
    #: an inventory: runs before the 311 requests and failure records that refer to it
    order = 10

    def sniff(self, path: Path, head: bytes) -> bool:
        """A JSON object whose ``type`` is FeatureCollection/Feature (or a ``.geojson`` object).

        The ``.geojson`` fallback lets a broken file reach :meth:`run` and be
        refused with a GeoJSON-specific message rather than "unknown format".
        """
        if not head.lstrip().startswith(b"{"):
            return False
        return bool(_TYPE_MEMBER.search(head)) or path.suffix.lower() == ".geojson"

    def run(self, path: Path, session: Session, options: ImportOptions) -> ImportSummary:
        """Read ``path`` and write its roads and assets in ``session``'s transaction."""
        forced_kind = None
        if options.kind is not None:
            forced_kind = fields.check_kind(options.kind)
            if forced_kind is None:
                raise ImportRefused(
                    f"--kind {options.kind!r}: an asset kind is snake_case, at most 40 "
                    "characters (e.g. hydrant, street_light, traffic_signal)"
                )
        doc = load_document(path)
        features = features_of(path, doc)
        builder = _LayerBuilder(path, doc, features, forced_kind)
        summary = builder.build()
        insert_new(session, Road, builder.roads, summary, "roads")
        insert_new(session, Asset, builder.assets, summary, "assets")
        return summary


class _LayerBuilder:
    """Turns one layer's features into road and asset rows, counting what it skips."""

    def __init__(
        self, path: Path, doc: dict[str, Any], features: list[Any], forced_kind: str | None
    ) -> None:
        self.path = path
        self.features = features
        self.source = layer_source(path, doc)
        self.forced_kind = forced_kind
        member = doc.get("name")
        self.layer_names = [path.stem, member if isinstance(member, str) else ""]
        self.summary = ImportSummary()
        self.roads: list[dict[str, Any]] = []
        self.assets: list[dict[str, Any]] = []
        self.today = datetime.now(UTC).date()
        line_keys: set[str] = set()
        point_keys: set[str] = set()
        for feature in features:
            props = _properties(feature)
            if props:
                kind = _declared_type(feature)
                if kind in _LINE_TYPES:
                    line_keys.update(props)
                elif kind in _POINT_TYPES:
                    point_keys.update(props)
        self.cambridge_roads = fields.is_cambridge_centerlines(line_keys)
        self.layer_kind = fields.layer_kind(point_keys, self.layer_names)

    def build(self) -> ImportSummary:
        """Build every feature's row; returns the summary of skips and notes."""
        summary = self.summary
        summary.notes["features"] = len(self.features)
        for feature in self.features:
            try:
                self._feature(feature)
            except _Skip as skip:
                summary.skip(skip.args[0])
        # Refuse only when the kind was all that stood between the file and the
        # database; a mixed layer keeps its roads and reports the points.
        if not self.assets and not self.roads and summary.skipped.get("unknown_asset_kind"):
            raise ImportRefused(
                f"{self.path}: cannot tell what kind of asset its "
                f"{summary.skipped['unknown_asset_kind']} points are; "
                "name it with --kind (e.g. --kind hydrant)"
            )
        return summary

    def _feature(self, feature: Any) -> None:
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise _Skip("not_a_feature")
        props = feature.get("properties")
        if props is None:
            props = {}
        elif not isinstance(props, dict):
            raise _Skip("invalid_properties")
        kind = _geometry_type(feature)
        coords = feature["geometry"].get("coordinates")
        if kind in _LINE_TYPES:
            geom = _road_geometry(kind, coords)
            self.roads.append(self._road(feature, props, geom))
        else:
            point = _point_geometry(kind, coords)
            self.assets.append(self._asset(feature, props, point))

    def _source_id(self, feature: dict[str, Any], props: dict[str, Any]) -> str:
        source_id = fields.feature_id(feature, props)
        if source_id is None:
            raise _Skip("no_feature_id")
        if len(source_id) > fields.MAX_ID_LENGTH:
            raise _Skip("feature_id_too_long")
        return source_id

    def _road(
        self, feature: dict[str, Any], props: dict[str, Any], geom: LineString | MultiLineString
    ) -> dict[str, Any]:
        source_id = self._source_id(feature, props)
        reading = (fields.cambridge_road if self.cambridge_roads else fields.generic_road)(props)
        if not reading.oneway_known:
            self._note("oneway_unknown")
        return road_row(
            source=self.source,
            source_id=source_id,
            geom=geom,
            road_class=reading.road_class,
            name=reading.name,
            oneway=reading.oneway,
            attributes=props,
        )

    def _asset(
        self, feature: dict[str, Any], props: dict[str, Any], point: _Point
    ) -> dict[str, Any]:
        source_id = self._source_id(feature, props)
        kind = self.forced_kind or fields.feature_kind(props) or self.layer_kind
        if kind is None:
            raise _Skip("unknown_asset_kind")
        status = fields.asset_status(props)
        if not status.known:
            self._note("unknown_lifecycle_status")
        installed = fields.install_date(props, self.today)
        if installed.problem is not None:
            # The asset is real; only its date is not: keep one, drop the other.
            self._note(f"{installed.problem}_install_date")
        return asset_row(
            source=self.source,
            source_id=source_id,
            kind=kind,
            lon=point.lon,
            lat=point.lat,
            name=fields.asset_name(props),
            status=status.status,
            install_date=installed.value,
            attributes=props,
        )

    def _note(self, key: str) -> None:
        self.summary.notes[key] = self.summary.notes.get(key, 0) + 1


def _properties(feature: Any) -> dict[str, Any]:
    if isinstance(feature, dict):
        props = feature.get("properties")
        if isinstance(props, dict):
            return props
    return {}


def _declared_type(feature: Any) -> Any:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    return geometry.get("type") if isinstance(geometry, dict) else None


#: The importer the registry loads.
IMPORTER = GeoJSONImporter()
