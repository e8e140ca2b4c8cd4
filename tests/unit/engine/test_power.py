from __future__ import annotations

import threading
import time

import pytest

from kanri.domain.errors import BmcUnreachable, Conflict
from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.fake import FakeWorld
from kanri.engine.manager import Manager

BMC = Bmc("fake://box", "admin", "pw")


def _kinds(manager: Manager) -> list[str]:
    return [e["kind"] for e in reversed(manager.repo.list_events())]


def test_one_command_at_a_time_per_machine(manager: Manager, world: FakeWorld) -> None:
    manager.machines.add("box", BMC, driver="fake")
    gate = world.bmcs[BMC.url].gate = threading.Event()  # the BMC hangs until opened
    world.bmcs[BMC.url].attempts = 0
    first = threading.Thread(target=manager.power.set, args=("box", PowerAction.RESET))
    world.bmcs[BMC.url].systems["1"].power = PowerState.ON
    first.start()
    try:
        while world.bmcs[BMC.url].attempts == 0:
            time.sleep(0.005)
        with pytest.raises(Conflict, match=r"box is busy \(power reset\)"):
            manager.power.set("box", PowerAction.RESET)
        with pytest.raises(Conflict, match="busy"):
            manager.machines.remove("box")
        with pytest.raises(Conflict, match="busy"):
            manager.machines.rename("box", "crate")
    finally:
        gate.set()
        first.join()
    assert world.bmcs[BMC.url].systems["1"].commands == ["reset"]
    manager.machines.rename("box", "crate")  # free again
    assert manager.repo.get_machine("crate").name == "crate"


def test_the_intent_is_recorded_before_acting_and_a_failure_after(
    manager: Manager, world: FakeWorld
) -> None:
    manager.machines.add("box", BMC, driver="fake")
    world.bmcs[BMC.url].fail_after = world.bmcs[BMC.url].requests + 1  # read ok, command fails
    with pytest.raises(Exception, match="HTTP 500"):
        manager.power.set("box", PowerAction.ON)
    assert _kinds(manager)[-2:] == ["power.command", "power.command_failed"]
    # what kanri asked for is known, so the sync loop can tell if it happened after all
    assert manager.repo.get_machine("box").desired_power is PowerState.ON


def test_a_bmc_that_never_answers_is_unreachable_at_the_deadline(
    manager: Manager, world: FakeWorld
) -> None:
    manager.machines.add("box", BMC, driver="fake")
    manager.operator_calls.deadline = 0.2
    gate = world.bmcs[BMC.url].gate = threading.Event()
    try:
        with pytest.raises(BmcUnreachable, match=r"no answer within 0.2s"):
            manager.power.read("box")
    finally:
        gate.set()
