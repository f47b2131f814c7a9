"""Column mappings for 311 service-request CSVs: Boston built in, other cities from JSON.

A mapping names, for each Open311 (GeoReport v2) field of an issue, the CSV
column that holds it, and says how to read the city's dates. A mapping
*matches* a file when every column it names is in the file's header; a CSV
that matches no mapping is not a 311 file.

``--mapping FILE`` gives a JSON object with these keys. It is taken as a 311
mapping when it has a ``requested_at`` key (mappings for other importers, such
as water mains, are ignored here); unknown keys are refused so a typo is loud.

Required (column names):

``name``
    Not a column: the ``source`` stored on every issue (e.g. ``"chicago-311"``);
    ids are unique per source, so each city needs its own name.
``source_id``, ``requested_at``, ``category``, ``lat``, ``lon``
    The request id, the time it was opened, the service name (Open311
    ``service_name``), and WGS84 latitude/longitude in decimal degrees.

Optional (column names; leave out what the city does not publish):

``closed_at``, ``expected_at``, ``updated_at``
    When the request was closed, when it is expected to be done, when it last
    changed. Without ``updated_at`` the issue's ``updated_at`` is its closing
    time, else its opening time (the last change the export tells of).
``status``
    The city's status; a value in ``closed_values`` (case-insensitive) is
    Open311 ``closed``, any other value ``open``. Without a status column (or
    with an empty value) a request with a closing time is closed.
``service_code``, ``description``, ``status_notes``, ``address``, ``channel``
    Open311 fields; ``channel`` is how the request came in and is normalised
    (see :func:`normalise_channel`), ``address`` has runs of spaces made into
    ``", "``. The raw values stay in ``attributes`` under their column names.
``agency``
    A column name or a list of them: the first non-empty one is the agency.

Reading options:

``date_format``
    A ``strptime`` format or a list of them tried in order; ``"iso"`` means
    ISO 8601 (an offset in the value is honoured). Default: Boston's
    ``"%m/%d/%Y %I:%M:%S %p"`` (12-hour clock).
``tz``
    IANA zone of times without an offset. ``--tz`` wins over it; without
    either the zone is found from the data's location (timezonefinder), and
    UTC where that finds none (e.g. at sea).
``closed_values``
    Status values meaning closed (default ``["closed"]``).
``channels``
    ``{raw value: channel}`` overrides for :func:`normalise_channel`.
``encoding`` (default ``"utf-8-sig"``), ``delimiter`` (default ``","``).

Location checks (see ``open311_csv`` for the rules):

``extent``
    ``[min_lon, min_lat, max_lon, max_lat]`` of the city: rows outside are
    skipped. Without it, rows farther than ``max_km_from_center`` (default 50)
    from the median point of the file are skipped.
``placeholder_min_rows`` (10), ``placeholder_share`` (0.02),
``placeholder_min_addresses`` (5)
    Thresholds of the placeholder-geocode rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from backend.importers.base import ImportRefused

BOSTON_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"

#: Mapping keys that name a column, and those of them every mapping must have.
COLUMN_KEYS = (
    "source_id",
    "requested_at",
    "category",
    "lat",
    "lon",
    "closed_at",
    "expected_at",
    "updated_at",
    "status",
    "service_code",
    "description",
    "status_notes",
    "address",
    "channel",
    "agency",
)
REQUIRED_KEYS = ("name", "source_id", "requested_at", "category", "lat", "lon")


@dataclass(frozen=True, slots=True)
class Open311Mapping:
    """Which CSV column holds which issue field, and how to read the city's values."""

    name: str
    source_id: str
    requested_at: str
    category: str
    lat: str
    lon: str
    closed_at: str | None = None
    expected_at: str | None = None
    updated_at: str | None = None
    status: str | None = None
    service_code: str | None = None
    description: str | None = None
    status_notes: str | None = None
    address: str | None = None
    channel: str | None = None
    agency: tuple[str, ...] = ()
    date_format: tuple[str, ...] = (BOSTON_DATE_FORMAT,)
    tz: str | None = None
    closed_values: frozenset[str] = frozenset({"closed"})
    channels: Mapping[str, str] = field(default_factory=dict)
    extent: tuple[float, float, float, float] | None = None
    max_km_from_center: float = 50.0
    placeholder_min_rows: int = 10
    placeholder_share: float = 0.02
    placeholder_min_addresses: int = 5
    encoding: str = "utf-8-sig"
    delimiter: str = ","

    def columns(self) -> list[str]:
        """Every column this mapping names (a matching header has them all)."""
        named: list[str] = []
        for key in COLUMN_KEYS:
            value = getattr(self, key)
            if isinstance(value, tuple):
                named.extend(value)
            elif value:
                named.append(value)
        return named

    def missing(self, header: Sequence[str]) -> list[str]:
        """The named columns that ``header`` lacks."""
        present = set(header)
        return [c for c in self.columns() if c not in present]

    def matches(self, header: Sequence[str]) -> bool:
        """True when ``header`` has every column this mapping names."""
        return bool(header) and not self.missing(header)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Open311Mapping:
        """A mapping from its JSON form; a clear :class:`ImportRefused` when it is wrong."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ImportRefused(
                f"311 column mapping: unknown keys {unknown} (known: {sorted(known)})"
            )
        absent = [k for k in REQUIRED_KEYS if not data.get(k)]
        if absent:
            raise ImportRefused(f"311 column mapping: required keys missing or empty: {absent}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            kwargs[key] = _convert(key, value)
        return cls(**kwargs)


def _convert(key: str, value: Any) -> Any:
    """One JSON mapping value in the dataclass's form, or ImportRefused."""

    def fail(expected: str) -> ImportRefused:
        return ImportRefused(f"311 column mapping: {key!r} must be {expected}, not {value!r}")

    if key in ("agency", "date_format", "closed_values"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
            raise fail("a string or a non-empty list of strings")
        if key == "closed_values":
            return frozenset(v.strip().lower() for v in items)
        return tuple(items)
    if key == "channels":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise fail("an object of strings")
        return dict(value)
    if key == "extent":
        if (
            not isinstance(value, list)
            or len(value) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not (value[0] < value[2] and value[1] < value[3])
        ):
            raise fail("[min_lon, min_lat, max_lon, max_lat]")
        return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))
    if key in ("max_km_from_center", "placeholder_share"):
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise fail("a positive number")
        return float(value)
    if key in ("placeholder_min_rows", "placeholder_min_addresses"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise fail("a positive integer")
        return value
    if key == "delimiter":
        if not isinstance(value, str) or len(value) != 1:
            raise fail("one character")
        return value
    if key == "tz" and value is None:
        return None
    if not isinstance(value, str) or not value:
        raise fail("a non-empty string")
    return value


#: The City of Boston's 311 export (data.boston.gov "311 Service Requests").
BOSTON = Open311Mapping(
    name="boston-311",
    source_id="CASE_ENQUIRY_ID",
    requested_at="OPEN_DT",
    expected_at="TARGET_DT",
    closed_at="CLOSED_DT",
    status="CASE_STATUS",
    category="TYPE",
    description="CASE_TITLE",
    status_notes="CLOSURE_REASON",
    address="Location",
    lat="LATITUDE",
    lon="LONGITUDE",
    channel="Source",
    agency=("Department", "QUEUE"),
)

#: Built-in mappings, tried in this order when a file is sniffed.
BUILTIN_MAPPINGS: tuple[Open311Mapping, ...] = (BOSTON,)


def mapping_from_options(data: Mapping[str, Any] | None) -> Open311Mapping | None:
    """The 311 mapping in ``--mapping``'s JSON, or None when it is absent or meant elsewhere."""
    if not data or "requested_at" not in data:
        return None
    return Open311Mapping.from_dict(data)


# Checked in order: the first rule with a matching word wins, so "City Worker
# App" is an employee report before it is an app report.
_CHANNEL_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("twitter", ("twitter", "tweet")),
    ("social", ("facebook", "social media", "instagram")),
    ("employee", ("employee", "worker", "staff", "internal", "crew", "inspector")),
    ("integration", ("integration", "maximo", "api", "sensor", "automated", "system")),
    ("phone", ("call", "phone", "telephone", "voice", "hotline")),
    ("email", ("email", "e mail")),
    ("self-service", ("self service", "web", "website", "online", "portal", "internet")),
    ("app", ("app", "mobile", "iphone", "android", "citizens connect")),
    ("in-person", ("walk in", "counter", "in person", "letter")),
)


def normalise_channel(raw: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """How a request came in, as one of a few words: app, phone, employee, twitter,
    self-service, email, social, integration, in-person, or ``other``; None if empty.
    """
    text = raw.strip()
    if not text:
        return None
    if overrides and text in overrides:
        return overrides[text][:40]
    words = " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "
    for channel, keywords in _CHANNEL_RULES:
        if any(f" {kw} " in words for kw in keywords):
            return channel
    return "other"
