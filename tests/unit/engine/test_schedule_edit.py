"""Disabling, enabling and editing schedules, on a controlled clock: a disabled schedule
makes no runs, enabling it replays none of the runs it missed, an edit is checked like an
add and changes nothing when refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kanri.domain.calendars import make_calendar
from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.model import Bmc
from kanri.domain.schedule_book import ScheduleChange
from kanri.domain.schedules import MissedPolicy, RunStatus
from kanri.domain.states import PowerAction
from kanri.engine.manager import Manager
from kanri.engine.scheduler import Scheduler, SchedulerOptions
from kanri.engine.schedules import ScheduleService
from tests.unit.engine.schedule_helpers import START, Clock, FakeSubmitter, schedule_of


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def service(manager: Manager, clock: Clock) -> ScheduleService:
    for name in ("web1", "web2"):
        manager.machines.add(name, Bmc(f"fake://{name}", "admin", "pw"), driver="fake")
    manager.schedules.clock = clock
    return manager.schedules


def _events(manager: Manager, prefix: str = "schedule.") -> list[str]:
    return [e["message"] for e in manager.repo.list_events() if e["kind"].startswith(prefix)]


def test_a_disabled_schedule_makes_no_runs_and_enabling_replays_none(
    manager: Manager, service: ScheduleService, clock: Clock
) -> None:
    # run_once would fire the latest missed run: it must not for runs missed while disabled
    service.add(schedule_of("hourly", "cron 0 * * * *", missed=MissedPolicy.RUN_ONCE))
    sub = FakeSubmitter()
    scheduler = Scheduler(service, sub, SchedulerOptions(), clock=clock, owner="a")
    assert not service.disable("hourly").schedule.enabled
    clock.now = START + timedelta(hours=1)  # 07:00, due
    assert scheduler.tick() == 0
    assert service.next("hourly") == []
    clock.now = START + timedelta(days=2, minutes=30)
    assert scheduler.tick() == 0

    enabled = service.enable("hourly")
    assert (enabled.schedule.enabled, enabled.runs_from) == (True, clock.now)
    assert scheduler.tick() == 0
    assert service.runs("hourly") == []  # nothing fired, nothing recorded as missed
    assert service.next("hourly", 1) == [START + timedelta(days=2, hours=1)]
    clock.now = START + timedelta(days=2, hours=1)
    assert scheduler.tick() == 1
    assert [r.due_at for r in service.runs("hourly")] == [clock.now]
    assert len(sub.jobs) == 1
    assert _events(manager)[:3] == [
        "schedule hourly: on web1 (job 1)",
        "enabled schedule hourly",
        "disabled schedule hourly",
    ]


def test_enabling_an_enabled_schedule_changes_nothing(
    manager: Manager, service: ScheduleService, clock: Clock
) -> None:
    added = service.add(schedule_of("s", "cron 0 7 * * *"))
    clock.now += timedelta(minutes=5)
    assert service.enable("s") == added
    assert _events(manager) == [_events(manager)[0]]  # only "added"


def test_edit_changes_only_the_given_fields(
    manager: Manager, service: ScheduleService, clock: Clock
) -> None:
    service.add_calendar(make_calendar("hols", ["2026-01-06"]))
    service.add(schedule_of("wake", "weekly mon-fri 07:00", zone="Asia/Tokyo", calendar="hols"))
    clock.now += timedelta(minutes=1)
    changed = service.change("wake", ScheduleChange(time="08:15")).schedule
    assert str(changed.rule) == "weekly mon,tue,wed,thu,fri 08:15"
    assert (changed.zone, changed.calendar, changed.target) == ("Asia/Tokyo", "hols", "web1")
    changed = service.change("wake", ScheduleChange(weekdays=("sat",))).schedule
    assert str(changed.rule) == "weekly sat 08:15"
    changed = service.change(
        "wake", ScheduleChange(action=PowerAction.OFF, target="web2", calendar=None)
    ).schedule
    assert (changed.action, changed.target, changed.calendar) == (PowerAction.OFF, "web2", None)
    stored = service.change("wake", ScheduleChange(cron="30 6 * * *", zone="UTC"))
    assert (str(stored.schedule.rule), stored.schedule.zone) == ("cron 30 6 * * *", "UTC")
    assert stored.runs_from == clock.now
    assert "rule: weekly sat 08:15 -> cron 30 6 * * *" in _events(manager)[0]


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        (ScheduleChange(cron="0 25 * * *"), Invalid, "hour 25"),
        (ScheduleChange(zone="Europe/Nowhere"), Invalid, "unknown time zone"),
        (ScheduleChange(target="ghost"), NotFound, "no machine or group named ghost"),
        (ScheduleChange(calendar="nope"), NotFound, "no calendar named 'nope'"),
        (ScheduleChange(at="2001-01-01T00:00"), Invalid, "in the past"),
        (ScheduleChange(weekdays=("funday",), time="07:00"), Invalid, "not a weekday"),
        (ScheduleChange(weekdays=("mon",)), Invalid, "need a time of day"),
        (ScheduleChange(cron="0 9 * * *", at="2099-01-01T00:00"), Invalid, "say when"),
        (ScheduleChange(time="09:00"), Invalid, "a time alone"),
        (ScheduleChange(calendar_mode=None), Invalid, "nothing to change"),
        (ScheduleChange(cron="0 9 * * 1"), Conflict, "schedule nine does off on web1"),
    ],
)
def test_a_refused_edit_changes_nothing(
    service: ScheduleService, change: ScheduleChange, error: type[Exception], says: str
) -> None:
    service.add(schedule_of("nine", "cron 0 9 * * *", action=PowerAction.OFF))
    before = service.add(schedule_of("s", "cron 0 7 * * *"))
    with pytest.raises(error, match=says):
        service.change("s", change)
    assert service.get("s") == before


def test_enabling_is_checked_for_conflicts_and_disabled_ones_are_not(
    service: ScheduleService,
) -> None:
    service.add(schedule_of("on7", "cron 0 7 * * *"))
    service.disable("on7")
    service.add(schedule_of("off7", "cron 0 7 * * *", action=PowerAction.OFF))  # on7 is disabled
    with pytest.raises(Conflict, match="schedule off7 does off"):
        service.enable("on7")
    assert not service.get("on7").schedule.enabled
    # A disabled schedule may be given any times: it is checked when enabled.
    service.change("on7", ScheduleChange(cron="0 7 * * 1"))
    service.change("on7", ScheduleChange(cron="0 8 * * *"))
    assert service.enable("on7").schedule.enabled


def test_a_past_one_off_cannot_be_enabled(service: ScheduleService, clock: Clock) -> None:
    service.add(schedule_of("once", "once 2026-01-05T07:00"))
    service.disable("once")
    clock.now = START + timedelta(hours=2)
    with pytest.raises(Invalid, match="would never run"):
        service.enable("once")


def test_an_edit_does_not_fire_runs_of_the_new_times_already_past(
    service: ScheduleService, clock: Clock
) -> None:
    service.add(schedule_of("s", "cron 0 7 * * *", missed=MissedPolicy.RUN_ONCE))
    sub = FakeSubmitter()
    scheduler = Scheduler(service, sub, SchedulerOptions(), clock=clock, owner="a")
    clock.now = START + timedelta(minutes=30)  # 06:30; the new time 06:00 has just passed
    service.change("s", ScheduleChange(cron="0 6 * * *"))
    assert scheduler.tick() == 0
    assert service.runs("s") == []
    clock.now = START + timedelta(days=1)
    assert scheduler.tick() == 1
    [run] = service.runs("s")
    assert (run.status, run.due_at) == (RunStatus.SUBMITTED, clock.now)
