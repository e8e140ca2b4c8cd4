"""Power and boot over lab time, SAN boot, fencing by unmapping, and the invariants."""

from __future__ import annotations

import pytest

from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.states import Boot, OemBoot, Power, ResetType
from tests.unit.lab.conftest import MakeLab, wait_for


def two_blades(make_lab: MakeLab, **extra: object) -> Lab:
    return make_lab(
        {
            "machines": [{"id": "b1"}, {"id": "b2"}],
            "volumes": [{"id": "v1", "size_gib": 1}, {"id": "v2", "size_gib": 1}],
            "host_groups": [
                {"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}},
                {"id": "hg2", "initiators": ["b2/fc0"], "luns": {0: "v2"}},
            ],
            **extra,
        }
    )


def kinds(lab: Lab, system: str) -> list[str]:
    return [r.kind for r in lab.history.since() if r.data.get("system") == system]


def test_power_on_walks_through_powering_on_to_a_running_os_on_its_volume(
    make_lab: MakeLab,
) -> None:
    lab = two_blades(make_lab)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    assert b1.power is Power.POWERING_ON
    wait_for(lab, lambda: b1.os_running)
    assert b1.booted_volume == "v1"
    assert lab.san.read_boot_record("v1") == {"system": "b1", "at": b1.os_since}
    assert kinds(lab, "b1") == ["power.command", "power.on", "boot.volume", "os.running"]
    # The stages took their configured lab time, whatever the scale.
    records = {r.kind: r.at for r in lab.history.since() if r.data.get("system") == "b1"}
    assert records["power.on"] - records["power.command"] >= lab.timing.power_on
    assert records["os.running"] - records["boot.volume"] >= lab.timing.os_boot


def test_graceful_shutdown_needs_a_running_os_and_takes_time(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab, timing={"hardware_init": 200.0})
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.power is Power.ON)
    lab.reset("b1", ResetType.GRACEFUL_SHUTDOWN)  # still in firmware: nobody to ask
    assert b1.power == "On"  # a str compare: mypy narrows an `is` to this value for good
    lab.reset("b1", ResetType.FORCE_OFF)
    assert b1.power == "Off"


def test_graceful_shutdown_of_a_running_os(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.os_running)
    lab.reset("b1", ResetType.GRACEFUL_SHUTDOWN)
    assert b1.power is Power.POWERING_OFF
    wait_for(lab, lambda: b1.power is Power.OFF)
    assert b1.booted_volume is None


def test_force_restart_goes_off_and_boots_again(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.os_running)
    lab.reset("b1", ResetType.FORCE_RESTART)
    assert b1.power is Power.POWERING_ON
    wait_for(lab, lambda: b1.os_running)
    assert kinds(lab, "b1").count("os.running") == 2
    assert "power.off" in kinds(lab, "b1")


def test_on_when_on_changes_nothing(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.os_running)
    lab.reset("b1", ResetType.ON)
    assert b1.os_running


def test_nothing_mapped_means_no_bootable_device_and_a_sel_entry(make_lab: MakeLab) -> None:
    lab = make_lab({"machines": [{"id": "b1"}]})
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.boot is Boot.OEM)
    assert b1.oem_boot is OemBoot.NO_BOOTABLE_DEVICE
    assert b1.power is Power.ON
    assert not b1.os_running
    assert "No bootable device" in b1.sel[-1].message


def test_unmapping_a_running_servers_volume_fences_it(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.os_running)
    lab.san.unmap_volume("hg1", "v1")
    lab.storage_changed()
    assert b1.oem_boot is OemBoot.OS_HALTED
    assert b1.booted_volume is None
    assert lab.history.violations == []


def test_one_volume_booted_by_two_running_machines_is_split_brain(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab)
    lab.san.map_volume("hg2", "v1", 0 + 1)  # b2 sees v1 at LUN 1 too ...
    lab.machine("b2").boot_lun = 1  # ... and boots from it
    for system in ("b1", "b2"):
        lab.reset(system, ResetType.ON)
    wait_for(lab, lambda: lab.machine("b1").os_running and lab.machine("b2").os_running)
    (violation,) = lab.history.violations
    assert violation.rule == "split-brain"
    assert violation.volume == "v1"
    assert violation.systems == ("b1", "b2")
    assert lab.check_invariants() == []  # reported once, not on every check


def test_power_loss_cuts_at_once(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab)
    b1 = lab.machine("b1")
    lab.reset("b1", ResetType.ON)
    wait_for(lab, lambda: b1.os_running)
    lab.power_loss("b1")
    assert b1.power is Power.OFF
    assert b1.sel[-1].message == "AC power lost"


def test_unknown_system_is_a_404_lab_error(make_lab: MakeLab) -> None:
    lab = two_blades(make_lab)
    with pytest.raises(LabError, match="no system nope") as caught:
        lab.reset("nope", ResetType.ON)
    assert caught.value.status == 404


def test_machines_configured_on_start_running(make_lab: MakeLab) -> None:
    lab = make_lab(
        {
            "machines": [{"id": "b1", "power": "On"}],
            "volumes": [{"id": "v1", "size_gib": 1}],
            "host_groups": [{"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}}],
        }
    )
    assert lab.machine("b1").os_running
    assert lab.machine("b1").booted_volume == "v1"
