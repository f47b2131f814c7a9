"""Limits both sides of the bus agree on, so a console refuses what the backend would."""

from __future__ import annotations

#: The longest an alarm may be shelved, in minutes (a day: longer means the asset
#: should be taken out of service, which is a decision with its own record).
MAX_SHELVE_MINUTES = 24 * 60
