"""Removing and renaming a machine against what else names it: a live job's target lock,
schedules (on the machine or on a group it is in), groups."""

from __future__ import annotations

import pytest

from kanri.domain.errors import Conflict
from kanri.domain.model import Bmc
from kanri.domain.schedules import Schedule, parse_rule
from kanri.domain.states import PowerAction
from kanri.engine.manager import Manager

BMC = Bmc("fake://rack?systems=3", "admin", "pw")


@pytest.fixture
def rack(manager: Manager) -> Manager:
    manager.machines.add("rack", BMC, driver="fake")  # rack-1, rack-2, rack-3
    return manager


def _names(manager: Manager) -> list[str]:
    return [m.name for m in manager.repo.list_machines()]


def test_a_live_job_s_lock_refuses_remove_and_rename_naming_the_job(rack: Manager) -> None:
    assert rack.jobs.repo.acquire(["rack-1"], 41, "another-manager", lease=60) == {}
    with pytest.raises(Conflict, match=r"rack-1 is busy \(held by job 41\)"):
        rack.machines.remove("rack-1")
    with pytest.raises(Conflict, match=r"rack-1 is busy \(held by job 41\)"):
        rack.machines.rename("rack-1", "db1")
    assert _names(rack) == ["rack-1", "rack-2", "rack-3"]  # nothing changed
    rack.machines.rename("rack-2", "db2")  # other machines are free
    rack.jobs.repo.release(41)
    rack.machines.rename("rack-1", "db1")
    rack.machines.remove("db1")
    assert _names(rack) == ["db2", "rack-3"]


def test_an_expired_lease_holds_nothing(rack: Manager) -> None:
    assert rack.jobs.repo.acquire(["rack-1", "rack-2"], 7, "dead-manager", lease=-1) == {}
    rack.machines.rename("rack-1", "web1")
    rack.machines.remove("rack-2")
    assert _names(rack) == ["rack-3", "web1"]


def test_a_job_s_lock_on_the_new_name_refuses_a_rename_to_it(rack: Manager) -> None:
    rack.jobs.repo.acquire(["web9"], 8, "another-manager", lease=60)
    with pytest.raises(Conflict, match=r"held by job 8"):
        rack.machines.rename("rack-1", "web9")


def _schedule(name: str, target: str) -> Schedule:
    return Schedule(name, PowerAction.ON, target, parse_rule("cron 0 7 * * *"), "UTC")


def test_a_schedule_on_the_machine_or_its_group_refuses_removal(rack: Manager) -> None:
    rack.groups.add("web", ["rack-1", "rack-2"])
    rack.groups.add("spare", ["rack-2", "rack-3"])  # no schedule uses it
    rack.schedules.add(_schedule("wake", "web"))
    rack.schedules.add(_schedule("direct", "rack-1"))
    with pytest.raises(
        Conflict,
        match=r"rack-1 is used by schedule\(s\) direct, wake \(through group web\): remove",
    ):
        rack.machines.remove("rack-1")
    with pytest.raises(Conflict, match=r"schedule\(s\) wake \(through group web\)"):
        rack.machines.remove("rack-2")
    assert _names(rack) == ["rack-1", "rack-2", "rack-3"]
    assert [s.schedule.name for s in rack.schedules.schedules()] == ["direct", "wake"]
    # A group no schedule uses just loses the member.
    rack.machines.remove("rack-3")
    assert rack.groups.get("spare").members == ("rack-2",)
    # Out of the scheduled group, and with its own schedule gone, it can go.
    rack.groups.change("web", add=[], remove=["rack-1"])
    rack.schedules.remove("direct")
    rack.machines.remove("rack-1")
    assert _names(rack) == ["rack-2"]
    assert rack.groups.get("web").members == ("rack-2",)


def test_rename_keeps_groups_and_schedules(rack: Manager) -> None:
    rack.groups.add("web", ["rack-1"])
    rack.schedules.add(_schedule("direct", "rack-1"))
    rack.machines.rename("rack-1", "web1")
    assert rack.groups.get("web").members == ("web1",)
    assert rack.schedules.get("direct").schedule.target == "web1"
