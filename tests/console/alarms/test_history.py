"""The asset history model: series per metric, catalog limits, alarm markers, events in order."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from backend.telemetry.catalog import metric
from console.alarms.history import AssetHistoryModel, AssetIndex, LimitLine
from tests.console.alarms.wire import T0, alarm, asset, history, wt

H = timedelta(hours=1)


def pump_history() -> dict[str, object]:
    readings = [("vibration", T0 - k * H, 2.0 + k) for k in range(4)]
    readings += [("pressure", T0 - k * H, 4.0 - 0.1 * k) for k in range(3)]
    readings.append(("vibration", T0 - 2 * H, 9.9))  # a duplicate time: the later row wins
    return history(
        asset(1, "Pump A", latest={"vibration": [wt(T0), 2.0]}),
        readings,
        events=[
            {
                "id": 1,
                "kind": "repair",
                "ts": wt(T0 - 30 * 24 * H),
                "description": "Seal",
                "crew_id": 3,
                "job_id": 17,
            },
            {
                "id": 2,
                "kind": "failure",
                "ts": wt(T0 - 31 * 24 * H),
                "description": "Leak",
                "crew_id": None,
                "job_id": None,
            },
        ],
        jobs=[
            {
                "id": 17,
                "title": "Replace seal",
                "priority": 2,
                "status": "done",
                "crew_id": 3,
                "crew_name": "W4 Pumps",
                "created_at": wt(T0 - 31 * 24 * H + H),
                "asset_id": 1,
            }
        ],
        alarms=[
            alarm(
                5,
                asset_id=1,
                metric="vibration",
                severity="major",
                raised=T0 - 90 * 60 * timedelta(seconds=1),
            ),
            alarm(6, asset_id=1, metric="pressure", severity="critical", raised=T0 - H),
        ],
        nearby_issues=[
            {
                "id": 44,
                "category": "Noise",
                "description": "Grinding",
                "status": "open",
                "requested_at": wt(T0 - 5 * H),
                "distance_m": 35.4,
            }
        ],
    )


def test_series_per_metric_oldest_first_with_units() -> None:
    m = AssetHistoryModel()
    m.set_history(pump_history())
    v = m.series("vibration")
    assert v.unit == "mm/s" and not v.discrete
    assert v.x.tolist() == [(T0 - k * H).timestamp() for k in (3, 2, 1, 0)]
    # Two rows at 2 h ago: the reply lists the later row first (ts desc, id desc); it wins.
    assert v.y.tolist() == [5.0, 4.0, 3.0, 2.0]
    p = m.series("pressure")
    assert np.allclose(p.y, [3.8, 3.9, 4.0])
    assert m.metrics() == ["flow", "pressure", "vibration", "temperature"]
    assert m.default_metric() == "pressure"  # the first in catalog order with readings
    assert len(m.series("flow").x) == 0


def test_limits_come_from_the_catalog() -> None:
    m = AssetHistoryModel()
    m.set_history(pump_history())
    info = metric("pump", "pressure")
    assert info is not None
    assert m.limits("pressure") == [
        LimitLine(info.low_limit or 0, "alarm", "low"),
        LimitLine(info.high_limit or 0, "alarm", "high"),
        LimitLine(info.warn_low or 0, "warn", "low"),
    ]
    assert [lim.label for lim in m.limits("vibration")] == ["alarm high 7.1", "warn high 4.5"]
    assert m.limits("nonsense") == []


def test_alarm_markers_sit_at_raise_times_of_their_metric() -> None:
    m = AssetHistoryModel()
    m.set_history(pump_history())
    marks = m.alarm_markers("vibration")
    assert [(k.alarm_id, k.t, k.severity) for k in marks] == [
        (5, (T0 - 90 * timedelta(minutes=1)).timestamp(), "major")
    ]
    assert [k.alarm_id for k in m.alarm_markers("pressure")] == [6]


def test_events_in_time_order_with_crews_jobs_alarms_and_reports() -> None:
    m = AssetHistoryModel()
    m.set_history(pump_history())
    events = m.events()
    assert [e.kind for e in events] == [
        "install",
        "failure",
        "job",
        "repair",
        "report",
        "alarm",
        "alarm",
    ]
    times = [e.t for e in events]
    assert times == sorted(times)
    repair = events[3]
    assert repair.detail == "Seal · by W4 Pumps · job #17" and repair.ref == "job/17"
    job = events[2]
    assert job.title == "Job #17: Replace seal" and job.detail == "P2 · done · by W4 Pumps"
    assert events[4].detail == "Grinding · open · 35 m away"
    assert events[-1].title == "■ Critical alarm: pressure critical on asset 1"


def test_live_changes_extend_readings_and_events() -> None:
    m = AssetHistoryModel()
    m.set_history(pump_history())
    seen: list[frozenset[str]] = []
    m.changed.connect(seen.append)
    newer = asset(1, "Pump A", latest={"vibration": [wt(T0 + H), 3.3], "pressure": [wt(T0), 4.0]})
    m.apply_many([("asset/1", newer), ("asset/2", asset(2, "Other"))])
    assert seen[-1] == frozenset({"asset", "readings"})
    assert m.series("vibration").y[-1] == 3.3
    assert len(m.series("pressure").x) == 3  # not newer: not added again
    m.apply_many(
        [("alarm/9", alarm(9, asset_id=1, metric="flow")), ("alarm/10", alarm(10, asset_id=2))]
    )
    assert 9 in m.alarms and 10 not in m.alarms
    m.apply_many([("crew/3", {"id": 3, "name": "Pumps North"}), ("job/17", None)])
    assert 17 not in m.jobs
    assert any("by Pumps North" in e.detail for e in m.events())


def test_job_draft_follows_the_worst_open_alarm() -> None:
    m = AssetHistoryModel()
    m.set_history(pump_history())
    draft = m.job_draft()
    assert draft.priority == 1 and draft.skills == ["water", "mechanical"]
    assert draft.title == "Pump A: pressure critical on asset 1"
    m.set_history(history(asset(2, "Lamp", "street_light"), []))
    assert m.job_draft().title == "Inspect Lamp" and m.job_draft().skills == ["electrical"]


def test_a_history_without_an_asset_is_refused() -> None:
    with pytest.raises(ValueError, match="asset"):
        AssetHistoryModel().set_history({"readings": []})


def test_asset_index_finds_by_id_then_name() -> None:
    index = AssetIndex(
        [
            (12, "Pump Harbour", "pump"),
            (3, "Light 12 Elm", "street_light"),
            (120, "Pump 12", "pump"),
        ]
    )
    assert [e.id for e in index.find("12")] == [12, 120, 3]
    assert [e.id for e in index.find("#3")] == [3]
    assert [e.id for e in index.find("pump h")] == [12]
    assert [e.id for e in index.find("elm")] == [3]
    assert [e.id for e in index.find("street")] == [3]
    assert index.find("   ") == [] and index.find("zzz") == []
    assert index.find("12")[0].label == "Pump Harbour · pump · #12"
    replica = {"asset/5": asset(5, "Five"), "job/1": {"id": 1}}
    assert [e.id for e in AssetIndex.from_entities(replica).entries] == [5]
