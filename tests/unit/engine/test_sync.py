from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kanri.domain.model import Bmc, Machine
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.fake import FakeWorld, world_of
from kanri.engine.manager import Manager, ManagerOptions
from kanri.engine.sync import SyncOptions
from kanri.settings import Settings

BMC = Bmc("fake://chassis?systems=3", "admin", "secret")


def _kinds(manager: Manager) -> list[str]:
    return [e["kind"] for e in manager.repo.list_events()]


def test_a_sweep_reads_every_machine_and_writes_only_changes(
    manager: Manager, world: FakeWorld
) -> None:
    manager.machines.add("c", BMC, driver="fake")
    first = manager.sync.sweep()
    assert (first.machines, first.ok, first.changed) == (3, 3, 0)  # discovery stored "off"
    world.bmcs[BMC.url].systems["2"].power = PowerState.ON
    second = manager.sync.sweep()
    assert second.changed == 1
    assert manager.repo.get_machine("c-2").power is PowerState.ON
    assert manager.sync.sweep().changed == 0


def test_a_power_change_behind_kanri_s_back_is_one_drift_event(
    manager: Manager, world: FakeWorld
) -> None:
    manager.machines.add("c", BMC, driver="fake")
    manager.power.set("c-1", PowerAction.ON)
    world.bmcs[BMC.url].systems["1"].power = PowerState.OFF  # someone pulled the plug
    manager.sync.sweep()
    manager.sync.sweep()
    drift = [e for e in manager.repo.list_events() if e["kind"] == "power.drift"]
    assert len(drift) == 1
    assert drift[0]["target"] == "c-1"
    assert drift[0]["details"] == {"observed": "off", "desired": "on"}


def test_drift_is_not_reported_while_a_command_settles(tmp_path: Path) -> None:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'grace.db'}")
    manager = Manager(settings, ManagerOptions(workers=2, run_sync=False))  # default grace
    try:
        world = world_of(manager.drivers.context)
        manager.machines.add("c", BMC, driver="fake")
        manager.power.set("c-1", PowerAction.ON)
        world.bmcs[BMC.url].systems["1"].power = PowerState.OFF  # BMC still on its way
        manager.sync.sweep()
        assert "power.drift" not in _kinds(manager)
    finally:
        manager.stop()


def test_an_unreachable_bmc_is_one_event_after_the_debounce(
    manager: Manager, world: FakeWorld
) -> None:
    manager.machines.add("solo", Bmc("fake://solo", "admin", "pw"), driver="fake")
    world.bmcs["fake://solo"].reachable = False
    for _ in range(2):
        manager.sync.sweep()
    assert "bmc.unreachable" not in _kinds(manager)
    assert manager.repo.get_machine("solo").reachable
    for _ in range(3):
        manager.sync.sweep()
    assert _kinds(manager).count("bmc.unreachable") == 1
    assert not manager.repo.get_machine("solo").reachable
    world.bmcs["fake://solo"].reachable = True
    manager.sync.sweep()
    assert _kinds(manager).count("bmc.reachable") == 1
    assert manager.repo.get_machine("solo").reachable


def test_a_dead_chassis_costs_a_few_requests_not_one_per_blade(
    manager: Manager, world: FakeWorld
) -> None:
    chassis = Bmc("fake://dead-chassis?systems=40", "admin", "pw")
    manager.machines.add("blade", chassis, driver="fake")
    manager.machines.add("alive", Bmc("fake://alive?systems=5", "admin", "pw"), driver="fake")
    world.bmcs[chassis.url].reachable = False
    world.bmcs[chassis.url].attempts = 0
    stats = manager.sync.sweep()
    window = manager.drivers.context.options.per_bmc_concurrency
    assert world.bmcs[chassis.url].attempts <= window
    assert (stats.machines, stats.failed, stats.ok) == (45, 40, 5)
    for _ in range(2):
        manager.sync.sweep()
    blades = [m for m in manager.repo.list_machines() if m.name.startswith("blade")]
    assert len(blades) == 40
    assert not any(m.reachable for m in blades)
    assert _kinds(manager).count("bmc.unreachable") == 40


def test_an_operator_is_not_queued_behind_a_sweep(manager: Manager, world: FakeWorld) -> None:
    stuck = Bmc("fake://stuck?systems=8", "admin", "pw")
    manager.machines.add("stuck", stuck, driver="fake")
    manager.machines.add("fast", Bmc("fake://fast", "admin", "pw"), driver="fake")
    gate = world.bmcs[stuck.url].gate = threading.Event()  # its reads hang until opened
    world.bmcs[stuck.url].attempts = 0
    sweep = threading.Thread(target=manager.sync.sweep)
    sweep.start()
    try:
        while world.bmcs[stuck.url].attempts == 0:  # the sweep holds the workers now
            time.sleep(0.005)
        operator = threading.Thread(target=manager.power.set, args=("fast", PowerAction.ON))
        operator.start()
        operator.join(timeout=10)
        assert not operator.is_alive(), "the operator's call is queued behind the sweep"
        assert world.bmcs["fake://fast"].systems["1"].power is PowerState.ON
    finally:
        gate.set()
        sweep.join()


def test_a_machine_removed_during_a_sweep_does_not_end_it(
    manager: Manager, world: FakeWorld
) -> None:
    manager.machines.add("c", BMC, driver="fake")
    gate = world.bmcs[BMC.url].gate = threading.Event()
    world.bmcs[BMC.url].attempts = 0
    for system in ("1", "3"):  # changed, so the sweep writes: c-1's write finds no row
        world.bmcs[BMC.url].systems[system].power = PowerState.ON
    sweep = threading.Thread(target=manager.sync.sweep)
    sweep.start()
    try:
        while world.bmcs[BMC.url].attempts < 3:
            time.sleep(0.005)
        manager.machines.remove("c-1")
    finally:
        gate.set()
        sweep.join()
    stats = manager.sync.last_sweep
    assert stats is not None
    assert (stats.machines, stats.ok) == (3, 3)
    assert manager.repo.get_machine("c-3").power is PowerState.ON  # the rest was recorded


def test_a_hung_bmc_delays_its_own_machines_not_the_sweep(tmp_path: Path) -> None:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'deadline.db'}")
    options = ManagerOptions(workers=8, run_sync=False, sync=SyncOptions(deadline=0.3))
    manager = Manager(settings, options)
    world = world_of(manager.drivers.context)
    hung = Bmc("fake://hung?systems=6", "admin", "pw")
    gate = threading.Event()
    try:
        manager.machines.add("hung", hung, driver="fake")
        manager.machines.add("fine", Bmc("fake://fine", "admin", "pw"), driver="fake")
        world.bmcs[hung.url].gate = gate
        world.bmcs[hung.url].attempts = 0
        world.bmcs["fake://fine"].systems["1"].power = PowerState.ON
        first = manager.sync.sweep()
        assert (first.machines, first.ok, first.late) == (7, 1, 6)
        assert manager.repo.get_machine("fine").power is PowerState.ON
        window = manager.drivers.context.options.per_bmc_concurrency
        assert world.bmcs[hung.url].attempts == window
        second = manager.sync.sweep()  # the reads still out are not asked again
        assert second.late == 6
        assert world.bmcs[hung.url].attempts == 6
    finally:
        gate.set()
        manager.stop()


def test_a_command_from_another_manager_is_not_drift(tmp_path: Path) -> None:
    """The command time is in the database, so a second manager on it knows too."""
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'shared.db'}")
    options = ManagerOptions(workers=2, operator_workers=2, run_sync=False)
    first, second = Manager(settings, options), Manager(settings, options)
    try:
        first.machines.add("c", BMC, driver="fake")
        first.power.set("c-1", PowerAction.ON)
        second.sync.sweep()  # its fake BMC reads off: as if the command were on its way
        assert "power.drift" not in _kinds(second)
    finally:
        first.stop()
        second.stop()


def test_a_machine_a_live_job_holds_reads_without_drift(manager: Manager, world: FakeWorld) -> None:
    """Mid-job (a cascade stops a partition with its host) what kanri last set may lag the
    machine: the reading is recorded, and is no drift while the job holds the machine."""
    manager.machines.add("c", BMC, driver="fake")
    manager.power.set("c-1", PowerAction.ON)
    manager.sync.sweep()  # stored: on
    world.bmcs[BMC.url].systems["1"].power = PowerState.OFF  # the job's doing, say
    assert manager.jobs.repo.acquire(["c-1"], 12, "a-manager", lease=60) == {}
    stats = manager.sync.sweep()
    assert manager.repo.get_machine("c-1").power is PowerState.OFF  # still recorded
    assert stats.changed == 1
    assert "power.drift" not in _kinds(manager)
    manager.jobs.repo.release(12)  # the job ended and left it off against kanri's word
    manager.sync.sweep()
    assert _kinds(manager).count("power.drift") == 1


def test_an_expired_job_lock_does_not_hide_drift(manager: Manager, world: FakeWorld) -> None:
    manager.machines.add("c", BMC, driver="fake")
    manager.power.set("c-1", PowerAction.ON)
    world.bmcs[BMC.url].systems["1"].power = PowerState.OFF
    manager.jobs.repo.acquire(["c-1"], 13, "a-dead-manager", lease=-1)
    manager.sync.sweep()
    assert _kinds(manager).count("power.drift") == 1


def test_a_command_after_the_sweep_read_the_store_is_not_drift(
    manager: Manager, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep compares with the store as it read it at its start; a command sent after
    that (the store now wants off) is seen before any drift is reported."""
    manager.machines.add("c", BMC, driver="fake")
    manager.power.set("c-1", PowerAction.ON)
    manager.sync.sweep()  # stored: on
    read_store = manager.repo.machines_with_bmcs

    def then_an_operator_stops_c1() -> list[tuple[Machine, Bmc]]:
        machines = read_store()
        manager.power.set("c-1", PowerAction.OFF)
        return machines

    monkeypatch.setattr(manager.repo, "machines_with_bmcs", then_an_operator_stops_c1)
    manager.sync.sweep()  # reads c-1 off; its snapshot says kanri wants it on
    assert manager.repo.get_machine("c-1").power is PowerState.OFF
    assert "power.drift" not in _kinds(manager)
