"""Port identities over HTTP: NetworkAdapters and NetworkDeviceFunctions as sushy reads
them, a WWPN set by PATCH and presented (and SAN-booted from) at the next boot, the FC
boot target, and kanri's own Redfish driver discovering machines and partitions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sushy
from sushy.auth import BasicAuth

from kanri.domain.model import Bmc
from kanri.domain.states import SystemKind
from kanri.drivers.redfish import RedfishInventory
from kanri.drivers.registry import DriverContext
from kanri.lab.server import LabServer
from tests.integration.conftest import TEST_OPTIONS
from tests.integration.lab.conftest import ServeLab
from tests.waiting import wait_for

SYSTEMS = "/redfish/v1/Systems"
HBA = "/redfish/v1/Chassis/{}/NetworkAdapters/HBA/NetworkDeviceFunctions/{}"
MOVED = "20:00:00:6b:00:99:00:00"  # a failed server's WWPN, taken over by blade-01
OTHER = "2a:00:00:00:00:00:0b:01"  # another server's virtual WWPN, taken over by app-1
LAB: dict[str, Any] = {
    "scale": 100.0,
    "machines": [
        {"id": "blade-01", "power": "On"},
        {"id": "blade-05", "mode": "hypervisor", "cores": 16, "memory_gib": 64, "power": "On"},
    ],
    "partitions": [
        {"id": "app-1", "host": "blade-05", "cores": 2, "memory_gib": 8,
         "ports": ["fc0:shared", "nic0:shared", "fc1"]},
    ],
    "volumes": [{"id": v, "size_gib": 1} for v in ("vol-1", "vol-lun1", "vol-moved", "vol-app",
                                                   "vol-other")],
    "host_groups": [
        {"id": "hg-1", "initiators": ["blade-01/fc0"], "luns": {0: "vol-1", 1: "vol-lun1"}},
        {"id": "hg-moved", "initiators": [MOVED], "luns": {0: "vol-moved"}},
        {"id": "hg-app", "initiators": ["app-1/fc0"], "luns": {0: "vol-app"}},
        {"id": "hg-other", "initiators": [OTHER], "luns": {0: "vol-other"}},
    ],
}  # fmt: skip


@pytest.fixture
def lab(serve_lab: ServeLab) -> LabServer:
    return serve_lab(LAB)


def boot_volume(http: httpx.Client, system: str) -> str | None:
    doc = http.get(f"{SYSTEMS}/{system}").json()
    if doc["BootProgress"]["LastState"] != "OSRunning":
        return None
    volume: str | None = doc["Oem"]["KanriLab"]["BootVolume"]
    return volume


def reset(http: httpx.Client, system: str, reset_type: str) -> None:
    answer = http.post(
        f"{SYSTEMS}/{system}/Actions/ComputerSystem.Reset", json={"ResetType": reset_type}
    )
    assert answer.status_code == 204, answer.text


def test_sushy_reads_adapters_and_functions(lab: LabServer) -> None:
    root = sushy.Sushy(f"{lab.url}/redfish/v1", auth=BasicAuth("admin", "password"))
    try:
        chassis = root.get_chassis("/redfish/v1/Chassis/blade-05")
        adapters = {a.identity: a for a in chassis.network_adapters.get_members()}
        assert set(adapters) == {"NIC", "HBA"}
        functions = {f.identity: f for f in adapters["HBA"].network_device_functions.get_members()}
        # the host's two physical ports, then app-1's virtual one on fc0 (fc1 is dedicated)
        assert list(functions) == ["fc0", "fc1", "app-1-fc0"]
        virtual = functions["app-1-fc0"]
        assert virtual.fibre_channel.boot_targets[0].lun_id == "0"
        assert virtual.json["FibreChannel"]["WWPN"].startswith("2a:02:00:6b:02:")
        assert virtual.json["Oem"]["KanriLab"]["System"] == "app-1"
        assert functions["fc1"].json["Oem"]["KanriLab"]["System"] == "app-1"  # dedicated
        nic = adapters["NIC"].network_device_functions.get_member(
            "/redfish/v1/Chassis/blade-05/NetworkAdapters/NIC/NetworkDeviceFunctions/app-1-nic0"
        )
        assert nic.ethernet.mac_address.startswith("06:02:00:")
    finally:
        root._conn.close()


def test_a_new_wwpn_is_presented_and_booted_from_at_the_next_boot(http: httpx.Client) -> None:
    fc0 = HBA.format("blade-01", "fc0")
    permanent = http.get(fc0).json()["FibreChannel"]["PermanentWWPN"]
    assert boot_volume(http, "blade-01") == "vol-1"

    answer = http.patch(fc0, json={"FibreChannel": {"WWPN": MOVED.upper()}})
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["FibreChannel"]["WWPN"] == MOVED  # configured now...
    assert doc["Oem"]["KanriLab"]["Presented"] == permanent  # ...presented from next boot
    assert boot_volume(http, "blade-01") == "vol-1"

    reset(http, "blade-01", "ForceRestart")
    wait_for(lambda: boot_volume(http, "blade-01") == "vol-moved")
    assert http.get(fc0).json()["Oem"]["KanriLab"]["Presented"] == MOVED

    # null restores the burnt-in WWPN, again from the next boot
    assert http.patch(fc0, json={"FibreChannel": {"WWPN": None}}).status_code == 200
    assert http.get(fc0).json()["FibreChannel"]["WWPN"] == permanent
    reset(http, "blade-01", "ForceRestart")
    wait_for(lambda: boot_volume(http, "blade-01") == "vol-1")


def test_the_boot_target_lun_picks_the_volume(http: httpx.Client) -> None:
    fc0 = HBA.format("blade-01", "fc0")
    answer = http.patch(fc0, json={"FibreChannel": {"BootTargets": [{"LUNID": "1"}]}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["FibreChannel"]["BootTargets"][0]["LUNID"] == "1"
    reset(http, "blade-01", "ForceRestart")
    wait_for(lambda: boot_volume(http, "blade-01") == "vol-lun1")


def test_a_partition_takes_another_servers_wwpn_through_its_interfaces(
    http: httpx.Client,
) -> None:
    interfaces = http.get(f"{SYSTEMS}/app-1/NetworkInterfaces").json()
    assert [m["@odata.id"].rsplit("/", 1)[-1] for m in interfaces["Members"]] == ["NIC", "HBA"]
    hba = http.get(f"{SYSTEMS}/app-1/NetworkInterfaces/HBA").json()
    assert hba["Links"]["NetworkAdapter"] == {
        "@odata.id": "/redfish/v1/Chassis/blade-05/NetworkAdapters/HBA"
    }
    functions = http.get(hba["NetworkDeviceFunctions"]["@odata.id"]).json()["Members"]
    paths = [m["@odata.id"] for m in functions]
    assert paths == [HBA.format("blade-05", "app-1-fc0"), HBA.format("blade-05", "fc1")]

    reset(http, "app-1", "On")
    wait_for(lambda: boot_volume(http, "app-1") == "vol-app")
    assert http.patch(paths[0], json={"FibreChannel": {"WWPN": OTHER}}).status_code == 200
    reset(http, "app-1", "ForceRestart")
    wait_for(lambda: boot_volume(http, "app-1") == "vol-other")


@pytest.mark.parametrize(
    ("function", "body", "status", "message_id", "says"),
    [
        (("blade-01", "fc0"), {"FibreChannel": {"WWPN": "20:00"}}, 400,
         "PropertyValueFormatError", "is not eight hex pairs"),
        (("blade-01", "fc0"), {"FibreChannel": {"PermanentWWPN": MOVED}}, 400,
         "PropertyNotWritable", "FibreChannel.PermanentWWPN cannot be set"),
        (("blade-01", "fc0"), {"Ethernet": {"MACAddress": "02:00:00:00:00:01"}}, 400,
         "PropertyUnknown", "Ethernet cannot be set on FibreChannel function fc0"),
        (("blade-01", "fc0"), {"FibreChannel": {"WWPN": MOVED, "BootTargets": [{"LUNID": "x"}]}},
         400, "PropertyValueFormatError", "LUNID must be a LUN number"),
        (("blade-01", "fc9"), {"FibreChannel": {"WWPN": MOVED}}, 404,
         "ResourceMissingAtURI", "has no function fc9"),
    ],
)  # fmt: skip
def test_bad_identity_changes_are_refused_and_change_nothing(
    http: httpx.Client,
    function: tuple[str, str],
    body: dict[str, Any],
    status: int,
    message_id: str,
    says: str,
) -> None:
    fc0 = HBA.format("blade-01", "fc0")
    before = http.get(fc0).json()
    answer = http.patch(HBA.format(*function), json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["@Message.ExtendedInfo"][0]["MessageId"] == f"Base.1.22.{message_id}"
    assert says in error["message"]
    assert http.get(fc0).json() == before


def test_multicast_mac_is_refused(http: httpx.Client) -> None:
    nic = "/redfish/v1/Chassis/blade-01/NetworkAdapters/NIC/NetworkDeviceFunctions/nic0"
    answer = http.patch(nic, json={"Ethernet": {"MACAddress": "01:00:5e:00:00:01"}})
    assert answer.status_code == 400
    assert "multicast" in answer.json()["error"]["message"]


def test_kanri_redfish_driver_discovers_machines_and_partitions(lab: LabServer) -> None:
    context = DriverContext(TEST_OPTIONS)
    try:
        found = {
            s.system_id: s
            for s in RedfishInventory(context).discover(Bmc(lab.url, "admin", "password"))
        }
    finally:
        context.close()
    assert set(found) == {"blade-01", "blade-05", "app-1"}
    assert lab.lab is not None
    partition = lab.lab.partitions["app-1"]
    app = found["app-1"]
    assert app.kind is SystemKind.PARTITION
    assert app.host_system_id == "blade-05"
    assert (app.cpu_cores, app.memory_mib) == (2, 8 * 1024)
    assert {p.wwpn for p in app.fc_ports} == {
        p.configured for p in partition.ports if p.id.startswith("fc")
    }
    assert [n.mac for n in app.nics] == [partition.ports[1].configured]
    blade = found["blade-01"]
    assert blade.kind is SystemKind.MACHINE
    assert {p.wwpn for p in blade.fc_ports} == {
        "20:00:00:6b:00:01:00:00",
        "20:00:00:6b:00:01:00:01",
    }
    assert blade.cpu_cores == 16
