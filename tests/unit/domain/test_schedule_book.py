"""Editing a schedule field by field, and the book it is checked against."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanri.domain.calendars import CalendarMode, make_calendar
from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.groups import Group
from kanri.domain.schedule_book import (
    ScheduleBook,
    ScheduleChange,
    apply_change,
    check_schedule,
    differences,
    timing_changed,
)
from kanri.domain.schedules import Schedule, StoredSchedule, parse_rule
from kanri.domain.states import PowerAction

NOW = datetime(2026, 1, 5, 6, tzinfo=UTC)
WAKE = Schedule("wake", PowerAction.ON, "web", parse_rule("weekly mon-fri 07:30"), "Asia/Tokyo",
                calendar="hols", calendar_mode=CalendarMode.ONLY)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (ScheduleChange(time="08:00"), "weekly mon,tue,wed,thu,fri 08:00"),
        (ScheduleChange(weekdays=("sat,sun",)), "weekly sat,sun 07:30"),
        (ScheduleChange(weekdays=("mon",), time="09:15"), "weekly mon 09:15"),
        (ScheduleChange(cron="@daily"), "cron @daily"),
        (ScheduleChange(at="2026-02-01T10:00"), "once 2026-02-01T10:00"),
        (ScheduleChange(zone="UTC"), "weekly mon,tue,wed,thu,fri 07:30"),
    ],
)
def test_the_rule_changes_only_as_far_as_told(change: ScheduleChange, rule: str) -> None:
    assert str(apply_change(WAKE, change).rule) == rule


def test_other_fields_and_the_calendar() -> None:
    changed = apply_change(WAKE, ScheduleChange(action=PowerAction.RESET, target="db1"))
    assert (changed.action, changed.target, changed.calendar) == (PowerAction.RESET, "db1", "hols")
    assert not timing_changed(WAKE, changed)
    dropped = apply_change(WAKE, ScheduleChange(calendar=None))
    assert (dropped.calendar, dropped.calendar_mode) == (None, CalendarMode.SKIP)
    assert timing_changed(WAKE, dropped)
    assert differences(WAKE, dropped) == ["calendar: only hols -> none"]
    with pytest.raises(Invalid, match="'only' needs a calendar"):
        apply_change(dropped, ScheduleChange(calendar_mode=CalendarMode.ONLY))
    off = apply_change(WAKE, ScheduleChange(enabled=False))
    assert not timing_changed(WAKE, off)  # disabling keeps runs_from
    assert timing_changed(off, WAKE)  # enabling moves it
    with pytest.raises(Invalid, match="unknown time zone"):
        apply_change(WAKE, ScheduleChange(zone="Mars/Olympus"))
    cron = apply_change(WAKE, ScheduleChange(cron="0 7 * * *"))
    with pytest.raises(Invalid, match="a time alone changes a weekdays schedule"):
        apply_change(cron, ScheduleChange(time="08:00"))


def test_the_book_expands_like_groups_and_finds_conflicts() -> None:
    stored = StoredSchedule(1, WAKE, "group", NOW, NOW)
    book = ScheduleBook(
        (stored,),
        frozenset({"web1", "web2", "db1"}),
        {"web": Group("web", ("web1", "web2")), "db1": Group("db1", ("web1",))},
        {"hols": make_calendar("hols", ["2026-01-06"])},
    )
    assert book.expand(["db1", "web"]) == ["db1", "web1", "web2"]  # a machine wins
    with pytest.raises(NotFound, match="no machine or group named x, y"):
        book.expand(["y", "x", "web1"])
    with pytest.raises(NotFound, match="no calendar named 'c'"):
        book.calendar("c")
    # 2026-01-06 07:30 Tokyo is 2026-01-05 22:30 UTC
    off = Schedule("off", PowerAction.OFF, "web2", parse_rule("cron 30 22 * * *"), "UTC")
    with pytest.raises(Conflict, match="schedule wake does on on web2"):
        check_schedule(off, book, NOW)
    check_schedule(off, book, NOW, own_id=1)  # the schedule being edited is not "another"
    check_schedule(apply_change(off, ScheduleChange(target="db1")), book, NOW)
