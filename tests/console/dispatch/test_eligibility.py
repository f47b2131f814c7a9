"""The "crews that can take this job" rule: skills, on shift, position not stale."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from backend.routing.recommend import RecommendPolicy
from console.dispatch.eligibility import STALE_AFTER_S, EligibilityRule, in_shift
from layers.crews.model import STALE_AFTER_S as LAYER_STALE_AFTER_S
from tests.console.dispatch.wire import T0, crew, job

RULE = EligibilityRule()


def test_a_fresh_skilled_crew_on_shift_can_take_the_job() -> None:
    verdict = RULE.check(job(1, skills=("pump",)), crew(1, skills=("pump", "valve")), T0)
    assert verdict.ok and verdict.allowed
    assert verdict.position_age_s == 0
    assert verdict.explain() == "can take it"


def test_missing_skills_are_named() -> None:
    verdict = RULE.check(job(1, skills=("electrical", "pump")), crew(1, skills=("pump",)), T0)
    assert not verdict.allowed
    assert verdict.blocking == ("lacks electrical",)


def test_off_shift_status_and_the_shift_window_both_count() -> None:
    assert RULE.check(job(1), crew(1, status="off_shift"), T0).blocking == ("off shift",)
    late = T0.replace(hour=20)  # the default shift is 07:00-19:00 (UTC zone)
    assert RULE.check(job(1), crew(1, seen=late), late).blocking == ("outside shift 07:00–19:00",)


def test_overnight_shifts_wrap_and_the_city_zone_is_used() -> None:
    night = crew(1, shift=("22:00", "06:00"))
    assert in_shift(night, T0.replace(hour=23))
    assert in_shift(night, T0.replace(hour=5, minute=59))
    assert not in_shift(night, T0.replace(hour=6))
    # 08:00 UTC is 10:00 in Helsinki (EET, UTC+2 in March).
    helsinki = ZoneInfo("Europe/Helsinki")
    assert not in_shift(crew(1, shift=("07:00", "09:00")), T0, helsinki)
    assert in_shift(crew(1, shift=("09:00", "11:00")), T0, helsinki)


def test_a_stale_or_missing_position_is_a_warning_not_a_block() -> None:
    old = RULE.check(job(1), crew(1, seen=T0 - timedelta(seconds=STALE_AFTER_S + 1)), T0)
    assert old.allowed and not old.ok and old.stale
    assert "position 2 min old" in old.explain()
    edge = RULE.check(job(1), crew(1, seen=T0 - timedelta(seconds=STALE_AFTER_S)), T0)
    assert edge.ok
    never = RULE.check(job(1), crew(1, seen=None), T0)
    assert never.stale and never.position_age_s is None and "no position yet" in never.explain()
    nowhere = RULE.check(job(1), crew(1, lon=None, lat=None), T0)
    assert nowhere.stale


def test_closed_jobs_and_the_crew_already_on_it_are_blocked() -> None:
    assert RULE.check(job(1, status="on_site", crew_id=2), crew(1), T0).blocking == (
        "job is on_site",
    )
    assert RULE.check(job(1, status="assigned", crew_id=1), crew(1), T0).blocking == (
        "already has this job",
    )
    assert RULE.check(job(1, status="assigned", crew_id=2), crew(1), T0).ok  # a reassignment


def test_stale_limit_matches_the_map_and_the_router() -> None:
    assert STALE_AFTER_S == LAYER_STALE_AFTER_S == RecommendPolicy().stale_after_s


def test_eligible_judges_every_crew() -> None:
    crews = {1: crew(1), 2: crew(2, skills=()), 3: crew(3, status="off_shift")}
    verdicts = RULE.eligible(job(1, skills=("pump",)), crews, T0)
    assert {i: v.ok for i, v in verdicts.items()} == {1: True, 2: False, 3: False}
