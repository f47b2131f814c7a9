"""The drag payload of a job: ``application/x-cityops-job`` carrying job id and version.

The version is the one the dispatcher saw when the drag began; the assign
command sends it, so a job someone else took meanwhile is refused by the
backend (optimistic versions) instead of silently moved. Pure bytes here; the
Qt ``QMimeData`` wrappers live in ``widgets/job_queue.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MIME_TYPE = "application/x-cityops-job"
#: Payloads beyond this are not ours (a guard against pasting something huge).
MAX_PAYLOAD_BYTES = 1024


class BadJobPayload(ValueError):
    """A drag payload that is not a job reference."""


@dataclass(frozen=True, slots=True)
class JobRef:
    """A job as seen when the drag started: id, version and the crew it came from (if any)."""

    job_id: int
    version: int
    from_crew_id: int | None = None


def encode_job(ref: JobRef) -> bytes:
    """The payload bytes for a job reference."""
    return json.dumps(
        {"job_id": ref.job_id, "version": ref.version, "from_crew_id": ref.from_crew_id},
        separators=(",", ":"),
    ).encode("utf-8")


def decode_job(data: bytes) -> JobRef:
    """Parse payload bytes; anything malformed is :class:`BadJobPayload`."""
    if len(data) > MAX_PAYLOAD_BYTES:
        raise BadJobPayload(f"job payload of {len(data)} bytes is too large")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadJobPayload(f"job payload is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BadJobPayload("job payload must be an object")
    from_crew = raw.get("from_crew_id")
    if from_crew is not None and (isinstance(from_crew, bool) or not isinstance(from_crew, int)):
        raise BadJobPayload("job payload from_crew_id must be an integer or null")
    return JobRef(_count(raw, "job_id"), _count(raw, "version"), from_crew)


def _count(raw: dict[str, object], name: str) -> int:
    value = raw.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadJobPayload(f"job payload {name} must be a non-negative integer")
    return value
