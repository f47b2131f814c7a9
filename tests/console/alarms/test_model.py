"""The alarm list model: grouping, severity-then-age order, filters, counts, new-critical alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.alarms.model import AlarmGroupRow, AlarmListModel
from console.dispatch.common import ModelChange
from tests.console.alarms.wire import T0, FixedClock, alarm, asset

M = timedelta(minutes=1)


def city() -> dict[str, dict[str, object]]:
    """Two pumps (one with two alarms), three lights in one area, a lone info alarm."""
    entities: dict[str, dict[str, object]] = {
        "asset/1": asset(1, "Pump A"),
        "asset/2": asset(2, "Pump B"),
        "asset/3": asset(3, "Light 3", "street_light"),
        "asset/4": asset(4, "Light 4", "street_light"),
        "asset/5": asset(5, "Light 5", "street_light"),
        "job/9": {"id": 9, "status": "new"},  # other kinds are ignored
    }
    for a in (
        alarm(1, asset_id=1, severity="major", raised=T0 + 10 * M),
        alarm(2, asset_id=1, severity="critical", raised=T0 + 5 * M),
        alarm(3, asset_id=2, severity="major", raised=T0 + 20 * M),
        alarm(4, asset_id=3, severity="minor", group_key="area/1/2", raised=T0 + 1 * M),
        alarm(5, asset_id=4, severity="minor", group_key="area/1/2", raised=T0 + 2 * M),
        alarm(6, asset_id=5, severity="minor", group_key="area/1/2", raised=T0 + 3 * M),
        alarm(7, asset_id=2, severity="info", group_key="asset/2", raised=T0, state="cleared"),
        alarm(8, asset_id=None, severity="info", group_key=None, metric=None, raised=T0 + 30 * M),
    ):
        entities[f"alarm/{a['id']}"] = a
    return entities


def make(clock: FixedClock | None = None) -> AlarmListModel:
    m = AlarmListModel(clock or FixedClock(T0 + timedelta(hours=1)))
    m.load(city())
    return m


def shape(m: AlarmListModel) -> list[object]:
    """Top-level entries as ids (lone alarms) or (key, member ids) tuples."""
    return [(e.key, e.alarm_ids) if isinstance(e, AlarmGroupRow) else e for e in m.top_level()]


def test_groups_by_key_sorted_by_worst_severity_then_newest() -> None:
    m = make()
    # Pump A's group holds the critical; its members: critical first, then by age.
    # Pump B's major stands alone (its other alarm is cleared, so filtered out).
    assert shape(m) == [("asset/1", (2, 1)), 3, ("area/1/2", (6, 5, 4)), 8]
    group = m.group("asset/1")
    assert group is not None
    assert (group.severity, group.unacked, group.asset_ids) == ("critical", 2, frozenset({1}))
    assert m.group_title(group) == "Pump A: 2 alarms"
    area = m.group("area/1/2")
    assert area is not None and area.is_area
    assert m.group_title(area) == "Area: 3 alarms on 3 assets"
    assert m.visible_ids() == [2, 1, 3, 6, 5, 4, 8]
    assert m.row(3).asset_name == "Pump B" and m.row(8).asset_name == ""


def test_oldest_first_is_a_switch_and_ties_are_stable() -> None:
    m = make()
    m.set_newest_first(False)
    assert shape(m) == [("asset/1", (2, 1)), 3, ("area/1/2", (4, 5, 6)), 8]


def test_state_and_severity_filters() -> None:
    m = make()
    changes: list[ModelChange] = []
    m.changed.connect(changes.append)
    m.set_min_severity("major")
    assert shape(m) == [("asset/1", (2, 1)), 3]
    assert changes[-1].structure
    m.set_min_severity("critical")
    assert shape(m) == [2]  # a group of one shows as the alarm itself
    m.set_min_severity("info")
    m.set_state_filter("all")
    assert ("asset/2", (3, 7)) in shape(m)
    m.apply("alarm/3", alarm(3, asset_id=2, severity="major", state="shelved", version=2))
    m.set_state_filter("shelved")
    assert shape(m) == [3]
    m.set_state_filter("unacknowledged")
    assert 3 not in m.visible_ids() and 2 in m.visible_ids()
    with pytest.raises(ValueError, match="unknown state filter"):
        m.set_state_filter("open")
    with pytest.raises(ValueError, match="unknown severity"):
        m.set_min_severity("urgent")


def test_counts_ignore_filters() -> None:
    m = make()
    m.set_min_severity("critical")
    c = m.counts()
    assert (c.active, c.unacknowledged, c.shelved, c.critical_unacknowledged) == (7, 7, 0, 1)
    assert c.by_severity == {"info": 1, "minor": 3, "major": 2, "critical": 1}
    seen = []
    m.counts_changed.connect(seen.append)
    m.apply("alarm/2", alarm(2, asset_id=1, severity="critical", state="acknowledged", version=2))
    assert (seen[-1].active, seen[-1].unacknowledged, seen[-1].critical_unacknowledged) == (7, 6, 0)


def test_new_critical_alerts_once_and_flashes_for_a_while() -> None:
    clock = FixedClock(T0 + timedelta(hours=1))
    m = make(clock)
    alerts: list[list[int]] = []
    m.new_critical.connect(alerts.append)
    assert m.flashing_ids() == []  # the snapshot's critical alarm does not alert
    m.apply_many(
        [
            ("alarm/20", alarm(20, asset_id=2, severity="critical", raised=clock.now)),
            ("alarm/21", alarm(21, asset_id=2, severity="major", raised=clock.now)),
        ]
    )
    assert alerts == [[20]]
    assert m.is_flashing(20) and not m.is_flashing(21)
    # A new version of the same raised critical (message update) is not news.
    m.apply("alarm/20", alarm(20, asset_id=2, severity="critical", message="worse", version=2))
    assert alerts == [[20]]
    # Escalation to critical is news.
    m.apply("alarm/21", alarm(21, asset_id=2, severity="critical", version=2))
    assert alerts == [[20], [21]]
    # Acknowledging stops the flash at once; time ends the other.
    m.apply("alarm/21", alarm(21, asset_id=2, severity="critical", state="acknowledged"))
    assert not m.is_flashing(21)
    clock.advance(m.flash_s - 1)
    assert m.flashing_ids() == [20]
    clock.advance(1)
    assert m.flashing_ids() == [] and m.tick() == [20]
    # Raised again after a clear: news again.
    m.apply("alarm/20", alarm(20, asset_id=2, severity="critical", state="cleared"))
    m.apply("alarm/20", alarm(20, asset_id=2, severity="critical", version=5))
    assert alerts[-1] == [20]


def test_asset_rename_updates_rows_and_readings_do_not_churn() -> None:
    m = make()
    changes: list[ModelChange] = []
    m.changed.connect(changes.append)
    m.apply("asset/1", asset(1, "Pump A", latest={"flow": ["2026-03-01T08:00:00.000000Z", 40.0]}))
    assert changes == []  # same name: nothing for the list
    m.apply("asset/1", asset(1, "Harbour pump"))
    assert changes[-1] == ModelChange(frozenset({1, 2}), structure=False)
    assert m.row(1).asset_name == "Harbour pump"
    group = m.group("asset/1")
    assert group is not None and m.group_title(group) == "Harbour pump: 2 alarms"


def test_deleted_alarm_and_unknown_topics() -> None:
    m = make()
    m.apply("alarm/3", None)
    assert 3 not in m.visible_ids() and m.find(3) is None
    m.apply("alarm/x", {"id": 1})
    m.apply("weather/1", {"id": 1})
    assert len(m.visible_ids()) == 6


def test_ages_and_shelve_countdown_follow_the_clock() -> None:
    clock = FixedClock(T0 + timedelta(hours=1))
    m = make(clock)
    assert m.age_s(3) == 40 * 60
    m.apply(
        "alarm/3",
        alarm(3, asset_id=2, state="shelved", shelved_until=clock.now + 30 * M, version=2),
    )
    assert m.shelved_left_s(3) == 30 * 60
    assert m.shelved_left_s(1) is None
