"""Alarm grouping: related findings share a group so one asset or one area is one line.

Rules, in order, for a raised finding of asset A at time t:

1. A already belongs to an open group (its own, or an area group it joined):
   the finding goes there.
2. A's grid cell (``cell_deg`` of lon/lat) has an open area group that was
   active within ``window_s``: A joins it.
3. Counting A, at least ``min_assets`` distinct assets of that cell raised
   findings within ``window_s``: a new area group opens and the open asset
   groups of those assets fold into it (reported as ``merged``).
4. Otherwise A gets its own asset group.

A clearing finding goes to the group of the condition it clears; a group
closes when none of its conditions is active any more. Assets without a known
location only ever form asset groups.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from backend.telemetry.findings import Finding, Severity


@dataclass(slots=True)
class AlarmGroup:
    """Findings that belong together: one asset's, or one area's within a short time."""

    key: str  # "asset/<id>" or "area/<ix>/<iy>"
    kind: str  # "asset" or "area"
    first_ts: datetime
    last_ts: datetime
    asset_ids: set[int] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    active: set[tuple[int, str, str]] = field(default_factory=set)  # open condition keys

    @property
    def severity(self) -> Severity:
        """The worst severity among the group's raised findings."""
        raised = [f.severity for f in self.findings if f.active]
        return max(raised, key=lambda s: s.rank, default=Severity.INFO)

    @property
    def is_open(self) -> bool:
        """True while any condition in the group is still active."""
        return bool(self.active)

    @property
    def title(self) -> str:
        """A one-line summary for an alarm list."""
        n = len(self.active)
        if self.kind == "area":
            return f"{len(self.asset_ids)} assets alarming in one area ({n} active)"
        (asset_id,) = self.asset_ids
        return f"asset {asset_id}: {n} active condition{'s' if n != 1 else ''}"


@dataclass(frozen=True, slots=True)
class GroupAssignment:
    """Where a finding went, and which asset groups just folded into that area group."""

    key: str
    merged: tuple[str, ...] = ()


class AlarmGrouper:
    """Assigns findings to groups incrementally, in the order they arrive."""

    def __init__(
        self,
        locations: Mapping[int, tuple[float, float]],
        *,
        cell_deg: float = 0.01,
        window_s: float = 300.0,
        min_assets: int = 3,
    ) -> None:
        if cell_deg <= 0 or window_s < 0 or min_assets < 2:
            raise ValueError("cell_deg > 0, window_s >= 0 and min_assets >= 2 are needed")
        self.locations = locations
        self.cell_deg = cell_deg
        self.window_s = window_s
        self.min_assets = min_assets
        self.groups: dict[str, AlarmGroup] = {}
        self._group_of_asset: dict[int, str] = {}
        self._group_of_condition: dict[tuple[int, str, str], str] = {}
        self._recent: dict[tuple[int, int], dict[int, datetime]] = {}  # cell -> asset -> last ts

    def cell(self, asset_id: int) -> tuple[int, int] | None:
        """The grid cell of an asset's location, or None when it has none."""
        where = self.locations.get(asset_id)
        if where is None or not all(math.isfinite(x) for x in where):
            return None
        lon, lat = where
        return (math.floor(lon / self.cell_deg), math.floor(lat / self.cell_deg))

    def assign(self, finding: Finding) -> GroupAssignment:
        """Put a finding in its group and return the group's key."""
        if not finding.active:
            key = self._group_of_condition.get(finding.key)
            if key is None:  # clears something we never saw raised: its asset's group
                key = self._open_group(finding, f"asset/{finding.asset_id}", "asset")
            group = self.groups[key]
            group.findings.append(finding)
            group.last_ts = max(group.last_ts, finding.ts)
            group.active.discard(finding.key)
            self._group_of_condition.pop(finding.key, None)
            if not group.active:
                for aid in group.asset_ids:
                    if self._group_of_asset.get(aid) == key:
                        del self._group_of_asset[aid]
            return GroupAssignment(key)
        merged: tuple[str, ...] = ()
        key = self._current_group(finding.asset_id)
        cell = self.cell(finding.asset_id)
        if key is None and cell is not None:
            key, merged = self._area_for(finding, cell)
        if key is None:
            key = self._open_group(finding, f"asset/{finding.asset_id}", "asset")
        group = self.groups[key]
        group.findings.append(finding)
        group.asset_ids.add(finding.asset_id)
        group.active.add(finding.key)
        group.last_ts = max(group.last_ts, finding.ts)
        self._group_of_asset[finding.asset_id] = key
        self._group_of_condition[finding.key] = key
        if cell is not None:
            self._recent.setdefault(cell, {})[finding.asset_id] = finding.ts
        return GroupAssignment(key, merged)

    def restore(self, key: str, finding: Finding) -> None:
        """Put a condition known to be active back in the group ``key`` (after a restart).

        Later findings of its asset join that group and its clear closes it,
        as if the grouper had seen it raised; no area is formed or merged here.
        """
        if not finding.active:
            return
        group = self.groups.get(key)
        if group is None:
            kind = "area" if key.startswith("area/") else "asset"
            group = self.groups[key] = AlarmGroup(key, kind, finding.ts, finding.ts)
        group.findings.append(finding)
        group.asset_ids.add(finding.asset_id)
        group.active.add(finding.key)
        group.first_ts = min(group.first_ts, finding.ts)
        group.last_ts = max(group.last_ts, finding.ts)
        self._group_of_asset[finding.asset_id] = key
        self._group_of_condition[finding.key] = key

    def open_groups(self) -> list[AlarmGroup]:
        """Open groups, worst severity first, then oldest first."""
        live = [g for g in self.groups.values() if g.is_open]
        return sorted(live, key=lambda g: (-g.severity.rank, g.first_ts))

    def prune(self, before: datetime) -> int:
        """Forget closed groups whose last finding is older than ``before``; returns how many."""
        old = [k for k, g in self.groups.items() if not g.is_open and g.last_ts < before]
        for key in old:
            del self.groups[key]
        return len(old)

    def _current_group(self, asset_id: int) -> str | None:
        key = self._group_of_asset.get(asset_id)
        return key if key is not None and self.groups[key].is_open else None

    def _open_group(self, finding: Finding, key: str, kind: str) -> str:
        group = self.groups.get(key)
        if group is None or not group.is_open:
            # A closed group's key is reused: a new episode starts fresh.
            self.groups[key] = AlarmGroup(key, kind, finding.ts, finding.ts)
        return key

    def _area_for(
        self, finding: Finding, cell: tuple[int, int]
    ) -> tuple[str | None, tuple[str, ...]]:
        area_key = f"area/{cell[0]}/{cell[1]}"
        area = self.groups.get(area_key)
        since = finding.ts.timestamp() - self.window_s
        if area is not None and area.is_open and area.last_ts.timestamp() >= since:
            return area_key, ()
        recent = {
            aid: ts
            for aid, ts in self._recent.get(cell, {}).items()
            if ts.timestamp() >= since and aid != finding.asset_id
        }
        self._recent[cell] = recent  # forget what fell out of the window
        if len(recent) + 1 < self.min_assets:
            return None, ()
        self._open_group(finding, area_key, "area")
        area = self.groups[area_key]
        area.first_ts = min([area.first_ts, *recent.values()])
        merged: list[str] = []
        for aid in sorted(recent):
            old_key = self._current_group(aid)
            if old_key is None or old_key == area_key:
                continue
            old = self.groups.pop(old_key)
            area.findings.extend(old.findings)
            area.asset_ids |= old.asset_ids
            area.active |= old.active
            for cond in old.active:
                self._group_of_condition[cond] = area_key
            for member in old.asset_ids:
                self._group_of_asset[member] = area_key
            merged.append(old_key)
        area.findings.sort(key=lambda f: f.ts)
        return area_key, tuple(merged)


def group_findings(
    findings: Iterable[Finding],
    locations: Mapping[int, tuple[float, float]],
    *,
    cell_deg: float = 0.01,
    window_s: float = 300.0,
    min_assets: int = 3,
) -> list[AlarmGroup]:
    """Group a list of findings (any order) and return every group, open ones first."""
    grouper = AlarmGrouper(locations, cell_deg=cell_deg, window_s=window_s, min_assets=min_assets)
    for finding in sorted(findings, key=lambda f: (f.ts, not f.active)):
        grouper.assign(finding)
    return sorted(
        grouper.groups.values(),
        key=lambda g: (not g.is_open, -g.severity.rank, g.first_ts),
    )
