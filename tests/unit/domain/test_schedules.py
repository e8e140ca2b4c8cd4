"""Schedules on a controlled clock: weekdays, cron, calendars, zones, DST, missed runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kanri.domain.calendars import Calendar, CalendarMode, make_calendar, parse_dates
from kanri.domain.cron import parse_cron
from kanri.domain.errors import Invalid
from kanri.domain.schedules import (
    CronRule,
    MissedPolicy,
    Once,
    Schedule,
    Weekly,
    check_zone,
    clash,
    make_rule,
    next_runs,
    parse_rule,
    plan_due,
    runs_between,
)
from kanri.domain.states import PowerAction

NY = "America/New_York"


def sched(rule: str, zone: str = "UTC", **kw: object) -> Schedule:
    return Schedule("s1", PowerAction.ON, "web1", parse_rule(rule), zone, **kw)  # type: ignore[arg-type]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_weekdays_at_a_time_in_a_zone() -> None:
    s = sched("weekly mon,tue,wed,thu,fri 07:30", "Asia/Tokyo")  # UTC+9, no DST
    # Friday 2026-01-09 00:00 UTC is Friday 09:00 in Tokyo: today's run has passed.
    runs = next_runs(s, None, utc(2026, 1, 9), 3)
    assert runs == [utc(2026, 1, 11, 22, 30), utc(2026, 1, 12, 22, 30), utc(2026, 1, 13, 22, 30)]


def test_cron_weekdays_ranges_steps_and_names() -> None:
    s = sched("cron */20 8-9 * * mon-fri")
    runs = next_runs(s, None, utc(2026, 1, 9, 9, 30), 4)  # a Friday
    assert runs == [utc(2026, 1, 9, 9, 40), utc(2026, 1, 12, 8), utc(2026, 1, 12, 8, 20),
                    utc(2026, 1, 12, 8, 40)]  # fmt: skip


def test_cron_day_of_month_or_day_of_week_as_vixie_cron() -> None:
    s = sched("cron 0 12 13 * fri")  # the 13th, and every Friday
    runs = next_runs(s, None, utc(2026, 2, 1), 4)
    assert [r.date() for r in runs] == [
        date(2026, 2, 6), date(2026, 2, 13), date(2026, 2, 20), date(2026, 2, 27)
    ]  # fmt: skip
    leap = sched("cron 0 0 29 feb *")
    assert next_runs(leap, None, utc(2026, 1, 1), 1) == [utc(2028, 2, 29)]
    assert next_runs(sched("cron 0 0 30 feb *"), None, utc(2026, 1, 1), 1) == []


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("* * * *", "has 4 fields"),
        ("60 * * * *", "minute 60 is outside 0-59"),
        ("0 24 * * *", "hour 24"),
        ("0 0 0 * *", "day of month 0"),
        ("0 0 * 13 *", "month 13"),
        ("0 0 * * 8", "day of week 8"),
        ("*/0 * * * *", "step"),
        ("5-1 * * * *", "runs backwards"),
        ("0 0 L * *", "is not a number"),
        ("0 0 * * mon#2", "is not a number"),
        ("", "needs 5"),
    ],
)
def test_bad_cron_says_what_is_wrong(expr: str, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        parse_cron(expr)


def test_cron_sunday_is_0_and_7_and_macros() -> None:
    assert parse_cron("0 0 * * 7").weekdays == parse_cron("0 0 * * sun").weekdays == {0}
    daily = parse_cron("@daily")
    assert (daily.minutes, daily.hours, daily.weekdays_restricted) == (
        frozenset({0}),
        frozenset({0}),
        False,
    )


def test_spring_forward_a_skipped_time_runs_at_the_end_of_the_gap() -> None:
    # New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT. 02:30 does not exist.
    s = sched("weekly sat,sun,mon 02:30", NY)
    runs = next_runs(s, None, utc(2026, 3, 7), 3)
    assert runs == [
        utc(2026, 3, 7, 7, 30),  # Saturday 02:30 EST
        utc(2026, 3, 8, 7, 0),  # Sunday: 03:00 EDT, the first minute after the gap
        utc(2026, 3, 9, 6, 30),  # Monday 02:30 EDT
    ]


def test_spring_forward_cron_in_the_gap_runs_once() -> None:
    s = sched("cron */15 2 * * *", NY)
    day = [r for r in next_runs(s, None, utc(2026, 3, 8, 5), 10) if r < utc(2026, 3, 9)]
    assert day == [utc(2026, 3, 8, 7, 0)]  # 02:00-02:45 all fold into 03:00 EDT


def test_fall_back_a_repeated_time_runs_once_at_its_first_occurrence() -> None:
    # New York, 2026-11-01: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice.
    s = sched("cron 30 1 * * *", NY)
    runs = next_runs(s, None, utc(2026, 10, 31, 12), 3)
    assert runs == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]
    hourly = sched("cron 0 * * * *", NY)
    night = runs_between(hourly, None, utc(2026, 11, 1, 3), utc(2026, 11, 1, 9, 30), 100)
    local = [r.astimezone(check_zone(NY)).strftime("%H:%M%z") for r in night]
    # 01:00 runs once (EDT); the repeated 01:00 EST does not run again.
    assert local == ["00:00-0400", "01:00-0400", "02:00-0500", "03:00-0500", "04:00-0500"]


def test_europe_changes_on_other_days() -> None:
    s = sched("weekly sun 02:30", "Europe/Berlin")  # 2026-03-29: 02:00 CET -> 03:00 CEST
    assert next_runs(s, None, utc(2026, 3, 28), 2) == [utc(2026, 3, 29, 1), utc(2026, 4, 5, 0, 30)]


def test_calendar_skip_and_only_use_dates_in_the_schedules_zone() -> None:
    holidays = make_calendar("holidays", ["2026-01-12", "# comment", "", "2026-01-14"])
    s = sched("weekly mon-fri 23:30", "America/Los_Angeles", calendar="holidays")
    runs = next_runs(s, holidays, utc(2026, 1, 12), 3)
    # Monday 12th and Wednesday 14th are holidays *in Los Angeles* (07:30 UTC next day).
    assert runs == [utc(2026, 1, 14, 7, 30), utc(2026, 1, 16, 7, 30), utc(2026, 1, 17, 7, 30)]
    only = Schedule(
        "s2", PowerAction.OFF, "web1", parse_rule("cron 0 18 * * *"), "UTC",
        calendar="holidays", calendar_mode=CalendarMode.ONLY,
    )  # fmt: skip
    assert next_runs(only, holidays, utc(2026, 1, 1), 5) == [
        utc(2026, 1, 12, 18), utc(2026, 1, 14, 18)
    ]  # fmt: skip
    assert next_runs(only, Calendar("empty", frozenset()), utc(2026, 1, 1), 1) == []


def test_once_runs_once_and_never_again() -> None:
    s = sched("once 2026-12-24T18:00", "Europe/Paris")
    assert next_runs(s, None, utc(2026, 1, 1), 3) == [utc(2026, 12, 24, 17)]
    assert next_runs(s, None, utc(2026, 12, 24, 17), 3) == []


def test_rules_round_trip_through_their_stored_form() -> None:
    for rule in [
        make_rule(at="2026-12-24T18:00"),
        make_rule(weekdays=["fri-mon"], time_of_day="07:05"),
        make_rule(cron="0  7 * * 1-5"),
    ]:
        assert parse_rule(str(rule)) == rule
    assert (
        str(make_rule(weekdays=["fri-mon"], time_of_day="07:05")) == "weekly mon,fri,sat,sun 07:05"
    )
    assert isinstance(make_rule(cron="@hourly"), CronRule)
    assert isinstance(make_rule(at="2026-01-01T00:00"), Once)
    assert isinstance(make_rule(weekdays=["mon"], time_of_day="00:00"), Weekly)


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({}, "say when"),
        ({"cron": "0 0 * * *", "at": "2026-01-01T00:00"}, "say when"),
        ({"at": "tomorrow"}, "not a date and time"),
        ({"at": "2026-01-01T00:00+02:00"}, "without an offset"),
        ({"weekdays": ["mon"]}, "need a time"),
        ({"weekdays": ["monday"], "time_of_day": "07:00"}, "not a weekday"),
        ({"weekdays": ["mon"], "time_of_day": "25:00"}, "not a time"),
    ],
)
def test_bad_rules(kw: dict[str, object], says: str) -> None:
    with pytest.raises(Invalid, match=says):
        make_rule(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime"])
def test_unknown_zone(zone: str) -> None:
    with pytest.raises(Invalid, match="unknown time zone"):
        check_zone(zone)
    with pytest.raises(Invalid, match="unknown time zone"):
        sched("cron 0 0 * * *", zone)


def test_bad_calendar_dates() -> None:
    with pytest.raises(Invalid, match="'2026-02-30' is not a date"):
        parse_dates(["2026-01-01", "2026-02-30"])


NOW = utc(2026, 5, 1, 12)
GRACE = timedelta(minutes=2)


def test_missed_runs_skip_policy_drops_them_and_records_the_latest() -> None:
    due = [NOW - timedelta(hours=3), NOW - timedelta(hours=2), NOW - timedelta(minutes=1)]
    plan = plan_due(due, NOW, GRACE, MissedPolicy.SKIP)
    assert plan.fire == [NOW - timedelta(minutes=1)]
    assert plan.skipped == NOW - timedelta(hours=2)
    assert plan.missed == 2


def test_missed_runs_run_once_fires_the_latest_missed_once() -> None:
    due = [NOW - timedelta(hours=3), NOW - timedelta(hours=2)]
    plan = plan_due(due, NOW, GRACE, MissedPolicy.RUN_ONCE)
    assert plan.fire == [NOW - timedelta(hours=2)]
    assert plan.skipped is None
    assert plan.missed == 2
    assert plan_due([], NOW, GRACE, MissedPolicy.RUN_ONCE).fire == []


def test_a_clash_is_the_first_common_minute() -> None:
    a = sched("weekly mon-fri 07:00", "Europe/Paris")
    b = sched("cron 0 6 * * 3", "UTC")  # Wednesday 06:00 UTC = 07:00 Paris in winter
    assert clash(a, None, b, None, utc(2026, 1, 1)) == utc(2026, 1, 7, 6)
    c = sched("cron 0 7 * * 6", "Europe/Paris")
    assert clash(a, None, c, None, utc(2026, 1, 1)) is None
