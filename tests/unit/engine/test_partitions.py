"""PartitionService and the ``mode`` job on the fake drivers: rack-1 a hypervisor (8 cores,
32 GiB in 8 GiB blocks, nic0/nic1/fc0/fc1), rack-2 a bare machine."""

from __future__ import annotations

import pytest

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.jobs import JobState
from kanri.domain.model import Bmc
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, PortUse
from kanri.domain.states import PowerAction, PowerState, SystemKind
from kanri.drivers.fake import world_of
from kanri.drivers.fake.partitions_world import FakePartitionsWorld, partitions_world_of
from kanri.engine.manager import Manager
from tests.waiting import wait_for

BMC = Bmc("fake://rack?systems=2", "admin", "pw")
APP = PartitionSpec("app-1", 2, 8, ports=(PortUse("fc0", shared=True), PortUse("nic0")))


@pytest.fixture
def rack(manager: Manager) -> Manager:
    manager.machines.add("rack", BMC, driver="fake")  # rack-1, rack-2
    world = partitions_world_of(manager.drivers.context)
    world.add_host(BMC.url, "1", cores=8, memory_gib=32)
    world.add_host(BMC.url, "2", cores=8, memory_gib=32, mode=MachineMode.BARE)
    world_of(manager.drivers.context).bmcs[BMC.url].systems["1"].power = PowerState.ON
    manager.start()
    return manager


@pytest.fixture
def parts(rack: Manager) -> FakePartitionsWorld:
    return partitions_world_of(rack.drivers.context)


def _on_fake(parts: FakePartitionsWorld) -> list[str]:
    return sorted(pid for (_, pid) in parts.partitions)


def _job(manager: Manager, job_id: int) -> JobState:
    wait_for(lambda: manager.jobs.get(job_id).state.ended, timeout=20)
    return manager.jobs.get(job_id).state


def test_create_registers_a_machine_and_keeps_the_spec(rack: Manager) -> None:
    heard: list[tuple[str, str, str]] = []
    rack.partitions.listen(lambda *a: heard.append(a))
    made = rack.partitions.create("rack-1", APP, "alice")
    machine = rack.repo.get_machine("app-1")
    assert machine.inventory.kind is SystemKind.PARTITION
    assert machine.system_id == made.id
    kept = rack.partitions.show("app-1")
    assert (kept.host, kept.spec.cores, kept.spec.memory_gib) == ("rack-1", 2, 8)
    assert [p.port for p in kept.spec.ports] == ["fc0", "nic0"]
    assert kept.spec.ports[0].identity  # the virtual WWPN the host gave it
    assert [p.name for p in rack.partitions.list("rack-1")] == ["app-1"]
    assert heard == [("rack-1", "partition create app-1", "alice")]
    pool = rack.partitions.pool("rack-1")
    assert pool.memory_used_gib == 8
    assert rack.partitions.names("rack-1") == {made.id: "app-1"}
    # power commands work on it as on any machine
    rack.power.set("app-1", PowerAction.ON)
    assert rack.power.read("app-1").power is PowerState.ON


def test_a_shortfall_is_refused_naming_asked_and_free_and_nothing_changes(
    rack: Manager, parts: FakePartitionsWorld
) -> None:
    rack.partitions.create("rack-1", PartitionSpec("big", 6, 16), "alice")
    with pytest.raises(Conflict) as refused:
        rack.partitions.create("rack-1", PartitionSpec("more", 4, 24), "alice")
    message = str(refused.value)
    assert "rack-1 cannot hold partition more" in message
    assert "cores: 4 dedicated asked, 2 free" in message
    assert "memory: 24 GiB asked, 16 GiB free" in message
    assert _on_fake(parts) == ["big"]
    assert [m.name for m in rack.repo.list_machines()] == ["big", "rack-1", "rack-2"]


BAD_INPUT: list[tuple[PartitionSpec, type[Exception], str]] = [
    # a port given twice: bad input whatever the pool
    (
        PartitionSpec("twice", 1, 8, ports=(PortUse("fc0"), PortUse("fc0", shared=True))),
        Invalid,
        "port fc0: given 2 times",
    ),
    # memory beyond the pool
    (PartitionSpec("huge", 1, 64), Conflict, "memory: 64 GiB asked, 24 GiB free"),
    # overlapping dedicated cores: core 0 is app-1's
    (PartitionSpec("pinned", 2, 8, cpus=(0, 5)), Conflict, "core 0 asked dedicated, dedicated to"),
    (PartitionSpec("Bad Name", 1, 8), Invalid, "name:"),
    (PartitionSpec("lumpy", 1, 12), Conflict, "memory comes in blocks of 8 GiB"),
]


def test_bad_input_is_refused_with_nothing_changed(
    rack: Manager, parts: FakePartitionsWorld
) -> None:
    rack.partitions.create("rack-1", replace_cpus(APP, (0, 1)), "alice")
    before = rack.partitions.pool("rack-1")
    for spec, error, words in BAD_INPUT:
        with pytest.raises(error, match=words):
            rack.partitions.create("rack-1", spec, "alice")
        assert rack.partitions.pool("rack-1") == before
        assert _on_fake(parts) == ["app-1"]
        assert [p.name for p in rack.partitions.list()] == ["app-1"]


def replace_cpus(spec: PartitionSpec, cpus: tuple[int, ...]) -> PartitionSpec:
    return PartitionSpec(spec.name, spec.cores, spec.memory_gib, spec.cpu_mode,
                         spec.shared_weight, spec.ports, cpus)  # fmt: skip


def test_a_bare_host_and_a_taken_name_are_refused(rack: Manager) -> None:
    with pytest.raises(Conflict, match=r"rack-2 is in bare mode.*kanri machine mode rack-2"):
        rack.partitions.create("rack-2", APP, "alice")
    with pytest.raises(Conflict, match="a machine named rack-2 exists already"):
        rack.partitions.create("rack-1", PartitionSpec("rack-2", 1, 8), "alice")
    rack.partitions.create("rack-1", APP, "alice")
    with pytest.raises(Invalid, match="app-1 is a partition"):
        rack.partitions.create("app-1", PartitionSpec("inner", 1, 8), "alice")


def test_a_partition_kanri_does_not_know_stops_the_create(rack: Manager) -> None:
    # A create whose answer was lost: the BMC made it, kanri never registered it.
    rack.drivers.partitions("fake").create(BMC, "1", PartitionSpec("lost", 1, 8))
    with pytest.raises(Conflict, match=r"kanri machine add lost --bmc fake://rack.* --system lost"):
        rack.partitions.create("rack-1", PartitionSpec("lost", 1, 8), "alice")


def test_modify_off_applies_all_of_it(rack: Manager) -> None:
    rack.partitions.create("rack-1", APP, "alice")
    _, verdict = rack.partitions.modify_fields("app-1", {"memory_gib": 16, "cores": 3}, "bob")
    assert verdict.live == ("cores 2 -> 3", "memory 8 -> 16 GiB")
    assert not verdict.needs_off
    kept = rack.partitions.show("app-1").spec
    assert (kept.cores, kept.memory_gib) == (3, 16)
    _, same = rack.partitions.modify_fields("app-1", {"memory_gib": 16}, "bob")
    assert not same.changed


def test_modify_running_applies_the_live_part_and_names_the_rest(rack: Manager) -> None:
    shared = PartitionSpec("web", 2, 8, cpu_mode=CpuMode.SHARED)
    rack.partitions.create("rack-1", shared, "alice")
    rack.power.set("web", PowerAction.ON)
    _, verdict = rack.partitions.modify_fields(
        "web", {"shared_weight": 300, "memory_gib": 16}, "bob"
    )
    assert verdict.summary() == (
        "applied now: shared weight 100 -> 300; needs a restart: memory 8 -> 16 GiB"
    )
    kept = rack.partitions.show("web").spec
    assert (kept.shared_weight, kept.memory_gib) == (300, 8)
    with pytest.raises(Conflict, match=r"web is on: memory 8 -> 16 GiB need it off.*--strict"):
        rack.partitions.modify_fields("web", {"shared_weight": 5, "memory_gib": 16}, "bob", True)
    with pytest.raises(Conflict, match="kanri power off web"):
        rack.partitions.modify_fields("web", {"memory_gib": 16}, "bob")
    assert rack.partitions.show("web").spec.shared_weight == 300


def test_delete_is_refused_while_on_and_forgets_the_machine(
    rack: Manager, parts: FakePartitionsWorld
) -> None:
    rack.partitions.create("rack-1", APP, "alice")
    rack.power.set("app-1", PowerAction.ON)
    with pytest.raises(Conflict, match=r"app-1 is on: power it off first \(kanri power off"):
        rack.partitions.delete("app-1", "bob")
    rack.power.set("app-1", PowerAction.FORCE_OFF)
    rack.partitions.delete("app-1", "bob")
    assert _on_fake(parts) == []
    assert "app-1" not in [m.name for m in rack.repo.list_machines()]
    assert rack.partitions.list() == []
    assert rack.partitions.pool("rack-1").memory_used_gib == 0


def test_mode_job_sets_reboots_an_off_machine_and_verifies(
    rack: Manager, parts: FakePartitionsWorld
) -> None:
    job = rack.jobs.submit("mode", ["rack-2"], {"mode": "hypervisor"})
    assert _job(rack, job.id) is JobState.SUCCEEDED, rack.jobs.get(job.id)
    steps = rack.jobs.get(job.id).steps
    assert [s.action for s in steps] == ["mode.set", "mode.reboot", "mode.verify"]
    assert (steps[0].result or {})["sent"] is True
    assert (steps[1].result or {})["action"] == "on"
    assert steps[2].result == {"mode": "hypervisor"}
    machine = rack.repo.get_machine("rack-2")
    assert (machine.mode, machine.pending_mode) == (MachineMode.HYPERVISOR, None)
    assert parts.host(BMC.url, "2").mode is MachineMode.HYPERVISOR
    # now it carves partitions
    rack.partitions.create("rack-2", PartitionSpec("db-1", 1, 8), "alice")


def test_mode_job_resets_a_running_machine_and_does_nothing_when_in_mode(
    rack: Manager,
) -> None:
    rack.power.set("rack-2", PowerAction.ON)
    job = rack.jobs.submit("mode", ["rack-2"], {"mode": "hypervisor"})
    assert _job(rack, job.id) is JobState.SUCCEEDED
    assert rack.jobs.get(job.id).steps[1].result == {
        "action": "reset",  # a graceful restart goes unanswered with no OS running
        "previous": "on",
        "sent": True,
    }
    commands = list(world_of(rack.drivers.context).bmcs[BMC.url].systems["2"].commands)
    again = rack.jobs.submit("mode", ["rack-2"], {"mode": "hypervisor"})
    assert _job(rack, again.id) is JobState.SUCCEEDED
    assert [s.result for s in rack.jobs.get(again.id).steps][:2] == [
        {"mode": "hypervisor", "sent": False},
        {"sent": False, "mode": "hypervisor"},
    ]
    assert world_of(rack.drivers.context).bmcs[BMC.url].systems["2"].commands == commands


def test_mode_job_refusals_store_nothing(rack: Manager) -> None:
    rack.partitions.create("rack-1", APP, "alice")
    with pytest.raises(Conflict, match="rack-1 has partitions app-1: delete them"):
        rack.jobs.submit("mode", ["rack-1"], {"mode": "bare"})
    with pytest.raises(Invalid, match="app-1 is a partition"):
        rack.jobs.submit("mode", ["app-1"], {"mode": "bare"})
    with pytest.raises(Invalid, match="'mode' 'metal' is not one of bare, hypervisor"):
        rack.jobs.submit("mode", ["rack-2"], {"mode": "metal"})
    rack.servers.add("db", cores=1, memory_gib=8)
    rack.servers.place("db", "rack-2")
    with pytest.raises(Conflict, match=r"server db is placed on rack-2.*--force unplaces"):
        rack.jobs.submit("mode", ["rack-2"], {"mode": "hypervisor"})
    assert rack.jobs.list_jobs(kind="mode") == []


def test_mode_job_force_unplaces_the_server(rack: Manager, parts: FakePartitionsWorld) -> None:
    wwpn = "20:00:00:6b:00:00:be:ef"
    rack.servers.add("db", cores=1, memory_gib=8, wwpns={"fc0": wwpn})
    rack.servers.place("db", "rack-2")
    assert parts.host(BMC.url, "2").ports["fc0"].configured == wwpn
    job = rack.jobs.submit("mode", ["rack-2"], {"mode": "hypervisor", "force": True})
    assert _job(rack, job.id) is JobState.SUCCEEDED
    assert rack.servers.placement("db") is None
    assert parts.host(BMC.url, "2").ports["fc0"].configured is None
    assert rack.jobs.get(job.id).steps[0].result["unplaced"] == ["db"]  # type: ignore[index]


def test_refresh_reads_the_mode(rack: Manager) -> None:
    assert rack.repo.get_machine("rack-1").mode is None
    assert rack.machines.refresh("rack-1").mode is MachineMode.HYPERVISOR
    assert rack.repo.get_machine("rack-2").mode is None
    rack.machines.refresh("rack-2")
    assert rack.repo.get_machine("rack-2").mode is MachineMode.BARE
