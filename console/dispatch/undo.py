"""The undo stack of assignments: what Ctrl+Z puts back.

Each step remembers the job's crew before and after, and the job version its
own command produced. Undoing sends the inverse command *with that version*:
if anyone has touched the job since, the backend refuses it as a conflict and
the step is dropped rather than undoing someone else's work.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Steps kept; older ones fall off the bottom.
UNDO_LIMIT = 50


@dataclass(frozen=True, slots=True)
class AssignmentStep:
    """One assignment change: job ``job_id`` went from ``before_crew_id`` to ``after_crew_id``."""

    job_id: int
    before_crew_id: int | None
    after_crew_id: int | None
    version_after: int

    def inverse(self) -> tuple[str, dict[str, int]]:
        """The command (name, args) that puts the job back where it was."""
        if self.before_crew_id is None:
            return "unassign_job", {"job_id": self.job_id, "version": self.version_after}
        return "assign_job", {
            "job_id": self.job_id,
            "crew_id": self.before_crew_id,
            "version": self.version_after,
        }


class AssignmentUndoStack:
    """Last in, first out, bounded to ``limit`` steps."""

    def __init__(self, limit: int = UNDO_LIMIT) -> None:
        self.limit = limit
        self._steps: list[AssignmentStep] = []

    def __len__(self) -> int:
        return len(self._steps)

    def push(self, step: AssignmentStep) -> None:
        """Remember a change (the oldest is forgotten past the limit)."""
        self._steps.append(step)
        del self._steps[: max(0, len(self._steps) - self.limit)]

    def peek(self) -> AssignmentStep | None:
        """The step Ctrl+Z would undo next."""
        return self._steps[-1] if self._steps else None

    def pop(self) -> AssignmentStep | None:
        """Take the newest step off."""
        return self._steps.pop() if self._steps else None

    def clear(self) -> None:
        """Forget every step."""
        self._steps.clear()
