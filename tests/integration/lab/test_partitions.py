"""Partitions over HTTP: the CompositionService as sushy reads it, compose by POST in
both forms, refusals as Redfish errors, partition power, decompose, modify, and a mode
switch through the BIOS settings resource."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sushy
from sushy.auth import BasicAuth
from sushy.resources.compositionservice import resourceblock, resourcezone

from kanri.lab.server import LabServer
from tests.integration.lab.conftest import ServeLab
from tests.waiting import wait_for

SYSTEMS = "/redfish/v1/Systems"
BLOCKS = "/redfish/v1/CompositionService/ResourceBlocks"
LAB: dict[str, Any] = {
    "scale": 100.0,
    "machines": [
        {"id": "blade-01", "power": "On"},
        {"id": "blade-05", "mode": "hypervisor", "cores": 16, "memory_gib": 64, "power": "On"},
    ],
    "partitions": [
        {"id": "app-1", "host": "blade-05", "cores": 4, "memory_gib": 16,
         "ports": ["fc0:shared", "nic0:shared"]},
    ],
    "volumes": [{"id": "vol-app-1", "size_gib": 1}],
    "host_groups": [{"id": "hg-app-1", "initiators": ["app-1/fc0"], "luns": {0: "vol-app-1"}}],
}  # fmt: skip


@pytest.fixture
def lab(serve_lab: ServeLab) -> LabServer:
    return serve_lab(LAB)


@pytest.fixture
def redfish(lab: LabServer) -> Iterator[sushy.Sushy]:
    """sushy with basic auth: a session would be logged out whenever the garbage collector
    gets to it, by then against a stopped lab."""
    root = sushy.Sushy(f"{lab.url}/redfish/v1", auth=BasicAuth("admin", "password"))
    yield root
    root._conn.close()


def block_refs(*ids: str) -> list[dict[str, str]]:
    return [{"@odata.id": f"{BLOCKS}/{i}"} for i in ids]


def refused(answer: httpx.Response, status: int, message_id: str) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["@Message.ExtendedInfo"][0]["MessageId"] == message_id
    message: str = error["message"]
    return message


def test_sushy_reads_the_composition_service(redfish: sushy.Sushy) -> None:
    root = redfish
    service = root.get_composition_service()
    assert service.service_enabled is True
    # sushy 5.14 bug: CompositionService.resource_blocks / resource_zones pass a bound
    # method instead of a path and crash, so the collections are built from the links.
    conn, version = root._conn, root.redfish_version
    blocks = resourceblock.ResourceBlockCollection(
        conn, service.json["ResourceBlocks"]["@odata.id"], redfish_version=version
    )
    zones = resourcezone.ResourceZoneCollection(
        conn, service.json["ResourceZones"]["@odata.id"], redfish_version=version
    )
    assert zones.members_identities == ("/redfish/v1/CompositionService/ResourceZones/"
                                        "blade-05-zone",)  # fmt: skip
    zone = zones.get_members()[0]
    assert len(zone.links.resource_blocks) == 16 + 8 + 4  # cores, 8 GiB blocks, ports
    # blade-01 is bare: no pool
    assert all("/blade-05-" in path for path in blocks.members_identities)
    core = blocks.get_member(f"{BLOCKS}/blade-05-cpu-0")
    assert core.composition_status.composition_state.value == "Composed"
    assert core.json["Links"]["ComputerSystems"] == [{"@odata.id": f"{SYSTEMS}/app-1"}]
    free = blocks.get_member(f"{BLOCKS}/blade-05-cpu-15")
    assert free.composition_status.composition_state.value == "Unused"
    port = blocks.get_member(f"{BLOCKS}/blade-05-port-fc0")
    assert port.composition_status.composition_state.value == "ComposedAndAvailable"
    assert port.composition_status.sharing_enabled is True
    assert port.json["ResourceBlockType"] == ["Network"]


def test_compose_by_blocks_and_by_the_oem_form(http: httpx.Client) -> None:
    answer = http.post(
        SYSTEMS,
        json={
            "Name": "db-1",
            "Links": {"ResourceBlocks": block_refs("blade-05-cpu-8", "blade-05-cpu-9",
                                                   "blade-05-mem-4", "blade-05-port-fc1")},
        },
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == f"{SYSTEMS}/db-1"
    db = http.get(f"{SYSTEMS}/db-1").json()
    assert db["SystemType"] == "VirtuallyPartitioned"
    assert db["ProcessorSummary"]["CoreCount"] == 2
    assert db["MemorySummary"]["TotalSystemMemoryGiB"] == 8
    assert db["Links"]["ResourceBlocks"][-1] == {"@odata.id": f"{BLOCKS}/blade-05-port-fc1"}
    assert db["Oem"]["KanriLab"]["Ports"] == [{"Port": "fc1", "Shared": False}]

    answer = http.post(
        SYSTEMS,
        json={"Name": "web 1", "Oem": {"KanriLab": {
            "Host": "blade-05", "Cores": 2, "CpuMode": "Shared", "SharedWeight": 50,
            "MemoryGiB": 8, "Ports": [{"Port": "fc0", "Shared": True}]}}},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    web = answer.json()
    assert web["Id"] == "web-1"  # made from the Name
    assert web["Oem"]["KanriLab"]["CpuMode"] == "Shared"
    assert web["Oem"]["KanriLab"]["SharedWeight"] == 50
    block = http.get(f"{BLOCKS}/blade-05-port-fc0").json()
    assert block["CompositionStatus"]["NumberOfCompositions"] == 2
    members = {m["@odata.id"] for m in http.get(SYSTEMS).json()["Members"]}
    assert {f"{SYSTEMS}/db-1", f"{SYSTEMS}/web-1"} <= members


def test_refusals_are_redfish_errors_that_change_nothing(http: httpx.Client) -> None:
    before = http.get(SYSTEMS).json()["Members"]
    too_big = {"Name": "x", "Oem": {"KanriLab": {"Host": "blade-05", "Cores": 13,
                                                 "MemoryGiB": 8}}}  # fmt: skip
    assert refused(http.post(SYSTEMS, json=too_big), 409, "Base.1.22.ResourceExhaustion") == (
        "blade-05 cannot give 13 dedicated cores: 12 of its 16 cores are free "
        "(4 dedicated to other partitions, 0 used by shared partitions)"
    )
    no_name = {"Links": {"ResourceBlocks": block_refs("blade-05-cpu-9", "blade-05-mem-7")}}
    assert "Name is required" in refused(
        http.post(SYSTEMS, json=no_name), 400, "Base.1.22.CreateFailedMissingReqProperties"
    )
    unknown = {"Name": "x", "Links": {"ResourceBlocks": block_refs("blade-05-gpu-0")}}
    assert refused(
        http.post(SYSTEMS, json=unknown), 400, "Composition.1.1.ResourceBlockNotFound"
    ) == ("no resource block blade-05-gpu-0")
    in_use = {"Name": "x", "Links": {"ResourceBlocks": block_refs("blade-05-cpu-0",
                                                                  "blade-05-mem-7")}}  # fmt: skip
    assert refused(http.post(SYSTEMS, json=in_use), 409, "Composition.1.1.ResourceBlockInUse") == (
        "resource block blade-05-cpu-0 is in use by app-1 (dedicated)"
    )
    bare = {"Name": "x", "Oem": {"KanriLab": {"Host": "blade-01", "Cores": 1, "MemoryGiB": 8}}}
    assert "blade-01 is in bare mode" in refused(
        http.post(SYSTEMS, json=bare), 409, "Composition.1.1.NoResourceMatch"
    )
    twice = {"Name": "app-1", "Oem": {"KanriLab": {"Host": "blade-05", "Cores": 1,
                                                   "MemoryGiB": 8}}}  # fmt: skip
    refused(http.post(SYSTEMS, json=twice), 409, "Base.1.22.ResourceAlreadyExists")
    bad_type = {"Name": "x", "Oem": {"KanriLab": {"Host": "blade-05", "Cores": "two",
                                                  "MemoryGiB": 8}}}  # fmt: skip
    assert "Cores must be a whole number" in refused(
        http.post(SYSTEMS, json=bad_type), 400, "Base.1.22.PropertyValueTypeError"
    )
    assert http.get(SYSTEMS).json()["Members"] == before


def test_partition_power_follows_its_host(http: httpx.Client, lab: LabServer) -> None:
    reset = f"{SYSTEMS}/app-1/Actions/ComputerSystem.Reset"
    assert http.post(reset, json={"ResetType": "On"}).status_code == 204

    def app() -> dict[str, Any]:
        doc: dict[str, Any] = http.get(f"{SYSTEMS}/app-1").json()
        return doc

    wait_for(lambda: app()["BootProgress"]["LastState"] == "OSRunning")
    assert app()["Oem"]["KanriLab"]["BootVolume"] == "vol-app-1"

    host_reset = f"{SYSTEMS}/blade-05/Actions/ComputerSystem.Reset"
    assert http.post(host_reset, json={"ResetType": "ForceOff"}).status_code == 204
    assert app()["PowerState"] == "Off"
    assert lab.lab is not None
    assert lab.lab.partitions["app-1"].killed_by_host
    message = refused(
        http.post(reset, json={"ResetType": "On"}), 409, "Base.1.22.ActionNotSupported"
    )
    assert "its host blade-05 is not running its hypervisor" in message


def test_delete_is_refused_while_on_and_then_frees_the_blocks(http: httpx.Client) -> None:
    reset = f"{SYSTEMS}/app-1/Actions/ComputerSystem.Reset"
    http.post(reset, json={"ResetType": "On"})
    message = refused(http.delete(f"{SYSTEMS}/app-1"), 409, "Base.1.22.ResourceInUse")
    assert "power it off before deleting it" in message
    http.post(reset, json={"ResetType": "ForceOff"})
    assert http.delete(f"{SYSTEMS}/app-1").status_code == 204
    assert http.get(f"{SYSTEMS}/app-1").status_code == 404
    core = http.get(f"{BLOCKS}/blade-05-cpu-0").json()
    assert core["CompositionStatus"]["CompositionState"] == "Unused"
    assert core["Links"]["ComputerSystems"] == []
    refused(http.delete(f"{SYSTEMS}/blade-01"), 405, "Base.1.22.OperationNotAllowed")


def test_modify_adds_cores_live_and_needs_off_for_memory(http: httpx.Client) -> None:
    reset = f"{SYSTEMS}/app-1/Actions/ComputerSystem.Reset"
    http.post(reset, json={"ResetType": "On"})
    more = http.patch(f"{SYSTEMS}/app-1", json={"Oem": {"KanriLab": {"Cores": 6}}})
    assert more.status_code == 204, more.text
    assert http.get(f"{SYSTEMS}/app-1").json()["ProcessorSummary"]["CoreCount"] == 6

    memory = {"Oem": {"KanriLab": {"MemoryGiB": 32}}}
    message = refused(
        http.patch(f"{SYSTEMS}/app-1", json=memory),
        409,
        "Base.1.22.PropertyValueResourceConflict",
    )
    assert "changing memory (16 to 32 GiB) need it Off" in message
    http.post(reset, json={"ResetType": "ForceOff"})
    by_blocks = {"Links": {"ResourceBlocks": block_refs(
        "blade-05-cpu-0", "blade-05-mem-0", "blade-05-mem-1", "blade-05-mem-2",
        "blade-05-port-fc0")}}  # fmt: skip
    assert http.patch(f"{SYSTEMS}/app-1", json=by_blocks).status_code == 204
    app = http.get(f"{SYSTEMS}/app-1").json()
    assert app["ProcessorSummary"]["CoreCount"] == 1
    assert app["MemorySummary"]["TotalSystemMemoryGiB"] == 24
    assert app["Oem"]["KanriLab"]["Ports"] == [{"Port": "fc0", "Shared": True}]  # still shared


def test_mode_switch_through_bios_settings_applies_at_the_next_boot(
    redfish: sushy.Sushy, http: httpx.Client
) -> None:
    system = redfish.get_system(f"{SYSTEMS}/blade-01")
    bios = system.bios
    assert bios.attributes["SystemMode"] == "Bare"
    bios.set_attribute("SystemMode", "Hypervisor")
    bios.refresh()
    assert bios.attributes["SystemMode"] == "Bare"
    assert bios.pending_attributes["SystemMode"] == "Hypervisor"

    system.reset_system(sushy.ResetType.FORCE_RESTART)

    def mode() -> Any:
        return http.get(f"{SYSTEMS}/blade-01/Bios").json()["Attributes"]["SystemMode"]

    wait_for(lambda: mode() == "Hypervisor")
    zones = http.get("/redfish/v1/CompositionService/ResourceZones").json()
    assert {"@odata.id": "/redfish/v1/CompositionService/ResourceZones/blade-01-zone"} in (
        zones["Members"]
    )
    bad = http.patch(f"{SYSTEMS}/blade-01/Bios/Settings",
                     json={"Attributes": {"SystemMode": "Hyper"}})  # fmt: skip
    assert "cannot be 'Hyper'" in refused(bad, 400, "Base.1.22.PropertyValueNotInList")
    assert http.get(f"{SYSTEMS}/app-1/Bios").status_code == 404  # partitions have none
