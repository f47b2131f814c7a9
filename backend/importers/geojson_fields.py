"""Reading meaning out of GeoJSON properties: ids, names, asset kinds, status, dates, road classes.

The GeoJSON importer keeps every property as it came (``attributes``); these
helpers only derive the typed columns from them. Each rule names the source
field it reads, so an operator can trace any column back to the file.

Cambridge, MA layers (``../shared/data/cambridge``) are the reference; their
attribute dictionaries are the ``*.README.md`` files beside them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

#: Longest ``source_id`` the schema stores (``assets``/``roads`` ``source_id`` column).
MAX_ID_LENGTH = 120
#: Longest ``name`` the schema stores.
MAX_NAME_LENGTH = 200

#: An install date before this is impossible for a city asset: public water and
#: gas lighting in Cambridge date from the 1850s. The hydrant layer's 0911-01-01
#: and 1800-01-01 are placeholders; 1833 predates the water works (1852).
EARLIEST_INSTALL_DATE = date(1850, 1, 1)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")

# Property names (lower case) that carry a feature's id when the feature has no "id".
_ID_PROPERTIES = ("objectid", "globalid", "id")
# Property names (lower case) that label an asset, most specific first.
_NAME_PROPERTIES = ("name", "label", "hydrant_id", "poleid", "pole_id", "location", "ref")
_INSTALL_DATE_PROPERTIES = ("installdate", "install_date", "installation_date", "date_installed")
_LIFECYCLE_PROPERTIES = ("lifecyclestatus", "lifecycle_status", "lifecycle")

#: Lifecycle codes (Cambridge INFRA_Hydrants: ACT Active, ABN Abandoned, PROP
#: Proposed, MITFL MIT Fire Loop) and common spellings elsewhere. A hydrant on
#: the MIT fire loop is in service; abandoned, removed or merely proposed ones
#: cannot be used, so the control room sees them as out of service.
_IN_SERVICE = frozenset({"act", "active", "mitfl", "in service", "inservice", "operational"})
_OUT_OF_SERVICE = frozenset(
    {
        "abn",
        "abandoned",
        "removed",
        "retired",
        "inactive",
        "decommissioned",
        "out of service",
        "prop",
        "proposed",
    }
)

# Layer-level hints: property names that only one kind of asset layer has.
_KIND_BY_PROPERTY = (
    ("hydrant", frozenset({"hydrant_id", "hydrant_gpm", "hydrant_manf", "hydrant_color"})),
    ("street_light", frozenset({"fixturetype", "fixture_type", "numlamps", "lamp1", "lamptype"})),
    ("traffic_signal", frozenset({"signal_id", "signalid", "signal_type", "signaltype"})),
)
# Layer-level hints from the file stem or the GeoJSON "name" member (letters only).
_KIND_BY_NAME = (
    ("hydrant", ("hydrant",)),
    ("street_light", ("streetlight", "streetlamp")),
    ("traffic_signal", ("trafficsignal", "signal")),
)
# Per-feature OpenStreetMap tags (GeoJSON exported from OSM, e.g. by osmtogeojson).
_KIND_BY_OSM_TAG = {
    ("emergency", "fire_hydrant"): "hydrant",
    ("highway", "street_lamp"): "street_light",
    ("highway", "traffic_signals"): "traffic_signal",
}

#: Cambridge TRANS_Centerlines ``Direction``: 0 two-way, 1 one-way along the
#: digitised direction, -1 one-way against it. Same coding as ``roads.oneway``.
_CAMBRIDGE_DIRECTION = {"0": 0, "1": 1, "-1": -1}
#: Cambridge ``MajorRoad``: 1 the state and DCR arterials (Massachusetts Ave,
#: Memorial Dr, the parkways), 2 the city's other through streets. Mapped to
#: the OSM ``highway`` vocabulary so routing treats every source alike.
_CAMBRIDGE_MAJOR = {"1": "primary", "2": "secondary"}
_GENERIC_CLASS_PROPERTIES = ("highway", "class", "road_class")
_GENERIC_ONEWAY = {"yes": 1, "true": 1, "1": 1, "-1": -1, "reverse": -1, "no": 0, "false": 0}


def normalise_id(value: Any) -> str | None:
    """A feature or property id as text: ``1094.0`` becomes ``"1094"``; None when unusable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # Shapefile-born exports store integer ids as doubles.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None  # lists and objects are not ids


def flag_text(value: Any) -> str:
    """A flag-like value as lower-case text (``True`` -> ``"true"``, ``0.0`` -> ``"0"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return (normalise_id(value) or "").lower()


def lower_keys(props: Mapping[str, Any]) -> dict[str, str]:
    """Lower-case property name -> the name as spelt in the file (first spelling wins)."""
    out: dict[str, str] = {}
    for key in props:
        out.setdefault(key.lower(), key)
    return out


def first_value(props: Mapping[str, Any], names: Iterable[str]) -> Any:
    """The first non-empty value among ``names`` (matched case-insensitively)."""
    keys = lower_keys(props)
    for name in names:
        key = keys.get(name.lower())
        if key is None:
            continue
        value = props[key]
        if value is not None and value != "":
            return value
    return None


def feature_id(feature: Mapping[str, Any], props: Mapping[str, Any]) -> str | None:
    """The feature's ``id`` member, else its OBJECTID, GlobalID or ID property."""
    found = normalise_id(feature.get("id"))
    if found is not None:
        return found
    return normalise_id(first_value(props, _ID_PROPERTIES))


def text_value(value: Any, limit: int = MAX_NAME_LENGTH) -> str | None:
    """A property value as a display string (ids normalised), cut to ``limit``."""
    text = normalise_id(value)
    return None if text is None else text[:limit]


def asset_name(props: Mapping[str, Any]) -> str | None:
    """An asset's label: a name/label property, else its hydrant, pole or location id."""
    return text_value(first_value(props, _NAME_PROPERTIES))


def check_kind(kind: str) -> str | None:
    """``kind`` when it is a valid asset kind (snake_case, at most 40 letters), else None."""
    return kind if _KIND_PATTERN.fullmatch(kind) else None


def layer_kind(property_names: Iterable[str], layer_names: Iterable[str]) -> str | None:
    """The asset kind a point layer holds, from its property names, else its names."""
    lowered = {name.lower() for name in property_names}
    for kind, marks in _KIND_BY_PROPERTY:
        if lowered & marks:
            return kind
    letters = " ".join(re.sub(r"[^a-z]", "", name.lower()) for name in layer_names)
    for kind, words in _KIND_BY_NAME:
        if any(word in letters for word in words):
            return kind
    return None


def feature_kind(props: Mapping[str, Any]) -> str | None:
    """The asset kind an OSM-tagged feature says it is, if any."""
    for (key, value), kind in _KIND_BY_OSM_TAG.items():
        if props.get(key) == value:
            return kind
    return None


@dataclass(slots=True)
class StatusReading:
    """An asset status and whether the lifecycle value was one we know."""

    status: str
    known: bool


def asset_status(props: Mapping[str, Any]) -> StatusReading:
    """``ok`` or ``out_of_service`` from a lifecycle code or an ENABLED flag.

    An unknown lifecycle code leaves the asset ``ok`` (the model's default) and
    is reported, so a new code is noticed rather than silently mapped.
    """
    if flag_text(first_value(props, ("enabled",))) in {"0", "false", "f", "n", "no"}:
        return StatusReading("out_of_service", True)
    code = first_value(props, _LIFECYCLE_PROPERTIES)
    if code is None:
        return StatusReading("ok", True)
    text = str(code).strip().lower()
    if text in _OUT_OF_SERVICE:
        return StatusReading("out_of_service", True)
    return StatusReading("ok", text in _IN_SERVICE)


@dataclass(slots=True)
class DateReading:
    """An install date, or why a present value gave none (``implausible``/``unparseable``)."""

    value: date | None = None
    problem: str | None = None


def install_date(props: Mapping[str, Any], today: date) -> DateReading:
    """The install date, from epoch milliseconds (ArcGIS exports) or an ISO date string.

    Dates before 1850 or after ``today`` are impossible and dropped: the asset
    is kept, the raw value stays in its attributes, and the caller counts it.
    """
    raw = first_value(props, _INSTALL_DATE_PROPERTIES)
    if raw is None:
        return DateReading()
    found: date | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            # ArcGIS writes dates as UTC epoch milliseconds; negative is before 1970.
            found = (_EPOCH + timedelta(milliseconds=raw)).date()
        except (OverflowError, ValueError):
            return DateReading(problem="unparseable")
    elif isinstance(raw, str):
        match = _ISO_DATE.match(raw.strip())
        if match is None:
            return DateReading(problem="unparseable")
        try:
            found = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return DateReading(problem="unparseable")
    else:
        return DateReading(problem="unparseable")
    if not EARLIEST_INSTALL_DATE <= found <= today:
        return DateReading(problem="implausible")
    return DateReading(found)


@dataclass(slots=True)
class RoadReading:
    """The routing fields of one road feature."""

    road_class: str
    oneway: int
    name: str | None
    oneway_known: bool = True


def is_cambridge_centerlines(property_names: Iterable[str]) -> bool:
    """True for a line layer with the Cambridge centerline schema (node topology + Direction)."""
    return {"FromNode", "ToNode", "Direction"} <= set(property_names)


def cambridge_road(props: Mapping[str, Any]) -> RoadReading:
    """Class, one-way and name of a Cambridge TRANS_Centerlines segment.

    ``Restriction`` is the truck restriction (T/F), not one-way coding: the
    attribute dictionary says so and it is set on two-way segments alike, so
    it stays in the attributes only.
    """
    name = text_value(first_value(props, ("Street", "Label", "Street_Name")))
    major = normalise_id(props.get("MajorRoad"))
    if name is not None and "footbridge" in name.lower():
        road_class = "footway"  # Weeks Footbridge: in the street layer, never driven
    else:
        road_class = _CAMBRIDGE_MAJOR.get(major or "", "residential")
    direction = _CAMBRIDGE_DIRECTION.get(normalise_id(props.get("Direction")) or "")
    if direction is None:
        # Missing coding: two-way is the only choice that keeps the segment
        # routable; the count is reported so the gap is visible.
        return RoadReading(road_class, 0, name, oneway_known=False)
    return RoadReading(road_class, direction, name)


def generic_road(props: Mapping[str, Any]) -> RoadReading:
    """Class (highway/class/road_class, else ``unclassified``), OSM-style one-way and name."""
    raw_class = text_value(first_value(props, _GENERIC_CLASS_PROPERTIES), limit=40)
    road_class = raw_class.lower() if raw_class else "unclassified"
    oneway_raw = first_value(props, ("oneway",))
    oneway = 0
    known = True
    if oneway_raw is not None:
        mapped = _GENERIC_ONEWAY.get(flag_text(oneway_raw))
        known = mapped is not None
        oneway = mapped or 0
    name = text_value(first_value(props, ("name", "street", "label")))
    return RoadReading(road_class, oneway, name, oneway_known=known)
