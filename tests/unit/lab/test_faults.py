"""Fault injection on an in-memory lab: what each fault does, what it writes, how it ends."""

from __future__ import annotations

import pytest

from kanri.lab.model import faults
from kanri.lab.model.events import LabEvent
from kanri.lab.model.fault_report import active
from kanri.lab.model.faults import BmcMode, FaultKind
from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.states import Boot, OemBoot, Power, ResetType
from kanri.lab.model.systems import ComponentKind, Health
from tests.unit.lab.conftest import MakeLab, wait_for

CRITICAL = "ResourceEvent.1.4.ResourceStatusChangedCritical"


def small_lab(make_lab: MakeLab) -> Lab:
    """b1 runs from v1; b2 is off; b3 hosts partition p1 (not started)."""
    return make_lab(
        {
            "machines": [
                {"id": "b1", "power": "On"},
                {"id": "b2"},
                {"id": "b3", "mode": "hypervisor", "power": "On"},
            ],
            "partitions": [{"id": "p1", "host": "b3", "ports": ["fc0:shared"]}],
            "volumes": [{"id": "v1", "size_gib": 1}, {"id": "v2", "size_gib": 1}],
            "host_groups": [
                {"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}},
                {"id": "hg2", "initiators": ["b2/fc0"], "luns": {0: "v2"}},
            ],
        }
    )


def events(lab: Lab) -> list[LabEvent]:
    return list(lab.events.recent)


def test_a_failed_cpu_turns_the_machine_critical_with_a_sel_entry_and_an_alert(
    make_lab: MakeLab,
) -> None:
    lab = small_lab(make_lab)
    b1 = lab.machine("b1")
    part = faults.fail_component(lab, "b1", ComponentKind.CPU, "cpu2")
    assert part.id == "CPU2"
    assert b1.health is Health.CRITICAL
    entry = b1.sel[-1]
    assert (entry.severity, entry.message_id, entry.sensor) == ("Critical", CRITICAL, "Processor")
    assert entry.message == "The health of resource 'CPU2' has changed to Critical."
    alert = events(lab)[-1]
    assert (alert.event_type, alert.message_id, alert.args) == (
        "Alert",
        CRITICAL,
        ("CPU2", "Critical"),
    )
    assert alert.origin == "/redfish/v1/Systems/b1/Processors/CPU2"
    assert active(lab) == [
        {"kind": "component", "target": "b1", "component": "cpu", "id": "CPU2",
         "severity": "critical"},
    ]  # fmt: skip


def test_a_warning_fan_is_warning_and_clearing_puts_it_back_with_an_ok_event(
    make_lab: MakeLab,
) -> None:
    lab = small_lab(make_lab)
    b2 = lab.machine("b2")
    faults.fail_component(lab, "b2", ComponentKind.FAN, severity=Health.WARNING)
    assert b2.health is Health.WARNING
    assert events(lab)[-1].origin == "/redfish/v1/Chassis/b2/ThermalSubsystem/Fans/Fan1"
    assert faults.clear(lab, "b2") == ["component b2 Fan1"]
    assert lab.machine("b2").health is Health.OK  # (a fresh read: mypy narrowed b2)
    assert b2.sel[-1].message_id == "ResourceEvent.1.4.ResourceStatusChangedOK"
    assert events(lab)[-1].message_id == "ResourceEvent.1.4.ResourceStatusChangedOK"
    assert active(lab) == []


def test_the_same_fault_twice_writes_one_entry(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    faults.fail_component(lab, "b1", ComponentKind.PSU, "PSU2")
    faults.fail_component(lab, "b1", ComponentKind.PSU, "PSU2")
    assert [e.message_id for e in lab.machine("b1").sel] == [CRITICAL]


@pytest.mark.parametrize(
    ("target", "kind", "part", "status", "words"),
    [
        ("b1", ComponentKind.DIMM, "DIMM9", 404, "has no dimm DIMM9"),
        ("b1", ComponentKind.CPU, "Fan1", 404, "has no cpu Fan1"),
        ("nope", ComponentKind.CPU, None, 404, "no machine nope"),
        ("p1", ComponentKind.CPU, None, 400, "partition p1 runs on machine b3"),
    ],
)
def test_component_faults_refuse_what_does_not_exist(
    make_lab: MakeLab,
    target: str,
    kind: ComponentKind,
    part: str | None,
    status: int,
    words: str,
) -> None:
    lab = small_lab(make_lab)
    with pytest.raises(LabError, match=words) as caught:
        faults.fail_component(lab, target, kind, part)
    assert caught.value.status == status


def test_power_loss_stops_the_machine_and_its_partitions_and_it_cannot_start_until_restored(
    make_lab: MakeLab,
) -> None:
    lab = small_lab(make_lab)
    b3, p1 = lab.machine("b3"), lab.partitions["p1"]
    lab.reset("p1", ResetType.ON)
    wait_for(lab, lambda: p1.power is Power.ON)
    faults.lose_power(lab, "b3")
    assert (b3.power, p1.power) == (Power.OFF, Power.OFF)
    assert p1.killed_by_host
    assert b3.sel[-1].message_id == "KanriLab.1.0.PowerLost"
    assert "b3" not in lab.bmc_faults  # its BMC still answers: it reports Off
    with pytest.raises(LabError, match="no input power") as caught:
        lab.reset("b3", ResetType.ON)
    assert caught.value.status == 409
    assert active(lab) == [{"kind": "power-loss", "target": "b3", "with_bmc": False}]
    assert faults.clear(lab, "b3", FaultKind.POWER_LOSS) == ["power-loss b3"]
    assert b3.power is Power.OFF  # AC restore policy: last state off
    assert b3.sel[-1].message_id == "KanriLab.1.0.PowerRestored"
    lab.reset("b3", ResetType.ON)
    wait_for(lab, lambda: b3.os_running)


def test_power_loss_with_its_bmc_kills_the_bmc_until_power_returns(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    faults.fail_bmc(lab, "b1", BmcMode.SLOW, 2.0)
    faults.lose_power(lab, "b1", with_bmc=True)
    assert lab.bmc_faults["b1"].dead
    assert active(lab) == [
        {"kind": "power-loss", "target": "b1", "with_bmc": True},
        {"kind": "bmc", "target": "b1", "mode": "slow", "seconds": 2.0},
    ]
    assert faults.restore_power(lab, "b1")
    assert not lab.bmc_faults["b1"].dead
    assert lab.bmc_faults["b1"].slow == 2.0  # a fault of its own, cleared on its own
    assert faults.clear(lab, "b1") == ["bmc b1"]
    assert "b1" not in lab.bmc_faults


def test_a_bmc_mode_replaces_the_last_one_per_target(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    faults.fail_bmc(lab, "*", BmcMode.SILENT)
    faults.fail_bmc(lab, "b2", BmcMode.SLOW, 3)
    faults.fail_bmc(lab, "b2", BmcMode.UNAVAILABLE)
    star, b2 = lab.bmc_faults["*"], lab.bmc_faults["b2"]
    assert (star.silent, star.unavailable) == (True, False)
    assert (b2.silent, b2.slow, b2.unavailable) == (False, 0.0, True)
    assert faults.clear(lab, "*") == ["bmc *"]
    assert "*" not in lab.bmc_faults
    assert "b2" in lab.bmc_faults


@pytest.mark.parametrize(
    ("target", "mode", "seconds", "words"),
    [
        ("p1", BmcMode.SILENT, 5.0, "answers through its host's BMC: target b3"),
        ("ghost", BmcMode.SILENT, 5.0, "no machine ghost"),
        ("b1", BmcMode.SLOW, 0.0, "seconds must be between"),
    ],
)
def test_bmc_faults_refuse_bad_targets_and_times(
    make_lab: MakeLab, target: str, mode: BmcMode, seconds: float, words: str
) -> None:
    lab = small_lab(make_lab)
    with pytest.raises(LabError, match=words):
        faults.fail_bmc(lab, target, mode, seconds)
    assert lab.bmc_faults == {}


def test_sessions_exhausted_is_the_enclosure_managers_until_cleared(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    faults.exhaust_sessions(lab)
    assert lab.bmc_faults["*"].sessions_exhausted
    assert active(lab) == [{"kind": "sessions-exhausted", "target": "*"}]
    assert faults.clear(lab, kind=FaultKind.SESSIONS_EXHAUSTED) == ["sessions-exhausted"]
    assert lab.bmc_faults == {}


def test_dropping_n_events_loses_exactly_those_and_records_them(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    faults.drop_events(lab, 2)
    assert active(lab) == [{"kind": "drop-events", "target": "*", "count": 2}]
    before = events(lab)[-1].id if events(lab) else 0
    for n in range(3):
        lab.emit("Alert", "KanriLab.1.0.Nmi", f"test {n}", "OK", "/redfish/v1/Systems/b1")
    assert [e.message for e in events(lab) if e.id > before] == ["test 2"]
    dropped = [r for r in lab.history.since() if r.kind == "event.dropped"]
    assert len(dropped) == 2
    assert active(lab) == []  # the count ran out: the fault is over


def test_dropping_all_events_lasts_until_cleared(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    faults.drop_events(lab, None)
    lab.emit("Alert", "KanriLab.1.0.Nmi", "lost", "OK", "/redfish/v1/Systems/b1")
    assert active(lab) == [{"kind": "drop-events", "target": "*", "count": "all"}]
    assert faults.clear(lab, "*") == ["drop-events"]
    lab.emit("Alert", "KanriLab.1.0.Nmi", "kept", "OK", "/redfish/v1/Systems/b1")
    assert [e.message for e in events(lab)][-1:] == ["kept"]
    assert "lost" not in [e.message for e in events(lab)]
    with pytest.raises(LabError, match="at least 1"):
        faults.drop_events(lab, 0)


def test_a_storage_path_failure_halts_the_running_os_and_clearing_lets_it_boot_again(
    make_lab: MakeLab,
) -> None:
    lab = small_lab(make_lab)
    b1 = lab.machine("b1")
    assert b1.os_running
    failed = faults.fail_storage_path(lab, "b1")
    assert failed == b1.identities()
    assert (b1.boot, b1.oem_boot) == (Boot.OEM, OemBoot.OS_HALTED)
    assert b1.sel[-1].message_id == "KanriLab.1.0.OsHalted"
    assert active(lab) == [{"kind": "storage-path", "target": "b1", "identities": sorted(failed)}]
    lab.reset("b1", ResetType.FORCE_RESTART)  # still failed: nothing to boot
    wait_for(lab, lambda: b1.oem_boot is OemBoot.NO_BOOTABLE_DEVICE)
    assert faults.clear(lab, "b1") == ["storage-path b1"]
    assert lab.san.failed_paths == set()
    lab.reset("b1", ResetType.FORCE_RESTART)
    wait_for(lab, lambda: b1.os_running)
    assert b1.booted_volume == "v1"


def test_clear_without_a_target_ends_every_fault(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    faults.fail_component(lab, "b1", ComponentKind.DIMM, "DIMM3")
    faults.lose_power(lab, "b2", with_bmc=True)
    faults.fail_bmc(lab, "*", BmcMode.UNAVAILABLE)
    faults.exhaust_sessions(lab)
    faults.drop_events(lab, None)
    faults.fail_storage_path(lab, "p1")
    assert {f["kind"] for f in active(lab)} == {str(k) for k in FaultKind}
    cleared = faults.clear(lab)
    assert sorted(cleared) == sorted(
        [
            "bmc *",
            "sessions-exhausted",
            "drop-events",
            "component b1 DIMM3",
            "power-loss b2",
            "storage-path",
        ]
    )
    assert active(lab) == []
    assert lab.bmc_faults == {}
    assert lab.unpowered == set()
    fault_records = [r.kind for r in lab.history.since() if r.kind.startswith("fault.")]
    assert "fault.power_loss" in fault_records
    assert "fault.storage_path_cleared" in fault_records


def test_clear_names_an_unknown_target(make_lab: MakeLab) -> None:
    lab = small_lab(make_lab)
    with pytest.raises(LabError, match="no machine or partition ghost") as caught:
        faults.clear(lab, "ghost")
    assert caught.value.status == 404
