"""ServerService on the fake drivers: a hypervisor host (rack-1) with one partition
(rack-app-1, fc0 and nic0 shared), a bare machine (rack-2) and a spare (rack-3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.jobs import JobState
from kanri.domain.model import Bmc
from kanri.domain.partitions import MachineMode, PartitionSpec, PortUse
from kanri.domain.states import PowerAction, PowerState, SystemKind
from kanri.drivers.fake import FakeBmc, world_of
from kanri.drivers.fake.partitions_world import FakePartitionsWorld, partitions_world_of
from kanri.engine.manager import Manager
from tests.unit.engine.fake_manager import fast_manager
from tests.waiting import wait_for

BMC = Bmc("fake://rack?systems=3", "admin", "pw")
WWPN = "20:00:00:6b:00:aa:00:01"
PART = "rack-app-1"


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    m = fast_manager(tmp_path, workers=4)
    bmc = world_of(m.drivers.context).add_bmc(BMC.url, systems=3)
    parts = partitions_world_of(m.drivers.context)
    parts.add_host(BMC.url, "1", mode=MachineMode.HYPERVISOR)
    parts.add_host(BMC.url, "2", mode=MachineMode.BARE, cores=8, memory_gib=32)
    bmc.systems["1"].power = PowerState.ON
    spec = PartitionSpec(
        "app-1", cores=4, memory_gib=16, ports=(PortUse("fc0", True), PortUse("nic0", True))
    )
    m.drivers.partitions("fake").create(BMC, "1", spec)
    m.machines.add("rack", BMC, driver="fake")
    m.jobs.start()
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture
def parts(manager: Manager) -> FakePartitionsWorld:
    return partitions_world_of(manager.drivers.context)


def test_the_fixture_has_a_partition_machine(manager: Manager) -> None:
    assert manager.repo.get_machine(PART).inventory.kind is SystemKind.PARTITION


def test_add_generates_identities_in_kanris_range(manager: Manager) -> None:
    a = manager.servers.add("web-1", boot_volume="SAN/vol-web-1", cores=2, memory_gib=8)
    assert sorted(a.identity.ports) == ["fc0", "nic0"]
    assert a.identity.ports["fc0"].startswith("2c:00:4b:41:")
    assert a.identity.ports["nic0"].startswith("0a:01:")
    b = manager.servers.add("web-2", wwpns={"fc0": None, "fc1": "2000006B00AA0002"})
    assert b.identity.ports["fc1"] == "20:00:00:6b:00:aa:00:02"
    assert b.identity.ports["fc0"] != a.identity.ports["fc0"]
    assert manager.servers.show("web-1").server.placed_on is None


def test_add_refuses_duplicates_and_bad_values(manager: Manager) -> None:
    manager.servers.add("web-1", wwpns={"fc0": WWPN})
    with pytest.raises(Conflict, match="exists already"):
        manager.servers.add("web-1")
    with pytest.raises(Conflict, match=r"already server web-1's port fc0"):
        manager.servers.add("web-2", wwpns={"fc3": WWPN.upper()})
    with pytest.raises(Conflict, match="machine's name"):
        manager.servers.add("rack-2")
    with pytest.raises(Invalid, match="not a WWPN"):
        manager.servers.add("web-3", wwpns={"fc0": "02:6b:00:00:00:01"})
    with pytest.raises(Invalid, match="multicast"):
        manager.servers.add("web-3", macs={"nic0": "01:00:5e:00:00:01"})
    with pytest.raises(Invalid, match="ARRAY/VOLUME"):
        manager.servers.add("web-3", boot_volume="vol-1")
    assert [s.name for s in manager.servers.list()] == ["web-1"]


def test_place_on_an_off_partition_presents_the_identity_from_its_next_boot(
    manager: Manager, parts: FakePartitionsWorld
) -> None:
    manager.servers.add("web-1", wwpns={"fc0": WWPN})
    before = parts.presented(BMC.url, "app-1", "fc0")
    placed = manager.servers.place("web-1", PART)
    assert placed.placed_on == PART
    assert parts.presented(BMC.url, "app-1", "fc0") == before  # not before a boot
    status = manager.servers.show("web-1")
    assert (status.kind, status.host) == (SystemKind.PARTITION, "rack-1")
    assert manager.servers.servers_on("rack-1") == ["web-1"]
    assert manager.servers.placement("web-1") == PART

    job = manager.servers.power("web-1", PowerAction.ON, wait=True, timeout=10)
    wait_for(lambda: manager.jobs.get(job.id).state.ended, 10)
    done = manager.jobs.get(job.id)
    assert done.state is JobState.SUCCEEDED, done.error
    assert [s.target for s in done.steps] == [PART]
    assert parts.presented(BMC.url, "app-1", "fc0") == WWPN
    assert manager.servers.show("web-1").server.desired_power is PowerState.ON


def test_place_refusals(manager: Manager, bmc: FakeBmc) -> None:
    manager.servers.add("big", cores=8)
    with pytest.raises(Conflict, match=r"cores: 8 needed, partition app-1 has 4"):
        manager.servers.place("big", PART)
    manager.servers.add("odd", wwpns={"fc1": None})
    with pytest.raises(Conflict, match=r"port fc1: partition app-1 has no such port"):
        manager.servers.place("odd", PART)
    manager.servers.add("web-1")
    with pytest.raises(Conflict, match="hypervisor mode"):
        manager.servers.place("web-1", "rack-1")
    bmc.systems["2"].power = PowerState.ON
    with pytest.raises(Conflict, match="rack-2 is on: power it off"):
        manager.servers.place("web-1", "rack-2")
    with pytest.raises(NotFound):
        manager.servers.place("web-1", "nowhere")
    manager.servers.place("web-1", PART)
    manager.servers.add("web-2")
    with pytest.raises(Conflict, match="holds server web-1"):
        manager.servers.place("web-2", PART)
    with pytest.raises(Conflict, match="placed on rack-app-1: unplace it first"):
        manager.servers.place("web-1", "rack-3")
    assert all(s.placed_on in (None, PART) for s in manager.servers.list())


def test_a_refused_identity_leaves_no_placement(
    manager: Manager, parts: FakePartitionsWorld
) -> None:
    # fc9 is not a port of the bare machine: nothing is kept, fc0 is restored
    manager.servers.add("web-1", wwpns={"fc0": WWPN, "fc9": None})
    with pytest.raises(NotFound, match="no port fc9"):
        manager.servers.place("web-1", "rack-3")
    assert manager.servers.placement("web-1") is None
    host = parts.host(BMC.url, "3")
    assert host.ports["fc0"].configured is None


def test_place_on_a_bare_machine_and_unplace(manager: Manager, parts: FakePartitionsWorld) -> None:
    manager.servers.add("db-1", wwpns={"fc0": WWPN}, cores=4, memory_gib=16)
    manager.servers.place("db-1", "rack-2")
    host = parts.host(BMC.url, "2")
    assert host.ports["fc0"].configured == WWPN
    assert manager.servers.show("db-1").kind is SystemKind.MACHINE
    manager.servers.unplace("db-1")
    assert host.ports["fc0"].configured is None
    assert manager.servers.placement("db-1") is None
    with pytest.raises(Conflict, match="placed nowhere"):
        manager.servers.unplace("db-1")


def test_power_by_server_name(manager: Manager, bmc: FakeBmc) -> None:
    manager.servers.add("db-1")
    with pytest.raises(Conflict, match="placed nowhere"):
        manager.jobs.submit("power", ["db-1"], {"action": "on"})
    manager.servers.place("db-1", "rack-2")
    job = manager.jobs.submit("power", ["db-1"], {"action": "on", "wait": True})
    wait_for(lambda: manager.jobs.get(job.id).state.ended, 10)
    assert manager.jobs.get(job.id).state is JobState.SUCCEEDED
    assert bmc.systems["2"].power is PowerState.ON
    assert manager.jobs.get(job.id).targets == ("db-1",)


def test_remove_refused_while_placed_and_on(manager: Manager, bmc: FakeBmc) -> None:
    manager.servers.add("db-1", wwpns={"fc0": WWPN})
    manager.servers.place("db-1", "rack-2")
    bmc.systems["2"].power = PowerState.ON
    with pytest.raises(Conflict, match="rack-2 is on"):
        manager.servers.remove("db-1")
    with pytest.raises(Conflict, match="rack-2 is on"):
        manager.servers.unplace("db-1")
    bmc.systems["2"].power = PowerState.OFF
    manager.servers.remove("db-1")
    assert manager.servers.list() == []
    # its identity is free again
    manager.servers.add("db-2", wwpns={"fc0": WWPN})
