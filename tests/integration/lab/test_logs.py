"""Each system's SEL as a Redfish LogService, and the registries behind its MessageIds."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from kanri.lab.server import LabServer
from tests.integration.lab.conftest import ServeLab

AUTH = ("admin", "password")
LAB = {
    "machines": [{"id": "b1"}, {"id": "b2", "mode": "hypervisor", "power": "On"}],
    "partitions": [{"id": "p1", "host": "b2", "ports": ["fc0:shared"]}],
}
SEL = "/redfish/v1/Systems/b1/LogServices/SEL"
SRC = Path(__file__).resolve().parents[3] / "src" / "kanri" / "lab"


def http(server: LabServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=AUTH, timeout=10)


def test_a_system_links_its_sel_log_service(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        for system in ("b1", "p1"):
            doc = client.get(f"/redfish/v1/Systems/{system}").json()
            services = client.get(doc["LogServices"]["@odata.id"]).json()
            assert services["Members"] == [
                {"@odata.id": f"/redfish/v1/Systems/{system}/LogServices/SEL"}
            ]
        service = client.get(SEL).json()
    assert service["Id"] == "SEL"
    assert service["LogEntryType"] == "SEL"
    assert service["Entries"] == {"@odata.id": f"{SEL}/Entries"}
    assert service["Actions"]["#LogService.ClearLog"]["target"] == (
        f"{SEL}/Actions/LogService.ClearLog"
    )


def test_sel_entries_show_faults_and_boot_failures_with_their_message_ids(
    serve_lab: ServeLab,
) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        client.post("/lab/v1/faults", json={"kind": "component", "target": "b1",
                                            "component": "psu", "id": "PSU2"})  # fmt: skip
        # b1 has nothing mapped: it finds no bootable device
        client.post("/redfish/v1/Systems/b1/Actions/ComputerSystem.Reset", json={"ResetType": "On"})
        entries: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while len(entries) < 2:  # the boot failure comes after hardware init, in lab time
            assert time.monotonic() < deadline, f"no boot failure logged: {entries}"
            entries = client.get(f"{SEL}/Entries").json()["Members"]
        assert client.get(f"{SEL}/Entries/1").json() == entries[0]
        assert client.get(f"{SEL}/Entries/99").status_code == 404
    psu, boot = entries
    assert (psu["Id"], psu["EntryType"], psu["Severity"]) == ("1", "SEL", "Critical")
    assert psu["MessageId"] == "ResourceEvent.1.4.ResourceStatusChangedCritical"
    assert psu["Message"] == "The health of resource 'PSU2' has changed to Critical."
    assert psu["SensorType"] == "Power Supply / Converter"
    assert psu["EntryCode"] == "Transition to Critical from less severe"
    assert psu["@odata.id"] == f"{SEL}/Entries/1"
    assert boot["MessageId"] == "KanriLab.1.0.NoBootableDevice"
    assert boot["SensorType"] == "Boot Error"
    assert re.match(r"\d{4}-\d\d-\d\dT", boot["Created"])


def test_clear_log_leaves_one_entry_saying_so(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        client.post("/lab/v1/faults", json={"kind": "component", "target": "b1",
                                            "component": "fan"})  # fmt: skip
        answer = client.post(f"{SEL}/Actions/LogService.ClearLog", json={})
        assert answer.status_code == 204
        (entry,) = client.get(f"{SEL}/Entries").json()["Members"]
        history = client.get("/lab/v1/history", params={"kind": "sel."}).json()["records"]
    assert entry["MessageId"] == "LogService.1.1.LogCleared"
    assert entry["Severity"] == "OK"
    assert history[0]["data"] == {"system": "b1", "entries": 1}


def test_every_message_id_the_lab_writes_is_in_a_registry_it_lists(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        root = client.get("/redfish/v1/").json()
        files = client.get(root["Registries"]["@odata.id"]).json()["Members"]
        registries = {}
        for member in files:
            doc = client.get(member["@odata.id"]).json()
            assert doc["Id"] == member["@odata.id"].rsplit("/", 1)[-1]
            registries[doc["Registry"]] = doc
        lab_file = registries["KanriLab.1.0"]
        lab_registry = client.get(lab_file["Location"][0]["Uri"]).json()
    assert lab_registry["RegistryPrefix"] == "KanriLab"
    assert lab_registry["RegistryVersion"] == "1.0.0"
    assert registries["ResourceEvent.1.4"]["Location"][0]["PublicationUri"].endswith(
        "ResourceEvent.1.4.3.json"
    )
    # Every "Prefix.1.x.Key" MessageId in the lab's source names a listed registry, and
    # every KanriLab one a message of the lab's own registry.
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r'"((?:KanriLab|ResourceEvent|LogService)\.\d+\.\d+\.[A-Z]\w+)"',
                               path.read_text()))  # fmt: skip
    assert used, "no MessageIds found in the lab's source"
    for message_id in sorted(used):
        prefix, major, minor, key = message_id.split(".")
        assert f"{prefix}.{major}.{minor}" in registries, message_id
        if prefix == "KanriLab":
            assert key in lab_registry["Messages"], message_id
