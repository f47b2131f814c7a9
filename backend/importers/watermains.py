"""Water main inventories (pipes) and what they share with the break-record importer.

The City of Kitchener publishes its water mains as ``Water_Mains.csv`` (one row
per pipe segment, no geometry) and its breaks as ``Water_Main_Breaks.csv``
(one row per incident, with a lon/lat point and ``ASSETID`` naming the pipe by
``WATMAINID``). This module imports the inventory; ``watermain_breaks`` imports
the breaks. They are two importers because the registry runs files in
``order``: an inventory must be written before the breaks given in the same
command, so that breaks find their pipes.

Rules that span both files:

* A pipe takes the mean location of its breaks (its own and its predecessors':
  the id names the same place in the network). Pipes without any break keep
  ``lon``/``lat`` NULL and are counted, never dropped.
* Pipe ids are reused when a main is replaced: a break dated before the current
  pipe's install date happened to its predecessor and is stored as a
  ``predecessor_failure`` on that asset, never as a ``failure``.
* A break whose pipe is not in the inventory is an ``unmatched_failure``
  (``asset_id`` NULL, the pipe id kept in its attributes). Importing the
  inventory later relinks such events with the same predecessor rule.

Column mapping (``--mapping FILE``, a JSON object) for other cities: each key
is a role below, each value the city's column name; ``"source"`` sets the
source name stored on every row (default ``kitchener-watermains``).

* inventory: ``pipe_id`` (WATMAINID), ``install_date`` (INSTALLATION_DATE),
  ``material`` (MATERIAL), ``diameter`` (PIPE_SIZE), ``length`` (Shape__Length),
  ``label`` (MAP_LABEL)
* breaks: ``break_id`` (WATBREAKINCIDENTID), ``break_pipe_id`` (ASSETID),
  ``break_date`` (INCIDENT_DATE), ``x`` (X, longitude), ``y`` (Y, latitude),
  ``break_type`` (BREAK_TYPE), ``nature`` (BREAK_NATURE), ``cause``
  (BREAK_APPARENT_CAUSE), ``repair`` (REPAIR_TYPE), ``address_number``
  (CIVIC_NUMBER), ``street`` (STREET)

Every source column is kept in ``attributes`` under its own name either way.
Files are recognised by their header: a mapped file is recognised when its
header carries the Kitchener names or the role names above (rename the header
row otherwise); the mapping then applies when it is read.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db.models import Asset, AssetEvent
from backend.importers.base import (
    ImportOptions,
    ImportRefused,
    ImportSummary,
    csv_header,
    insert_new,
)
from backend.importers.rows import asset_row

SOURCE = "kitchener-watermains"
ASSET_KIND = "water_main"
BREAK_KINDS = ("failure", "predecessor_failure", "unmatched_failure")
#: How many pipe ids a summary lists (the rest are the assets with NULL lon/lat).
LIST_LIMIT = 25

#: Role -> Kitchener column name.
DEFAULT_COLUMNS: dict[str, str] = {
    "pipe_id": "WATMAINID",
    "install_date": "INSTALLATION_DATE",
    "material": "MATERIAL",
    "diameter": "PIPE_SIZE",
    "length": "Shape__Length",
    "label": "MAP_LABEL",
    "break_id": "WATBREAKINCIDENTID",
    "break_pipe_id": "ASSETID",
    "break_date": "INCIDENT_DATE",
    "x": "X",
    "y": "Y",
    "break_type": "BREAK_TYPE",
    "nature": "BREAK_NATURE",
    "cause": "BREAK_APPARENT_CAUSE",
    "repair": "REPAIR_TYPE",
    "address_number": "CIVIC_NUMBER",
    "street": "STREET",
}
INVENTORY_ROLES = ("pipe_id", "install_date", "material")
BREAK_ROLES = ("break_id", "break_pipe_id", "break_date")


@dataclass(frozen=True, slots=True)
class Columns:
    """The resolved column names and source name for one import."""

    names: Mapping[str, str]
    source: str

    def __getitem__(self, role: str) -> str:
        return self.names[role]


def resolve_columns(options: ImportOptions) -> Columns:
    """Merge ``options.mapping`` over the Kitchener defaults; refuse unknown roles."""
    mapping = dict(options.mapping or {})
    source = str(mapping.pop("source", SOURCE))
    unknown = sorted(set(mapping) - set(DEFAULT_COLUMNS))
    if unknown:
        raise ImportRefused(
            f"column mapping has unknown keys {unknown}; known: source, "
            + ", ".join(sorted(DEFAULT_COLUMNS))
        )
    names = {**DEFAULT_COLUMNS, **{k: str(v) for k, v in mapping.items()}}
    return Columns(names=names, source=source)


def header_has_roles(head: bytes, roles: tuple[str, ...]) -> bool:
    """True when the CSV header names every role, as a Kitchener column or by the role name."""
    header = {c.strip().lower() for c in csv_header(head)}
    return all(
        DEFAULT_COLUMNS[role].lower() in header or role in header for role in roles
    ) and bool(header)


def read_rows(path: Path, columns: Columns, roles: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """The file's rows as dicts (BOM stripped), each role reachable under its mapped name.

    A file that uses the role names themselves in its header is read as if mapped.
    """
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip() for f in reader.fieldnames or []]
            missing = [r for r in roles if columns[r] not in fields and r not in fields]
            if missing:
                raise ImportRefused(
                    f"{path.name}: missing columns for {', '.join(missing)} "
                    f"(expected {', '.join(columns[r] for r in missing)})"
                )
            for raw in reader:
                if None in raw:  # more cells than header fields: keep them, named
                    raw["_extra"] = ",".join(raw.pop(None) or [])
                row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
                for role, name in columns.names.items():
                    if name not in row and role in row:
                        row[name] = row[role]
                yield row
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"{path.name}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise ImportRefused(f"{path.name}: broken CSV ({exc})") from exc


_SHORT_OFFSET = re.compile(r"([+-]\d{2})$")


def parse_timestamp(value: str, tz: str | None = None) -> datetime | None:
    """A zone-aware UTC time from ``2017/12/01 15:15:00+00``, ISO text, a date or a year.

    Times without a zone are read in ``tz`` (default UTC). None when unparseable.
    """
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}", text):
        text += "-01-01"
    text = text.replace("/", "-").replace("T", " ")
    text = _SHORT_OFFSET.sub(r"\1:00", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz) if tz else UTC)
    if not 1800 <= parsed.year <= 2200:
        return None
    return parsed.astimezone(UTC)


def parse_date(value: str) -> date | None:
    """The calendar date of a source date/time as written (no zone shift), or None."""
    stamp = parse_timestamp(value.split(" ")[0] if " " in value.strip() else value)
    return None if stamp is None else stamp.date()


def to_float(value: str) -> float | None:
    """A float, or None for empty or non-numeric text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def break_kind(ts: datetime, install_date: date | None) -> str:
    """``failure`` for the current pipe, ``predecessor_failure`` before it was laid."""
    if install_date is not None and ts.date() < install_date:
        return "predecessor_failure"
    return "failure"


def pipe_index(session: Session, source: str) -> dict[str, tuple[int, date | None]]:
    """Stored pipes of ``source``: source id -> (asset id, install date)."""
    rows = session.execute(
        select(Asset.source_id, Asset.id, Asset.install_date).where(
            Asset.source == source, Asset.kind == ASSET_KIND
        )
    )
    return {sid: (aid, inst) for sid, aid, inst in rows}


def mean_locations(session: Session, source: str) -> dict[int, tuple[float, float]]:
    """Each linked pipe's mean break location (failures and predecessor failures)."""
    points: dict[int, list[tuple[float, float]]] = defaultdict(list)
    rows = session.execute(
        select(AssetEvent.asset_id, AssetEvent.lon, AssetEvent.lat).where(
            AssetEvent.source == source,
            AssetEvent.kind.in_(("failure", "predecessor_failure")),
            AssetEvent.asset_id.is_not(None),
            AssetEvent.lon.is_not(None),
            AssetEvent.lat.is_not(None),
        )
    )
    for asset_id, lon, lat in rows:
        if asset_id is not None and lon is not None and lat is not None:
            points[asset_id].append((lon, lat))
    return {
        aid: (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
        for aid, pts in points.items()
    }


def relocate_pipes(session: Session, source: str) -> int:
    """Set every pipe's location to the mean of its breaks; return how many changed."""
    wanted = mean_locations(session, source)
    stored = session.execute(
        select(Asset.id, Asset.lon, Asset.lat, Asset.version).where(
            Asset.source == source, Asset.kind == ASSET_KIND
        )
    )
    now = datetime.now(UTC)
    changes = []
    for aid, lon, lat, version in stored:
        if aid not in wanted:
            continue
        new_lon, new_lat = wanted[aid]
        if lon is None or lat is None or abs(lon - new_lon) > 1e-9 or abs(lat - new_lat) > 1e-9:
            changes.append(
                {
                    "id": aid,
                    "lon": new_lon,
                    "lat": new_lat,
                    "version": version + 1,
                    "updated_at": now,
                }
            )
    for start in range(0, len(changes), 5000):
        session.execute(update(Asset), changes[start : start + 5000])
    return len(changes)


def unlocated_pipes(session: Session, source: str) -> list[str]:
    """Source ids of the pipes that have no location (no break tells where they are)."""
    return sorted(
        session.scalars(
            select(Asset.source_id).where(
                Asset.source == source, Asset.kind == ASSET_KIND, Asset.lon.is_(None)
            )
        ),
        key=lambda s: (len(s), s),
    )


def note_unlocated(summary: ImportSummary, key: str, ids: list[str]) -> None:
    """Count the pipes without location and list the first of them in ``summary``."""
    summary.notes[key] = len(ids)
    summary.notes[f"{key}_first_ids"] = ids[:LIST_LIMIT]


class WaterMainInventoryImporter:
    """Water main inventory CSV (``WATMAINID``, ``INSTALLATION_DATE``, ``MATERIAL``...)."""

    name = "watermains"
    order = 20  # before the break records (watermain_breaks.order)

    def sniff(self, path: Path, head: bytes) -> bool:
        """A CSV header with a pipe id, an install date and a material, and no break id."""
        return header_has_roles(head, INVENTORY_ROLES) and not header_has_roles(head, ("break_id",))

    def run(self, path: Path, session: Session, options: ImportOptions) -> ImportSummary:
        """Write the pipes, then relink any breaks imported before them."""
        columns = resolve_columns(options)
        summary = ImportSummary()
        rows: list[dict[str, Any]] = []
        no_install = 0
        for row in read_rows(path, columns, INVENTORY_ROLES):
            pipe_id = row.get(columns["pipe_id"], "")
            if not pipe_id:
                summary.skip("missing_pipe_id")
                continue
            raw_date = row.get(columns["install_date"], "")
            install = parse_date(raw_date) if raw_date else None
            if raw_date and install is None:
                summary.skip("bad_install_date")
                continue
            no_install += install is None
            label = row.get(columns["label"]) or f"water main {pipe_id}"
            rows.append(
                asset_row(
                    source=columns.source,
                    source_id=pipe_id,
                    kind=ASSET_KIND,
                    lon=None,
                    lat=None,
                    name=label[:200],
                    install_date=install,
                    attributes=row,
                )
            )
        if not rows and not summary.skipped:
            raise ImportRefused(f"{path.name}: no pipes in the file")
        insert_new(session, Asset, rows, summary, "assets")
        summary.notes["pipes_without_install_date"] = no_install
        self._relink(session, columns, summary)
        relocate_pipes(session, columns.source)
        note_unlocated(summary, "pipes_without_location", unlocated_pipes(session, columns.source))
        return summary

    def _relink(self, session: Session, columns: Columns, summary: ImportSummary) -> None:
        """Attach earlier ``unmatched_failure`` events to the pipes now in the inventory."""
        pipes = pipe_index(session, columns.source)
        pending = session.execute(
            select(AssetEvent.id, AssetEvent.ts, AssetEvent.attributes).where(
                AssetEvent.source == columns.source, AssetEvent.kind == "unmatched_failure"
            )
        )
        changes = []
        for event_id, ts, attrs in pending:
            pipe_id = str((attrs or {}).get(columns["break_pipe_id"], ""))
            if pipe_id not in pipes:
                continue
            asset_id, install = pipes[pipe_id]
            kind = break_kind(ts, install)
            changes.append({"id": event_id, "asset_id": asset_id, "kind": kind})
            summary.notes[f"relinked_{kind}s"] = summary.notes.get(f"relinked_{kind}s", 0) + 1
        for start in range(0, len(changes), 5000):
            session.execute(update(AssetEvent), changes[start : start + 5000])


IMPORTER = WaterMainInventoryImporter()
