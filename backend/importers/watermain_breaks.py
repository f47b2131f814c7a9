"""Water main break records: each break becomes an event on its pipe.

``Water_Main_Breaks.csv`` (City of Kitchener): one row per incident, a lon/lat
point (``X``/``Y``), the pipe named by ``ASSETID`` (= the inventory's
``WATMAINID``), the time, and cause and repair details. The rules shared with
the inventory (predecessor breaks, unmatched breaks, pipe locations, column
mapping) are described in :mod:`backend.importers.watermains`.

This importer runs after inventories (higher ``order``), so a command given
both files links every break it can.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend.db.models import AssetEvent
from backend.importers.base import ImportOptions, ImportRefused, ImportSummary
from backend.importers.rows import valid_lon_lat
from backend.importers.watermains import (
    BREAK_KINDS,
    BREAK_ROLES,
    Columns,
    break_kind,
    header_has_roles,
    note_unlocated,
    parse_timestamp,
    pipe_index,
    read_rows,
    relocate_pipes,
    resolve_columns,
    unlocated_pipes,
)


def describe(row: dict[str, str], columns: Columns) -> str:
    """A one-line account of a break: type, nature, cause, repair, address."""

    def get(role: str) -> str:
        return row.get(columns[role], "").strip()

    parts = [f"{get('break_type') or 'water main'} break".lower().capitalize()]
    if get("nature") and get("nature") != "UNKNOWN":
        parts.append(f"nature {get('nature').lower()}")
    if get("cause"):
        parts.append(f"apparent cause {get('cause').lower()}")
    if get("repair"):
        parts.append(f"repair {get('repair').lower()}")
    address = " ".join(p for p in (get("address_number"), get("street")) if p)
    text = "; ".join(parts)
    return f"{text} at {address}" if address else text


class WaterMainBreakImporter:
    """Water main break CSV (``WATBREAKINCIDENTID``, ``ASSETID``, ``INCIDENT_DATE``, X/Y...)."""

    name = "watermain_breaks"
    order = 80  # after inventories (watermains.order), so breaks find their pipes

    def sniff(self, path: Path, head: bytes) -> bool:
        """A CSV header with a break id, a pipe id and an incident date."""
        return header_has_roles(head, BREAK_ROLES)

    def run(self, path: Path, session: Session, options: ImportOptions) -> ImportSummary:
        """Write each new break as a failure, predecessor or unmatched event."""
        columns = resolve_columns(options)
        summary = ImportSummary()
        pipes = pipe_index(session, columns.source)
        stored = set(
            session.scalars(
                select(AssetEvent.source_id).where(
                    AssetEvent.source == columns.source, AssetEvent.kind.in_(BREAK_KINDS)
                )
            )
        )
        seen: set[str] = set()
        fresh: list[dict[str, Any]] = []
        rows_read = 0
        for row in read_rows(path, columns, BREAK_ROLES):
            rows_read += 1
            event = self._event(row, columns, options, pipes, summary)
            if event is None:
                continue
            key = event["source_id"]
            if key in seen:
                summary.skip("duplicate_break_id")
                continue
            seen.add(key)
            if key in stored:
                summary.unchanged["asset_events"] += 1
                continue
            fresh.append(event)
            summary.imported[f"{event['kind']}s"] += 1
        if rows_read == 0:
            raise ImportRefused(f"{path.name}: no break records in the file")
        for start in range(0, len(fresh), 5000):
            session.execute(insert(AssetEvent), fresh[start : start + 5000])
        summary.imported["asset_events"] += len(fresh)
        for kind in BREAK_KINDS:
            summary.imported.setdefault(f"{kind}s", 0)
        summary.notes["pipes_located"] = relocate_pipes(session, columns.source)
        if pipes:
            note_unlocated(
                summary, "pipes_still_without_location", unlocated_pipes(session, columns.source)
            )
        return summary

    def _event(
        self,
        row: dict[str, str],
        columns: Columns,
        options: ImportOptions,
        pipes: dict[str, tuple[int, Any]],
        summary: ImportSummary,
    ) -> dict[str, Any] | None:
        """The event row for one break, or None (counted) when the row is unusable."""
        break_id = row.get(columns["break_id"], "")
        pipe_id = row.get(columns["break_pipe_id"], "")
        if not break_id:
            summary.skip("missing_break_id")
            return None
        if not pipe_id:
            summary.skip("missing_pipe_id")
            return None
        ts = parse_timestamp(row.get(columns["break_date"], ""), options.tz)
        if ts is None:
            summary.skip("bad_break_date")
            return None
        x, y = row.get(columns["x"], ""), row.get(columns["y"], "")
        lon: float | None = None
        lat: float | None = None
        if x or y:
            if not valid_lon_lat(x, y):
                summary.skip("bad_coordinates")
                return None
            lon, lat = float(x), float(y)
        else:
            summary.notes["breaks_without_location"] = (
                summary.notes.get("breaks_without_location", 0) + 1
            )
        if pipe_id in pipes:
            asset_id, install = pipes[pipe_id]
            kind = break_kind(ts, install)
        else:
            asset_id, kind = None, "unmatched_failure"
        return {
            "asset_id": asset_id,
            "kind": kind,
            "ts": ts,
            "description": describe(row, columns),
            "source": columns.source,
            "source_id": break_id,
            "lon": lon,
            "lat": lat,
            "attributes": row,
        }


IMPORTER = WaterMainBreakImporter()
