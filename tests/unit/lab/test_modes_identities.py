"""Machine modes (a BIOS setting applied at the next boot) and port identities (a virtual
WWPN / MAC presented from the next boot), and a partition booting its own SAN volume."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kanri.lab.model.bios import attributes, set_attributes
from kanri.lab.model.composition import compose
from kanri.lab.model.identities import checked_address, set_address, set_boot_lun
from kanri.lab.model.lab import LabError
from kanri.lab.model.pool import Layout, block_state, find_block, usage
from kanri.lab.model.states import Boot, Mode, Power, ResetType
from kanri.lab.model.systems import PartitionPort, PortKind, System
from tests.unit.lab.conftest import MakeLab, wait_for


def running(system: System) -> Callable[[], bool]:
    return lambda: system.os_running


def test_system_mode_is_pending_until_the_next_boot(make_lab: MakeLab) -> None:
    lab = make_lab({"scale": 100.0, "machines": [{"id": "b1", "power": "On"}]})
    machine = lab.machines["b1"]
    set_attributes(lab, machine, {"SystemMode": "Hypervisor"})
    assert (machine.mode, machine.pending_mode) == (Mode.BARE, Mode.HYPERVISOR)
    assert attributes(machine)["SystemMode"] == "Bare"
    assert attributes(machine, pending=True)["SystemMode"] == "Hypervisor"
    record = lab.history.records[-1]
    assert record.kind == "bios.settings"
    assert record.data["pending_mode"] == "hypervisor"
    with pytest.raises(LabError, match="in bare mode"):
        compose(lab, "p", "p", Layout("b1", 1, 8))

    lab.reset("b1", ResetType.FORCE_RESTART)
    wait_for(lab, running(machine))
    assert (machine.mode, machine.pending_mode) == (Mode.HYPERVISOR, None)
    assert machine.booted_volume is None  # the hypervisor needs no SAN volume
    compose(lab, "p", "p", Layout("b1", 1, 8))


def test_asking_for_the_mode_in_effect_cancels_a_pending_change(make_lab: MakeLab) -> None:
    lab = make_lab({"machines": [{"id": "b1"}]})
    machine = lab.machines["b1"]
    set_attributes(lab, machine, {"SystemMode": "Hypervisor"})
    set_attributes(lab, machine, {"SystemMode": "Bare"})
    assert machine.pending_mode is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SystemMode": "Virtual"}, "BIOS attribute SystemMode cannot be 'Virtual': it is one "
                                    "of Bare, Hypervisor"),
        ({"Turbo": "On"}, "b1 has no BIOS attribute Turbo (settable: SystemMode)"),
        ({"BootMode": "Legacy"}, "BIOS attribute BootMode is read-only in the lab "
                                 "(settable: SystemMode)"),
        ({"SystemMode": "Hypervisor", "Turbo": "On"}, "b1 has no BIOS attribute Turbo "
                                                      "(settable: SystemMode)"),
    ],
)  # fmt: skip
def test_bad_bios_changes_are_refused_and_change_nothing(
    make_lab: MakeLab, changes: dict[str, str], message: str
) -> None:
    lab = make_lab({"machines": [{"id": "b1"}]})
    with pytest.raises(LabError) as caught:
        set_attributes(lab, lab.machines["b1"], changes)
    assert str(caught.value) == message
    assert caught.value.status == 400
    assert lab.machines["b1"].pending_mode is None


def test_a_switch_to_bare_keeps_partitions_which_then_cannot_start(make_lab: MakeLab) -> None:
    lab = make_lab({"scale": 100.0,
                    "machines": [{"id": "h", "mode": "hypervisor", "power": "On"}],
                    "partitions": [{"id": "p", "host": "h"}]})  # fmt: skip
    set_attributes(lab, lab.machines["h"], {"SystemMode": "Bare"})
    lab.reset("h", ResetType.FORCE_RESTART)
    wait_for(lab, lambda: lab.machines["h"].boot is not Boot.NONE)
    assert lab.machines["h"].mode is Mode.BARE
    assert "p" in lab.partitions
    with pytest.raises(LabError, match="not running its hypervisor"):
        lab.reset("p", ResetType.ON)
    core = find_block(lab, "h-cpu-0")
    assert core is not None
    assert block_state(lab, core, usage(lab, "h")[core.id]) == "Unavailable"
    with pytest.raises(LabError, match="h is in bare mode"):
        compose(lab, "q", "q", Layout("h", 1, 8))


def test_a_virtual_wwpn_is_presented_from_the_next_boot(make_lab: MakeLab) -> None:
    lab = make_lab({"scale": 100.0, "machines": [{"id": "b1", "power": "On"}]})
    machine = lab.machines["b1"]
    fc0 = next(p for p in machine.ports if p.id == "fc0")
    set_address(lab, machine, fc0, "20-00-00-6B-00-99-00-00")
    assert fc0.configured == "20:00:00:6b:00:99:00:00"
    assert fc0.presented == fc0.permanent  # the running OS still uses the old identity
    assert lab.history.records[-1].kind == "identity.configured"

    lab.reset("b1", ResetType.FORCE_RESTART)
    wait_for(lab, lambda: machine.power is Power.ON)
    assert fc0.presented == "20:00:00:6b:00:99:00:00"

    set_address(lab, machine, fc0, fc0.permanent)  # the permanent value clears it
    assert fc0.address is None
    set_address(lab, machine, fc0, "20:00:00:6b:00:99:00:00")
    set_address(lab, machine, fc0, None)
    assert fc0.address is None
    assert fc0.configured == fc0.permanent


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (PortKind.FIBRE_CHANNEL, "20:00:00:6b", "WWPN '20:00:00:6b' is not eight hex pairs"),
        (PortKind.FIBRE_CHANNEL, "00:00:00:00:00:00:00:00", "is all zeros"),
        (PortKind.ETHERNET, "02:6b:00:01:00", "MACAddress '02:6b:00:01:00' is not six hex"),
        (PortKind.ETHERNET, "01:00:5e:00:00:01", "is a multicast address"),
    ],
)
def test_bad_addresses_are_refused(kind: PortKind, value: str, message: str) -> None:
    with pytest.raises(LabError, match=message):
        checked_address(kind, value)


def test_boot_lun_is_checked(make_lab: MakeLab) -> None:
    lab = make_lab({"machines": [{"id": "b1"}]})
    set_boot_lun(lab, lab.machines["b1"], 3)
    assert lab.machines["b1"].boot_lun == 3
    with pytest.raises(LabError, match="LUNID 256 is outside 0-255"):
        set_boot_lun(lab, lab.machines["b1"], 256)


def test_a_partition_boots_its_own_volume_through_its_virtual_wwpn(make_lab: MakeLab) -> None:
    lab = make_lab({"scale": 100.0,
                    "machines": [{"id": "h", "mode": "hypervisor", "power": "On"}],
                    "volumes": [{"id": "vol-a", "size_gib": 1},
                                {"id": "vol-b", "size_gib": 1}]})  # fmt: skip
    partition = compose(lab, "p", "p", Layout("h", 2, 8, ports=[PartitionPort("fc0", True)]))
    wwpn = partition.ports[0].configured
    lab.san.create_host_group("hg-a", {wwpn})
    lab.san.map_volume("hg-a", "vol-a", 0)

    lab.reset("p", ResetType.ON)
    wait_for(lab, running(partition))
    assert partition.booted_volume == "vol-a"
    assert (lab.san.read_boot_record("vol-a") or {}).get("system") == "p"

    # a new virtual WWPN (another server's identity) takes the partition to that
    # server's volume at the next boot, and only then
    lab.san.create_host_group("hg-b", {"2a:00:00:00:00:00:0b:01"})
    lab.san.map_volume("hg-b", "vol-b", 0)
    set_address(lab, partition, partition.ports[0], "2a:00:00:00:00:00:0b:01")
    assert partition.booted_volume == "vol-a"
    lab.reset("p", ResetType.FORCE_RESTART)
    wait_for(lab, lambda: partition.booted_volume == "vol-b" and partition.os_running)
    assert lab.check_invariants() == []
    assert not lab.history.violations


def test_a_host_power_loss_kills_its_partitions(make_lab: MakeLab) -> None:
    lab = make_lab({"scale": 100.0,
                    "machines": [{"id": "h", "mode": "hypervisor", "power": "On"}],
                    "partitions": [{"id": "p", "host": "h", "power": "On"}]})  # fmt: skip
    lab.power_loss("h")
    partition = lab.partitions["p"]
    assert partition.power is Power.OFF
    assert partition.killed_by_host
