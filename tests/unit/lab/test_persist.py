"""A lab saved in its directory comes back as it was: power, OS, modes, identities,
partitions, volumes with their contents, host groups and hardware faults."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kanri.lab import persist
from kanri.lab.config import LabConfig, LabConfigError
from kanri.lab.model import bios, faults, identities
from kanri.lab.model.fault_report import active
from kanri.lab.model.faults import BmcMode
from kanri.lab.model.lab import Lab
from kanri.lab.model.san import GIB
from kanri.lab.model.states import Mode, ResetType
from kanri.lab.model.systems import ComponentKind
from kanri.lab.server import LabServer

RAW: dict[str, Any] = {
    "scale": 50.0,
    "machines": [
        {"id": "b1", "power": "On"},
        {"id": "b2"},
        {"id": "b3", "mode": "hypervisor", "power": "On"},
    ],
    "partitions": [
        {"id": "p1", "host": "b3", "cores": 2, "memory_gib": 8, "ports": ["fc0:shared"],
         "power": "On"},
        {"id": "p2", "host": "b3", "cores": 1, "memory_gib": 8, "ports": ["fc1"]},
    ],
    "volumes": [{"id": "v1", "size_gib": 1}, {"id": "vp1", "size_gib": 1}],
    "host_groups": [
        {"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}},
        {"id": "hgp1", "initiators": ["p1/fc0"], "luns": {0: "vp1"}},
    ],
}  # fmt: skip


@pytest.fixture
def labs() -> Iterator[list[Lab]]:
    """Every lab a test opens, closed after it."""
    opened: list[Lab] = []
    yield opened
    for lab in opened:
        lab.close()


def config() -> LabConfig:
    return LabConfig.from_dict(RAW)


def change_everything(lab: Lab) -> None:
    b1, b2 = lab.machine("b1"), lab.machine("b2")
    # b1 runs; a new WWPN waits for its next boot
    identities.set_address(lab, b1, b1.ports[2], "20:00:00:6b:99:99:00:00")
    bios.set_attributes(lab, b2, {"SystemMode": "Hypervisor"})
    identities.set_boot_lun(lab, b2, 3)
    faults.fail_component(lab, "b2", ComponentKind.DIMM, "DIMM4")
    faults.lose_power(lab, "b2", with_bmc=True)
    faults.fail_storage_path(lab, "p2")
    faults.fail_bmc(lab, "b1", BmcMode.SILENT)  # a BMC's mood: not kept
    with lab.lock:
        lab.san.create_volume("v3", GIB, "spare disk")
        lab.san.create_host_group("hg3", {"20:00:00:6b:00:07:00:00"})
        lab.san.map_volume("hg3", "v3", 5)
    with lab.san.volumes["v1"].path.open("r+b") as disk:
        disk.seek(1024 * 1024)
        disk.write(b"the data of web-1")


def test_a_saved_lab_comes_back_as_it_was(tmp_path: Path, labs: list[Lab]) -> None:
    lab = persist.open_lab(config(), tmp_path)
    labs.append(lab)
    change_everything(lab)
    before = persist.snapshot(lab)
    assert persist.save(lab)
    lab.close()

    again = persist.restore(config(), tmp_path)
    assert again is not None
    labs.append(again)
    assert persist.snapshot(again) == before
    b1, b2, p1 = again.machine("b1"), again.machine("b2"), again.partitions["p1"]
    # Running systems run their OS at once, on the same volume, since the same time.
    assert b1.os_running
    assert b1.booted_volume == "v1"
    assert p1.os_running
    assert p1.booted_volume == "vp1"
    assert b1.ports[2].presented == "20:00:00:6b:00:01:00:00"  # the old one, until a boot
    assert b1.ports[2].configured == "20:00:00:6b:99:99:00:00"
    assert (b2.mode, b2.pending_mode, b2.boot_lun) == (Mode.BARE, Mode.HYPERVISOR, 3)
    with again.san.volumes["v1"].path.open("rb") as disk:
        disk.seek(1024 * 1024)
        assert disk.read(17) == b"the data of web-1"
    assert again.san.volumes["v3"].name == "spare disk"
    assert [f["kind"] for f in active(again)] == [
        "component",
        "power-loss",
        "storage-path",
    ]
    assert again.bmc_faults["b2"].dead
    assert "b1" not in again.bmc_faults
    assert again.check_invariants() == []


def test_a_restored_lab_goes_on_working(tmp_path: Path, labs: list[Lab]) -> None:
    lab = persist.open_lab(config(), tmp_path)
    labs.append(lab)
    persist.save(lab)
    lab.close()
    again = persist.restore(config(), tmp_path)
    assert again is not None
    labs.append(again)
    faults.clear(again)
    again.reset("b1", ResetType.FORCE_RESTART)
    deadline = time.monotonic() + 10
    while not again.machine("b1").os_running:
        assert time.monotonic() < deadline, "b1 did not boot again"
        time.sleep(0.005)
    assert again.machine("b1").booted_volume == "v1"


def test_without_saved_state_the_lab_is_built_from_its_config(
    tmp_path: Path, labs: list[Lab]
) -> None:
    assert persist.restore(config(), tmp_path) is None
    lab = persist.open_lab(config(), tmp_path)
    labs.append(lab)
    assert sorted(lab.machines) == ["b1", "b2", "b3"]


def test_the_lab_saves_itself_soon_after_a_change(tmp_path: Path, labs: list[Lab]) -> None:
    lab = persist.open_lab(config(), tmp_path)
    labs.append(lab)
    faults.fail_component(lab, "b1", ComponentKind.FAN, "Fan3")
    path = tmp_path / persist.STATE_FILE
    deadline = time.monotonic() + 10
    while True:
        if path.exists():
            saved = json.loads(path.read_text())
            b1 = next(m for m in saved["machines"] if m["id"] == "b1")
            if b1["faulty"] == {"Fan3": "Critical"}:
                break
        assert time.monotonic() < deadline, "the change was not saved"
        time.sleep(0.02)
    assert not list(tmp_path.glob(".lab-state.json.*"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is unreadable"),
        ('{"version": 99}', "is not version 1"),
        ('{"version": 1, "machines": [{"id": "b1"}]}', "does not fit this lab (KeyError"),
        (
            '{"version": 1, "machines": [{"id": "b1", "cores": 1, "memory_gib": 8, '
            '"mode": "bare", "nics": 0, "fc_ports": 0, "slot": 1, "pending_mode": null, '
            '"faulty": []}]}',
            "does not fit this lab (AttributeError",
        ),
    ],
)
def test_a_bad_state_file_is_one_clear_error(tmp_path: Path, content: str, words: str) -> None:
    (tmp_path / persist.STATE_FILE).write_text(content)
    with pytest.raises(LabConfigError, match=re.escape(words)) as caught:
        persist.restore(config(), tmp_path)
    assert "move it away to start afresh" in str(caught.value)


def test_a_lab_server_saves_when_it_stops_and_resumes_when_it_starts(tmp_path: Path) -> None:
    with LabServer(config(), tmp_path) as first:
        assert first.lab is not None
        faults.fail_component(first.lab, "b3", ComponentKind.PSU, "PSU2")
        os_since = first.lab.machine("b1").os_since
    with LabServer(config(), tmp_path) as second:
        assert second.lab is not None
        assert [f["id"] for f in active(second.lab)] == ["PSU2"]
        assert second.lab.machine("b1").os_since == os_since
        assert "lab.restored" in [r.kind for r in second.lab.history.since()]


def test_a_host_switched_to_bare_comes_back_with_its_partitions(
    tmp_path: Path, labs: list[Lab]
) -> None:
    # The documented state: a host set to bare keeps its partitions, which cannot start.
    lab = persist.open_lab(config(), tmp_path)
    labs.append(lab)
    b3 = lab.machine("b3")
    bios.set_attributes(lab, b3, {"SystemMode": "Bare"})
    with lab.lock:
        lab.reset("b3", ResetType.FORCE_OFF)
        lab.reset("b3", ResetType.ON)
    deadline = time.monotonic() + 10
    while b3.mode is not Mode.BARE:
        assert time.monotonic() < deadline, "b3 did not boot into bare mode"
        time.sleep(0.005)
    before = persist.snapshot(lab)
    assert persist.save(lab)
    lab.close()

    again = persist.restore(config(), tmp_path)
    assert again is not None
    labs.append(again)
    assert again.machine("b3").mode is Mode.BARE
    assert sorted(again.partitions) == ["p1", "p2"]
    assert persist.snapshot(again)["partitions"] == before["partitions"]
