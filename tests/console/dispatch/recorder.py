"""A recording ``send_command`` for controller unit tests (the end-to-end tests use the real bus).

It answers as the backend's handlers do in shape: ``{"result": {...}}`` with
the job's next version, or raises the exception queued for the next call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordingSend:
    """Records every (name, args); replies with version + 1 unless an error is queued."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __call__(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, dict(args)))
        if self.errors:
            raise self.errors.pop(0)
        result: dict[str, Any] = {"job_id": args["job_id"], "version": args["version"] + 1}
        if "crew_id" in args:
            result["crew_id"] = args["crew_id"]
        return {"result": result, "seq": len(self.calls), "replayed": False}
