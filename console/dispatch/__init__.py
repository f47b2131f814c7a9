"""Dispatch without Qt: job queue and crew board models, eligibility, undo, the controller.

The Qt side (``widgets/job_queue.py``, ``widgets/crew_board.py``,
``widgets/map_drop.py``) only adapts these to views and drag and drop.
"""

from console.dispatch.common import ModelChange, Notifier, format_duration, parse_time
from console.dispatch.controller import CommandOutcome, DispatchController, SendCommand
from console.dispatch.crew_board import CrewBoardModel, CrewRow
from console.dispatch.eligibility import STALE_AFTER_S, Eligibility, EligibilityRule
from console.dispatch.job_queue import COLUMNS, JobQueueModel, JobRow, SlaPolicy
from console.dispatch.mime import MIME_TYPE, BadJobPayload, JobRef, decode_job, encode_job
from console.dispatch.undo import AssignmentStep, AssignmentUndoStack

__all__ = [
    "COLUMNS",
    "MIME_TYPE",
    "STALE_AFTER_S",
    "AssignmentStep",
    "AssignmentUndoStack",
    "BadJobPayload",
    "CommandOutcome",
    "CrewBoardModel",
    "CrewRow",
    "DispatchController",
    "Eligibility",
    "EligibilityRule",
    "JobQueueModel",
    "JobRef",
    "JobRow",
    "ModelChange",
    "Notifier",
    "SendCommand",
    "SlaPolicy",
    "decode_job",
    "encode_job",
    "format_duration",
    "parse_time",
]
