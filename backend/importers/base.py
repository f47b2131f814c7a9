"""What every importer shares: the summary, refusal, format sniffing and bulk writes.

An importer reads one file and writes it in the caller's transaction. It never
crashes on a bad row: it skips it and counts the reason in the summary. A file
that is not what it claims to be, or is cut short, raises :class:`ImportRefused`
and the caller rolls the whole file back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

SNIFF_BYTES = 64 * 1024


class ImportRefused(Exception):
    """The file is not a format we know, or is truncated/corrupt; nothing of it is written."""


@dataclass(slots=True)
class ImportOptions:
    """Options from the command line that importers may use."""

    tz: str | None = None  # IANA zone for local times without a zone (311 CSV)
    kind: str | None = None  # asset kind for point layers that do not say
    mapping: dict[str, Any] | None = None  # column mapping for CSVs of other cities


@dataclass(slots=True)
class ImportSummary:
    """Counts for one or more files: what came in, what was already there, what was skipped."""

    imported: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    notes: dict[str, Any] = field(default_factory=dict)

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` rows skipped for ``reason`` (a short snake_case phrase)."""
        self.skipped[reason] += n

    def merge(self, other: ImportSummary) -> None:
        """Add another file's counts to these."""
        self.imported.update(other.imported)
        self.unchanged.update(other.unchanged)
        self.skipped.update(other.skipped)
        for key, value in other.notes.items():
            if isinstance(value, int) and isinstance(self.notes.get(key), int):
                self.notes[key] += value
            else:
                self.notes.setdefault(key, value)

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary; the three headline tables are always present."""
        imported = {"roads": 0, "assets": 0, "issues": 0}
        imported.update(self.imported)
        out: dict[str, Any] = {"imported": imported, "skipped": dict(sorted(self.skipped.items()))}
        if self.unchanged:
            out["unchanged"] = dict(self.unchanged)
        if self.notes:
            out["notes"] = self.notes
        return out

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(self.as_dict(), sort_keys=False)


class Importer(Protocol):
    """A format: recognises its files by content and writes them."""

    name: str
    #: lower numbers run first when several files are given (inventories before events)
    order: int

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when ``head`` (the file's first bytes) is this format."""
        ...

    def run(self, path: Path, session: Session, options: ImportOptions) -> ImportSummary:
        """Read ``path`` and write its rows in ``session``'s transaction."""
        ...


def read_head(path: Path) -> bytes:
    """The first bytes of ``path`` for sniffing (without a UTF-8 BOM)."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    return head.removeprefix(b"\xef\xbb\xbf")


def csv_header(head: bytes) -> list[str]:
    """The header row of a CSV file's first bytes, or [] when it does not look like CSV."""
    import csv
    import io

    text = head.decode("utf-8", errors="replace")
    first = text.split("\n", 1)[0].strip("\r")
    if not first or first.lstrip().startswith(("{", "<", "[")):
        return []
    try:
        return [c.strip() for c in next(csv.reader(io.StringIO(first)))]
    except (StopIteration, csv.Error):
        return []


def insert_new(
    session: Session,
    model: Any,
    rows: Sequence[dict[str, Any]],
    summary: ImportSummary,
    label: str,
    keys: tuple[str, ...] = ("source", "source_id"),
) -> int:
    """Bulk-insert the rows whose key is not stored yet; count the rest as unchanged.

    Re-importing a file therefore changes nothing. Duplicate keys inside one
    file keep the first row and count the others as skipped.
    """
    if not rows:
        return 0
    seen: set[tuple[Any, ...]] = set()
    unique: list[dict[str, Any]] = []
    for row in rows:
        key = tuple(row[k] for k in keys)
        if key in seen:
            summary.skip(f"duplicate_{label}_id")
            continue
        seen.add(key)
        unique.append(row)
    columns = [getattr(model, k) for k in keys]
    query = select(*columns)
    if "source" in keys:
        query = query.where(model.source.in_({row["source"] for row in unique}))
    stored = {tuple(r) for r in session.execute(query)}
    fresh = [row for row in unique if tuple(row[k] for k in keys) not in stored]
    summary.unchanged[label] += len(unique) - len(fresh)
    for start in range(0, len(fresh), 5000):
        session.execute(insert(model), fresh[start : start + 5000])
    summary.imported[label] += len(fresh)
    return len(fresh)
