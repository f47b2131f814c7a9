"""311 service-request CSV exports (Boston built in, other cities by column mapping).

Each row becomes an ``issues`` row (Open311 GeoReport v2 fields) with every
source column kept in ``attributes`` under its own name. Column mappings and
their JSON keys are described in :mod:`backend.importers.open311_mapping`.

What is refused (:class:`ImportRefused`, nothing of the file is written):

* NUL bytes (a binary file), text that is not in the mapping's encoding, a
  header that matches no mapping;
* a file cut short: the last record has the wrong number of fields and the
  file does not end with a line break (cut mid-row), or a quoted field is
  never closed (cut mid-field, or a stray quote swallowing the rest).

What is skipped (counted in ``summary.skipped`` by reason, one reason a row):

``malformed_row`` / ``wrong_field_count``
    bad quoting on one line; a complete line with too many or too few fields.
``missing_id`` / ``id_too_long`` / ``duplicate_id``
    the first row of an id is kept, later ones are skipped.
``missing_coordinates`` / ``bad_coordinates``
    empty, unparseable, outside WGS84, or (0, 0).
``placeholder_geocode``
    a geocoder's fallback point (below).
``outside_city_extent``
    outside the mapping's ``extent``, else farther than ``max_km_from_center``
    (50 km) from the median point of the file's other rows.
``missing_category`` / ``missing_requested_at`` / ``bad_date``
    an empty service name or opening time; a date no format parses.
``nonexistent_local_time``
    a local time inside a spring-forward gap (02:30 on a DST start day never
    happened on the city's clocks): an impossible timestamp, not guessed.
``implausible_date``
    an opening, closing or update time before 1990 or more than a day in the
    future, or a target time before 1990 (placeholder dates such as 1900).
``closed_before_opened``
    the closing time precedes the opening time.

Placeholder geocodes. Boston geocodes a request it cannot place to City Hall,
42.3594 -71.0587 (1,039 of 7,956 street-light rows), and so do other cities
with their own point. The rule, per file, on rows with valid coordinates: an
exact coordinate shared by at least ``placeholder_min_rows`` (10) rows is a
placeholder when those rows either name at least
``placeholder_min_addresses`` (5) different addresses (a geocoder's fallback,
not a place), or hold at least ``placeholder_share`` (2 %) of the file while
not all naming one and the same address. The exception keeps a real hotspot:
35 reports at one busy intersection, all with its address, are real.

Times. Local times without an offset are in the zone from ``--tz``, else the
mapping's ``tz``, else the zone at the data's median point (timezonefinder,
land only), else UTC; the summary's notes say which. They are stored in UTC.
A local time that occurs twice (the fall-back hour) is read as its first
occurrence (``fold=0``, daylight time), except a closing or update time whose
first reading would precede the opening time while its second (``fold=1``)
does not: only the second reading is consistent with the record. Each row that
needed this names the columns in ``attributes["_import"]["ambiguous_local_time"]``.
A time in the spring-forward gap does not exist and the row is skipped.

Status is Open311's ``open`` or ``closed``; ``updated_at`` is the mapped
column, else the closing time, else the opening time.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from backend.db.models import Issue
from backend.importers.base import (
    ImportOptions,
    ImportRefused,
    ImportSummary,
    csv_header,
    insert_new,
)
from backend.importers.open311_mapping import (
    BOSTON_DATE_FORMAT,
    BUILTIN_MAPPINGS,
    Open311Mapping,
    mapping_from_options,
    normalise_channel,
)
from backend.importers.rows import valid_lon_lat

log = logging.getLogger(__name__)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
#: Skipped line numbers kept per reason in the summary's notes (all are logged at DEBUG).
EXAMPLES_PER_REASON = 20
_US_12H = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AaPp][Mm])")
_FLOAT_ID = re.compile(r"^(\d+)\.0+$")
_SPACES = re.compile(r"\s{2,}")
# Column limits of ``issues`` (PostgreSQL enforces them; the full value stays in attributes).
_LIMITS = {"category": 120, "service_code": 80, "address": 300, "agency": 120}


class LocalTime(NamedTuple):
    """One parsed time in UTC; ``later`` is the second reading of an ambiguous local time."""

    utc: datetime | None
    later: datetime | None = None
    problem: str | None = None  # bad_date, nonexistent_local_time, ambiguous


class LocalTimeParser:
    """Reads a city's date texts as UTC instants, caching repeated values (targets repeat)."""

    def __init__(self, formats: tuple[str, ...], zone: ZoneInfo) -> None:
        self.formats = formats
        self.zone = zone
        self._cache: dict[str, LocalTime] = {}

    def parse(self, text: str) -> LocalTime:
        """The UTC time of ``text``; ``problem`` says why there is none, or that it is ambiguous."""
        hit = self._cache.get(text)
        if hit is None:
            hit = self._cache[text] = self._parse(text)
        return hit

    def _parse(self, text: str) -> LocalTime:
        for fmt in self.formats:
            try:
                if fmt == "iso":
                    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
                elif fmt == BOSTON_DATE_FORMAT:
                    value = parse_us_12h(text)
                else:
                    value = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return to_utc(value, self.zone)
        return LocalTime(None, None, "bad_date")


def parse_us_12h(text: str) -> datetime:
    """``"01/01/2015 12:25:23 AM"`` as a naive datetime; ValueError when it is not one.

    What ``strptime(text, "%m/%d/%Y %I:%M:%S %p")`` does, five times faster: most
    opening times are unique, so the cache does not spare the parsing.
    """
    match = _US_12H.fullmatch(text)
    if match is None:
        raise ValueError(f"not MM/DD/YYYY hh:mm:ss AM/PM: {text!r}")
    month, day, year, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not 1 <= hour <= 12:
        raise ValueError(f"hour {hour} on a 12-hour clock: {text!r}")
    hour %= 12  # 12 AM is midnight, 12 PM is noon
    if match.group(7).upper() == "PM":
        hour += 12
    return datetime(year, month, day, hour, minute, second)  # checks the calendar


def to_utc(value: datetime, zone: ZoneInfo) -> LocalTime:
    """``value`` in UTC; a naive value is local time in ``zone``, DST gaps and folds found."""
    if value.tzinfo is not None:
        return LocalTime(value.astimezone(UTC))
    first = value.replace(tzinfo=zone, fold=0)
    second = value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return LocalTime(first.astimezone(UTC))
    utc_first = first.astimezone(UTC)
    # A wall time in a spring-forward gap does not survive the round trip.
    if utc_first.astimezone(zone).replace(tzinfo=None) != value:
        return LocalTime(None, None, "nonexistent_local_time")
    utc_second = second.astimezone(UTC)
    early, late = sorted((utc_first, utc_second))
    return LocalTime(early, late, "ambiguous")


@dataclass(slots=True)
class _Candidate:
    """A row that passed the id and coordinate checks, waiting for the file-wide ones."""

    line: int
    fields: list[str]
    source_id: str
    lat: float
    lon: float


class Open311CsvImporter:
    """311 service-request CSVs: recognised by a mapping that matches the header."""

    name = "open311_csv"
    order = 50  # after inventories (assets), so later linking finds them

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the header matches a built-in mapping (Boston's)."""
        header = csv_header(head)
        return any(m.matches(header) for m in BUILTIN_MAPPINGS)

    def sniff_with_options(self, path: Path, head: bytes, options: ImportOptions) -> bool:
        """True when ``--mapping`` is a 311 mapping that matches the header."""
        mapping = mapping_from_options(options.mapping)
        if mapping is None:
            return False
        return mapping.matches(_header(head, mapping))

    def run(self, path: Path, session: Session, options: ImportOptions) -> ImportSummary:
        """Read ``path`` whole, check every row, and bulk-insert the good ones."""
        raw = path.read_bytes()
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise ImportRefused(f"{path.name}: binary data (NUL byte at offset {nul})")
        mapping, header, records, ends_cleanly = _open(path, raw, options)
        summary = ImportSummary()
        skipped_lines: dict[str, list[int]] = defaultdict(list)

        def skip(reason: str, line: int, detail: str = "") -> None:
            summary.skip(reason)
            if len(skipped_lines[reason]) < EXAMPLES_PER_REASON:
                skipped_lines[reason].append(line)
            log.debug("%s line %d skipped: %s %s", path.name, line, reason, detail)

        candidates = _first_pass(mapping, header, records, ends_cleanly, path, skip)
        placeholders = find_placeholders(candidates, header, mapping)
        located = [c for c in candidates if (c.lat, c.lon) not in placeholders]
        for c in candidates:
            if (c.lat, c.lon) in placeholders:
                skip("placeholder_geocode", c.line, f"{c.lat},{c.lon}")
        center = _center(located)
        inside: list[_Candidate] = []
        for c in located:
            if _inside(c, mapping, center):
                inside.append(c)
            else:
                skip("outside_city_extent", c.line, f"{c.lat},{c.lon}")
        zone, zone_from = _zone(options, mapping, center)
        builder = _RowBuilder(mapping, header, zone)
        rows: list[dict[str, Any]] = []
        for c in inside:
            row = builder.build(c)
            if isinstance(row, str):
                skip(row, c.line, c.source_id)
            else:
                rows.append(row)
        insert_new(session, Issue, rows, summary, "issues")
        summary.notes.update(
            {
                "mapping": mapping.name,
                "tz": zone.key,
                "tz_from": zone_from,
                "placeholder_geocodes": [
                    f"{lat},{lon} ({n} rows)" for (lat, lon), n in sorted(placeholders.items())
                ],
            }
        )
        if builder.ambiguous:
            summary.notes["ambiguous_local_times"] = builder.ambiguous
        if skipped_lines:
            summary.notes["skipped_lines"] = {path.name: dict(sorted(skipped_lines.items()))}
        return summary


def _header(head: bytes, mapping: Open311Mapping) -> list[str]:
    """The header of a file's first bytes read with ``mapping``'s encoding and delimiter."""
    if mapping.delimiter == "," and mapping.encoding.startswith("utf"):
        return csv_header(head)
    text = head.decode(mapping.encoding, errors="replace").split("\n", 1)[0].strip("\r")
    try:
        return [c.strip() for c in next(csv.reader([text], delimiter=mapping.delimiter))]
    except (StopIteration, csv.Error):
        return []


def _open(
    path: Path, raw: bytes, options: ImportOptions
) -> tuple[Open311Mapping, list[str], list[tuple[int, list[str] | None]], bool]:
    """The mapping that matches the file, its header, its records and whether it ends cleanly.

    ``--mapping`` is tried before the built-in mappings.
    """
    custom = mapping_from_options(options.mapping)
    candidates = ([custom] if custom else []) + list(BUILTIN_MAPPINGS)
    decode_error: str | None = None
    missing: dict[str, list[str]] = {}
    for mapping in candidates:
        try:
            text = raw.decode(mapping.encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            decode_error = f"cannot decode as {mapping.encoding}: {exc}"
            continue
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter, strict=True)
        try:
            header = [c.strip() for c in next(reader)]
        except (StopIteration, csv.Error):
            continue
        if not mapping.matches(header):
            missing[mapping.name] = mapping.missing(header)
            continue
        records = _records(reader, path)
        return mapping, _unique_keys(header), records, text.endswith(("\n", "\r"))
    if decode_error and not missing:
        raise ImportRefused(f'{path.name}: {decode_error} (set "encoding" in --mapping)')
    raise ImportRefused(
        f"{path.name}: the header matches no 311 column mapping (missing {missing})"
    )


def _records(reader: Any, path: Path) -> list[tuple[int, list[str] | None]]:
    """Every record after the header with its line number; None for a malformed line."""
    records: list[tuple[int, list[str] | None]] = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            message = str(exc)
            if "unexpected end of data" in message or "field larger" in message:
                raise ImportRefused(
                    f"{path.name}: truncated or corrupt: a quoted field opened near line "
                    f"{reader.line_num} is never closed ({message})"
                ) from exc
            records.append((reader.line_num, None))
            continue
        if fields:  # a blank line is no record
            records.append((reader.line_num, fields))


def _unique_keys(header: list[str]) -> list[str]:
    """Attribute keys for the columns: blank names numbered, repeated names suffixed."""
    seen: Counter[str] = Counter()
    keys: list[str] = []
    for index, name in enumerate(header, start=1):
        key = name or f"_col{index}"
        seen[key] += 1
        keys.append(key if seen[key] == 1 else f"{key}_{seen[key]}")
    return keys


def _first_pass(
    mapping: Open311Mapping,
    header: list[str],
    records: list[tuple[int, list[str] | None]],
    ends_cleanly: bool,
    path: Path,
    skip: Any,
) -> list[_Candidate]:
    """Rows with the right shape, a new id and usable coordinates."""
    width = len(header)
    i_id, i_lat, i_lon = (header.index(c) for c in (mapping.source_id, mapping.lat, mapping.lon))
    seen: set[str] = set()
    out: list[_Candidate] = []
    for n, (line, fields) in enumerate(records):
        if fields is None:
            skip("malformed_row", line)
            continue
        if len(fields) != width:
            if n == len(records) - 1 and not ends_cleanly:
                raise ImportRefused(
                    f"{path.name}: truncated: the last row (line {line}) has {len(fields)} of "
                    f"{width} fields and the file ends mid-row"
                )
            skip("wrong_field_count", line, f"{len(fields)} of {width}")
            continue
        source_id = normalise_id(fields[i_id])
        if not source_id:
            skip("missing_id", line)
            continue
        if len(source_id) > 120:
            skip("id_too_long", line)
            continue
        if source_id in seen:
            skip("duplicate_id", line, source_id)
            continue
        seen.add(source_id)
        lat_text, lon_text = fields[i_lat].strip(), fields[i_lon].strip()
        if not lat_text or not lon_text:
            skip("missing_coordinates", line, source_id)
            continue
        if not valid_lon_lat(lon_text, lat_text):
            skip("bad_coordinates", line, f"{lat_text},{lon_text}")
            continue
        out.append(_Candidate(line, fields, source_id, float(lat_text), float(lon_text)))
    return out


def normalise_id(text: str) -> str:
    """A source id as text; ids exported as floats ("101001240735.0") lose the ".0"."""
    text = text.strip()
    if "." not in text:
        return text
    match = _FLOAT_ID.match(text)
    return match.group(1) if match else text


def find_placeholders(
    rows: list[_Candidate], header: list[str], mapping: Open311Mapping
) -> dict[tuple[float, float], int]:
    """Placeholder geocodes of a file and how many rows sit on each (rule in the module doc)."""
    counts = Counter((c.lat, c.lon) for c in rows)
    heavy = {p for p, n in counts.items() if n >= mapping.placeholder_min_rows}
    if not heavy:
        return {}
    addresses: dict[tuple[float, float], set[str]] = defaultdict(set)
    if mapping.address:
        i_addr = header.index(mapping.address)
        for c in rows:
            point = (c.lat, c.lon)
            if point in heavy:
                address = " ".join(c.fields[i_addr].lower().split())
                if address:
                    addresses[point].add(address)
    total = len(rows)
    found: dict[tuple[float, float], int] = {}
    for point in heavy:
        n, distinct = counts[point], len(addresses[point])
        if distinct >= mapping.placeholder_min_addresses or (
            n / total >= mapping.placeholder_share and distinct != 1
        ):
            found[point] = n
    return found


def _center(rows: list[_Candidate]) -> tuple[float, float] | None:
    """The median (lat, lon) of the rows: robust to the odd far-away point."""
    if not rows:
        return None
    return statistics.median(c.lat for c in rows), statistics.median(c.lon for c in rows)


def _inside(c: _Candidate, mapping: Open311Mapping, center: tuple[float, float] | None) -> bool:
    """Whether a row lies in the city: its extent, else near the file's median point."""
    if mapping.extent is not None:
        min_lon, min_lat, max_lon, max_lat = mapping.extent
        return min_lon <= c.lon <= max_lon and min_lat <= c.lat <= max_lat
    if center is None:
        return True
    lat0, lon0 = center
    # Equirectangular distance: exact enough at city scale, and cheap.
    dx = (c.lon - lon0) * 111.32 * math.cos(math.radians(lat0))
    dy = (c.lat - lat0) * 110.57
    return math.hypot(dx, dy) <= mapping.max_km_from_center


def _zone(
    options: ImportOptions, mapping: Open311Mapping, center: tuple[float, float] | None
) -> tuple[ZoneInfo, str]:
    """The zone of the file's local times and where it came from."""
    for name, origin in ((options.tz, "option"), (mapping.tz, "mapping")):
        if name:
            try:
                return ZoneInfo(name), origin
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ImportRefused(f"unknown time zone {name!r} (use an IANA name)") from exc
    if center is not None:
        from timezonefinder import timezone_at_land

        found = timezone_at_land(lng=center[1], lat=center[0])
        if found:
            return ZoneInfo(found), "location"
    return ZoneInfo("UTC"), "default"


class _RowBuilder:
    """Turns a located row into an ``issues`` row, or the reason it is skipped."""

    def __init__(self, mapping: Open311Mapping, header: list[str], zone: ZoneInfo) -> None:
        self.mapping = mapping
        self.header = header
        self.times = LocalTimeParser(mapping.date_format, zone)
        self.latest = datetime.now(UTC) + timedelta(days=1)
        self.ambiguous = 0
        self._channels: dict[str, str | None] = {}

        def index(column: str | None) -> int | None:
            return None if column is None else header.index(column)

        self.i_requested = header.index(mapping.requested_at)
        self.i_category = header.index(mapping.category)
        self.i_closed = index(mapping.closed_at)
        self.i_expected = index(mapping.expected_at)
        self.i_updated = index(mapping.updated_at)
        self.i_status = index(mapping.status)
        self.i_code = index(mapping.service_code)
        self.i_description = index(mapping.description)
        self.i_notes = index(mapping.status_notes)
        self.i_address = index(mapping.address)
        self.i_channel = index(mapping.channel)
        self.i_agency = [header.index(c) for c in mapping.agency]

    def build(self, c: _Candidate) -> dict[str, Any] | str:
        """The row to insert, or a skip reason."""
        f = c.fields
        category = f[self.i_category].strip()
        if not category:
            return "missing_category"
        requested_text = f[self.i_requested].strip()
        if not requested_text:
            return "missing_requested_at"
        requested = self.times.parse(requested_text)
        if requested.utc is None:
            return requested.problem or "bad_date"
        opened = requested.utc
        ambiguous: list[str] = []
        if requested.problem == "ambiguous":
            ambiguous.append(self.header[self.i_requested])
        times: dict[str, datetime | None] = {}
        for key, i in (
            ("closed_at", self.i_closed),
            ("updated_at", self.i_updated),
            ("expected_at", self.i_expected),
        ):
            text = "" if i is None else f[i].strip()
            if not text:
                times[key] = None
                continue
            parsed = self.times.parse(text)
            if parsed.utc is None:
                return parsed.problem or "bad_date"
            value = parsed.utc
            if parsed.problem == "ambiguous":
                assert i is not None and parsed.later is not None
                ambiguous.append(self.header[i])
                # The second reading only when the first contradicts the opening time.
                if key != "expected_at" and value < opened <= parsed.later:
                    value = parsed.later
            times[key] = value
        closed, updated, expected = times["closed_at"], times["updated_at"], times["expected_at"]
        for moment in (opened, closed, updated):
            if moment is not None and not (EARLIEST <= moment <= self.latest):
                return "implausible_date"
        if expected is not None and expected < EARLIEST:
            return "implausible_date"
        if closed is not None and closed < opened:
            return "closed_before_opened"
        attributes: dict[str, Any] = dict(zip(self.header, f, strict=True))
        if ambiguous:
            self.ambiguous += 1
            attributes["_import"] = {"ambiguous_local_time": ambiguous}
        return {
            "source": self.mapping.name,
            "source_id": c.source_id,
            "category": _fit(category, "category"),
            "service_code": _fit(self._text(f, self.i_code), "service_code"),
            "description": self._text(f, self.i_description),
            "lon": c.lon,
            "lat": c.lat,
            "address": _fit(_address(self._text(f, self.i_address)), "address"),
            "status": self._status(f, closed),
            "status_notes": self._text(f, self.i_notes),
            "requested_at": opened,
            "updated_at": updated or closed or opened,
            "expected_at": expected,
            "closed_at": closed,
            "channel": self._channel(f),
            "agency": _fit(
                next((f[i].strip() for i in self.i_agency if f[i].strip()), None), "agency"
            ),
            "attributes": attributes,
            "version": 1,
        }

    def _channel(self, f: list[str]) -> str | None:
        """The normalised channel (a handful of raw values repeat thousands of times)."""
        raw = "" if self.i_channel is None else f[self.i_channel]
        channel = self._channels.get(raw, "?")
        if channel == "?":
            channel = self._channels[raw] = normalise_channel(raw, self.mapping.channels)
        return channel

    @staticmethod
    def _text(f: list[str], i: int | None) -> str | None:
        """A trimmed optional field, None when the column is unmapped or the value empty."""
        if i is None:
            return None
        return f[i].strip() or None

    def _status(self, f: list[str], closed: datetime | None) -> str:
        """Open311 status: the city's value when it has one, else whether it was closed."""
        value = "" if self.i_status is None else f[self.i_status].strip().lower()
        if value:
            return "closed" if value in self.mapping.closed_values else "open"
        return "closed" if closed is not None else "open"


def _address(text: str | None) -> str | None:
    """Boston separates address parts with runs of spaces; show them as commas."""
    return None if text is None else _SPACES.sub(", ", text)


def _fit(text: str | None, column: str) -> str | None:
    """``text`` cut to its column's length (the full value stays in attributes)."""
    limit = _LIMITS[column]
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


IMPORTER = Open311CsvImporter()
