"""Groups, schedules and the scheduler loop on a controlled clock with a fake job engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kanri.domain.calendars import make_calendar
from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.jobs import JobState
from kanri.domain.schedules import MissedPolicy, RunStatus
from kanri.domain.states import PowerAction
from kanri.drivers.fake import world_of
from kanri.engine.manager import Manager
from kanri.engine.scheduler import Scheduler, SchedulerOptions
from kanri.engine.schedules import ScheduleService
from tests.unit.engine.schedule_helpers import START, Clock, FakeSubmitter, schedule_of
from tests.waiting import wait_for


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def service(manager: Manager, clock: Clock) -> ScheduleService:
    for name in ("web1", "web2", "web3"):
        manager.machines.add(name, _bmc(name), driver="fake")
    manager.schedules.clock = clock
    return manager.schedules


def _bmc(name: str) -> Any:
    from kanri.domain.model import Bmc

    return Bmc(f"fake://{name}", "admin", "pw")


def _scheduler(service: ScheduleService, clock: Clock, sub: FakeSubmitter, owner: str) -> Scheduler:
    return Scheduler(service, sub, SchedulerOptions(), clock=clock, owner=owner)


def test_groups_expand_and_unknown_members_store_nothing(manager: Manager) -> None:
    for name in ("web1", "web2"):
        manager.machines.add(name, _bmc(name), driver="fake")
    manager.groups.add("web", ["web2", "web1"])
    assert manager.groups.get("web").members == ("web1", "web2")
    assert manager.groups.expand(["web2", "web", "web1"]) == ["web2", "web1"]
    with pytest.raises(NotFound, match="no machine named nope"):
        manager.groups.add("bad", ["web1", "nope"])
    with pytest.raises(NotFound):
        manager.groups.get("bad")
    with pytest.raises(Conflict, match="machine's name"):
        manager.groups.add("web1", [])
    with pytest.raises(NotFound, match="no machine or group named ghost"):
        manager.groups.expand(["ghost"])
    manager.groups.change("web", add=[], remove=["web2"])
    # Removing a machine drops it from its groups.
    manager.machines.remove("web1")
    assert manager.groups.get("web").members == ()


def test_a_due_run_fires_once(service: ScheduleService, clock: Clock) -> None:
    service.add(schedule_of("morning", "weekly mon-fri 07:00"))
    sub = FakeSubmitter()
    scheduler = _scheduler(service, clock, sub, "a")
    assert scheduler.tick() == 0
    assert scheduler.seconds_to_next() == SchedulerOptions().interval
    clock.now = START + timedelta(hours=1)  # 07:00 exactly
    assert scheduler.tick() == 1
    assert scheduler.tick() == 0
    clock.now += timedelta(seconds=30)
    assert scheduler.tick() == 0
    assert sub.jobs == [("power", ["web1"], {"action": "on", "wait": False})]
    [run] = service.runs("morning")
    assert (run.status, run.job_id, run.due_at) == (
        RunStatus.SUBMITTED,
        "1",
        clock.now - timedelta(seconds=30),
    )


def test_two_schedulers_on_one_database_fire_a_run_once(
    service: ScheduleService, clock: Clock
) -> None:
    service.add(schedule_of("morning", "cron 0 7 * * *"))
    a, b = FakeSubmitter(), FakeSubmitter()
    first, second = _scheduler(service, clock, a, "a"), _scheduler(service, clock, b, "b")
    clock.now = START + timedelta(hours=1, seconds=5)
    assert first.tick() + second.tick() == 1
    assert second.tick() + first.tick() == 0
    assert len(a.jobs) + len(b.jobs) == 1


def test_missed_runs_skip(service: ScheduleService, clock: Clock) -> None:
    service.add(schedule_of("hourly", "cron 0 * * * *", missed=MissedPolicy.SKIP))
    sub = FakeSubmitter()
    clock.now = START + timedelta(hours=5, minutes=30)  # down from 06:00 to 11:30
    scheduler = _scheduler(service, clock, sub, "a")
    assert scheduler.tick() == 0
    [run] = service.runs("hourly")
    assert run.status is RunStatus.SKIPPED
    assert "5 run(s) missed" in run.detail
    assert run.due_at == START + timedelta(hours=5)
    clock.now = START + timedelta(hours=6)  # the next one is on time
    assert scheduler.tick() == 1
    assert sub.jobs[0][2]["action"] == "on"


def test_missed_runs_run_once_fires_once_only(service: ScheduleService, clock: Clock) -> None:
    service.add(
        schedule_of("hourly", "cron 0 * * * *", missed=MissedPolicy.RUN_ONCE, target="web2")
    )
    sub = FakeSubmitter()
    clock.now = START + timedelta(hours=5, minutes=30)
    first, second = _scheduler(service, clock, sub, "a"), _scheduler(service, clock, sub, "b")
    assert first.tick() == 1
    assert second.tick() == 0  # another manager starting at the same time: still once
    clock.now += timedelta(minutes=10)
    assert first.tick() == 0
    assert len(sub.jobs) == 1
    [run] = service.runs("hourly")
    assert run.due_at == START + timedelta(hours=5)
    assert "5 run(s) missed" in run.detail


def test_a_group_target_fires_on_its_members(
    manager: Manager, service: ScheduleService, clock: Clock
) -> None:
    manager.groups.add("web", ["web1", "web3"])
    service.add(schedule_of("night", "cron 0 7 * * *", target="web", action=PowerAction.OFF))
    sub = FakeSubmitter()
    clock.now = START + timedelta(hours=1)
    assert _scheduler(service, clock, sub, "a").tick() == 1
    assert sub.jobs == [("power", ["web1", "web3"], {"action": "off", "wait": False})]
    with pytest.raises(Conflict, match="used by schedule"):
        manager.groups.remove("web")


def test_a_run_that_cannot_be_submitted_is_recorded_failed(
    manager: Manager, service: ScheduleService, clock: Clock
) -> None:
    manager.groups.add("empty", [])
    service.add(schedule_of("e", "cron 0 7 * * *", target="empty"))
    clock.now = START + timedelta(hours=1)
    assert _scheduler(service, clock, FakeSubmitter(), "a").tick() == 0
    [run] = service.runs("e")
    assert run.status is RunStatus.FAILED
    assert "no members" in run.detail


def test_bad_input_is_refused_and_nothing_stored(
    manager: Manager, service: ScheduleService
) -> None:
    with pytest.raises(NotFound, match="no machine or group named ghost"):
        service.add(schedule_of("a", "cron 0 7 * * *", target="ghost"))
    with pytest.raises(NotFound, match="no calendar named 'hols'"):
        service.add(schedule_of("a", "cron 0 7 * * *", calendar="hols"))
    with pytest.raises(Invalid, match="in the past"):
        service.add(schedule_of("a", "once 2025-01-01T00:00"))
    with pytest.raises(Invalid, match="unknown time zone"):
        schedule_of("a", "cron 0 7 * * *", zone="Nowhere/Land")
    assert service.schedules() == []


def test_conflicting_schedules_are_refused_naming_the_other(
    manager: Manager, service: ScheduleService
) -> None:
    manager.groups.add("web", ["web1", "web2"])
    service.add(schedule_of("on-weekdays", "weekly mon-fri 07:00", target="web"))
    with pytest.raises(Conflict, match="schedule on-weekdays does on on web2 at the same minute"):
        service.add(
            schedule_of(
                "off", "cron 0 8 * * 3", target="web2", action=PowerAction.OFF, zone="Europe/Paris"
            )
        )
    # Same action at the same minute, or another minute: no conflict.
    service.add(schedule_of("also-on", "cron 0 7 * * *", target="web2"))
    service.add(
        schedule_of("off-later", "weekly mon-fri 07:01", target="web1", action=PowerAction.OFF)
    )
    assert [s.schedule.name for s in service.schedules()] == ["also-on", "off-later", "on-weekdays"]


def test_calendars_and_next(manager: Manager, service: ScheduleService) -> None:
    service.add_calendar(make_calendar("hols", ["2026-01-06"]))
    service.add(schedule_of("m", "weekly mon-fri 07:00", calendar="hols"))
    assert [r.day for r in service.next("m", 3)] == [5, 7, 8]
    with pytest.raises(Conflict, match="used by schedule"):
        service.remove_calendar("hols")
    with pytest.raises(Invalid, match="count"):
        service.next("m", 0)
    service.remove("m")
    service.remove_calendar("hols")
    assert service.calendars() == []


def test_a_due_run_powers_its_target_through_a_real_job(manager: Manager, clock: Clock) -> None:
    """The scheduler and the job engine together: the run becomes a power job that the
    fake BMC sees, once."""
    manager.machines.add("web1", _bmc("web1"), driver="fake")
    manager.schedules.clock = clock
    manager.schedules.add(schedule_of("wake", "weekly mon-fri 07:00"))
    manager.jobs.start()
    scheduler = Scheduler(manager.schedules, manager.jobs, SchedulerOptions(), clock=clock)
    clock.now = START + timedelta(hours=1)
    assert scheduler.tick() == 1
    assert scheduler.tick() == 0
    [run] = manager.schedules.runs("wake")
    assert run.job_id is not None
    wait_for(lambda: manager.jobs.get(int(run.job_id or 0)).state.ended)
    job = manager.jobs.get(int(run.job_id))
    assert job.state is JobState.SUCCEEDED, job.error
    system = world_of(manager.drivers.context).bmcs["fake://web1"].systems["1"]
    assert system.commands == ["on"]
