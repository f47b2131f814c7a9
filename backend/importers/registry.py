"""Which importers exist, and importing a list of files with them."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from backend.db.engine import make_sessionmaker
from backend.db.outbox import NewEvent, append_events
from backend.importers.base import Importer, ImportOptions, ImportRefused, ImportSummary, read_head

log = logging.getLogger(__name__)

#: Modules that each define ``IMPORTER``; sniffed in this order.
IMPORTER_MODULES = (
    "backend.importers.osm",
    "backend.importers.geojson",
    "backend.importers.open311_csv",
    "backend.importers.watermains",
    "backend.importers.watermain_breaks",
)


def importers() -> list[Importer]:
    """All known importers."""
    return [importlib.import_module(name).IMPORTER for name in IMPORTER_MODULES]


def detect(path: Path, options: ImportOptions | None = None) -> Importer:
    """The importer for ``path``, chosen by content; refuses unknown or empty files.

    An importer may also offer ``sniff_with_options(path, head, options)`` to
    recognise files described by ``--mapping`` (a 311 CSV of another city).
    """
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    head = read_head(path)
    if not head.strip():
        raise ImportRefused(f"{path}: the file is empty")
    for importer in importers():
        if importer.sniff(path, head):
            return importer
        with_options = getattr(importer, "sniff_with_options", None)
        if options is not None and with_options is not None and with_options(path, head, options):
            return importer
    raise ImportRefused(
        f"{path}: not a format CityOps imports (OSM .pbf/.osm, GeoJSON, 311 CSV, "
        "asset inventory or failure-record CSV)"
    )


@dataclass(slots=True)
class ImportResult:
    """What an import run did: totals, each file's own summary, and refusals."""

    total: ImportSummary = field(default_factory=ImportSummary)
    per_file: dict[str, ImportSummary] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def import_files(engine: Engine, paths: list[Path], options: ImportOptions) -> ImportResult:
    """Import ``paths`` into ``engine``'s database, one transaction per file.

    Every file is recognised before anything is written: one unknown file
    refuses the whole run. A file that turns out truncated or corrupt while
    being read is rolled back alone and reported in ``refused``.
    """
    result = ImportResult()
    planned: list[tuple[Path, Importer]] = []
    for path in paths:
        planned.append((path, detect(path, options)))
    planned.sort(key=lambda item: item[1].order)  # inventories before their events
    sessions = make_sessionmaker(engine)
    for path, importer in planned:
        try:
            with sessions.begin() as session:
                summary = importer.run(path, session, options)
                append_events(
                    session,
                    [
                        NewEvent(
                            type="import.completed",
                            topic=f"import/{importer.name}",
                            actor="importer",
                            body={"file": path.name, "format": importer.name, **summary.as_dict()},
                        )
                    ],
                )
        except ImportRefused as exc:
            result.refused[str(path)] = str(exc)
            continue
        result.per_file[str(path)] = summary
        result.total.merge(summary)
    return result
