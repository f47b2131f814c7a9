"""Alarms and asset history for the console, as pure models (no Qt).

- :mod:`console.alarms.model`: :class:`AlarmListModel`, the alarm dock's rows:
  grouped by ``group_key``, sorted by severity then age, filtered, counted,
  and announcing new critical alarms.
- :mod:`console.alarms.commands`: :class:`AlarmController` (``ack_alarm``,
  ``shelve_alarm``) and :class:`CommandRunner` (any command, sync or future).
- :mod:`console.alarms.history`: :class:`AssetHistoryModel` (reading series,
  catalog limits, alarm markers, the asset's events) and :class:`AssetIndex`
  (find an asset by name or id).

The Qt widgets that show them are ``widgets.alarm_list`` and ``widgets.asset_history``.
"""

from console.alarms.commands import AlarmController, CommandRunner, Outcome, create_job_args
from console.alarms.history import AssetHistoryModel, AssetIndex, HistoryEvent, JobDraft
from console.alarms.model import STATE_FILTERS, AlarmCounts, AlarmGroupRow, AlarmListModel, AlarmRow

__all__ = [
    "STATE_FILTERS",
    "AlarmController",
    "AlarmCounts",
    "AlarmGroupRow",
    "AlarmListModel",
    "AlarmRow",
    "AssetHistoryModel",
    "AssetIndex",
    "CommandRunner",
    "HistoryEvent",
    "JobDraft",
    "Outcome",
    "create_job_args",
]
