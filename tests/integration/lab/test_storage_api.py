"""The lab's SAN over HTTP: volumes, endpoints and host groups (Connections) as a client
sees them, each refusal a Redfish error, each change visible to the lab's systems."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from kanri.lab.model.states import ResetType
from kanri.lab.server import LabServer
from tests.integration.lab.conftest import ServeLab

VOLUMES = "/redfish/v1/Storage/SAN/Volumes"
CONNECTIONS = "/redfish/v1/Fabrics/SAN/Connections"
ENDPOINTS = "/redfish/v1/Fabrics/SAN/Endpoints"
WWPN = "20:00:00:6b:00:01:00:00"  # blade-01/fc0 (slot 1)
GIB = 1024**3

LAB = {
    "machines": [{"id": "blade-01"}, {"id": "blade-02"}],
    "volumes": [{"id": "vol-1", "size_gib": 1}, {"id": "vol-2", "size_gib": 1}],
    "host_groups": [{"id": "hg-1", "initiators": ["blade-01/fc0"], "luns": {0: "vol-1"}}],
}


@pytest.fixture
def lab(serve_lab: ServeLab) -> LabServer:
    return serve_lab(LAB)


@pytest.fixture
def http(lab: LabServer) -> httpx.Client:
    return httpx.Client(base_url=lab.url, auth=("admin", "password"), timeout=10)


def _message_id(answer: httpx.Response) -> str:
    info = answer.json()["error"]["@Message.ExtendedInfo"][0]
    message_id: str = info["MessageId"]
    return message_id.rsplit(".", 1)[-1]


def _refused(answer: httpx.Response, status: int, message_id: str) -> str:
    assert answer.status_code == status, answer.text
    assert _message_id(answer) == message_id
    message: str = answer.json()["error"]["message"]
    return message


def test_the_root_lists_storage_and_fabrics(http: httpx.Client) -> None:
    root = http.get("/redfish/v1/").json()
    assert root["Storage"] == {"@odata.id": "/redfish/v1/Storage"}
    assert root["Fabrics"] == {"@odata.id": "/redfish/v1/Fabrics"}
    storage = http.get("/redfish/v1/Storage").json()
    assert storage["Members"] == [{"@odata.id": "/redfish/v1/Storage/SAN"}]
    array = http.get("/redfish/v1/Storage/SAN").json()
    assert array["Volumes"] == {"@odata.id": VOLUMES}
    fabric = http.get("/redfish/v1/Fabrics/SAN").json()
    assert fabric["FabricType"] == "FC"
    assert fabric["Connections"] == {"@odata.id": CONNECTIONS}


def test_storage_needs_credentials(lab: LabServer) -> None:
    answer = httpx.get(f"{lab.url}{VOLUMES}", timeout=10)
    assert answer.status_code == 401


def test_a_volume_shows_capacity_identity_and_its_host_groups(http: httpx.Client) -> None:
    volume = http.get(f"{VOLUMES}/vol-1").json()
    assert volume["Id"] == "vol-1"
    assert volume["CapacityBytes"] == GIB
    (identifier,) = volume["Identifiers"]
    assert identifier["DurableNameFormat"] == "NAA"
    assert len(identifier["DurableName"]) == 32
    assert volume["Connections"] == [{"@odata.id": f"{CONNECTIONS}/hg-1"}]
    assert http.get(f"{VOLUMES}/vol-2").json()["Connections"] == []
    # stable: the same volume id has the same name, which another volume does not share
    assert http.get(f"{VOLUMES}/vol-1").json()["Identifiers"] == volume["Identifiers"]
    other = http.get(f"{VOLUMES}/vol-2").json()["Identifiers"][0]["DurableName"]
    assert other != identifier["DurableName"]


def test_create_and_delete_a_volume(http: httpx.Client, lab: LabServer) -> None:
    created = http.post(VOLUMES, json={"Id": "vol-new", "Name": "new", "CapacityBytes": 5 * GIB})
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{VOLUMES}/vol-new"
    assert created.json()["CapacityBytes"] == 5 * GIB
    members = http.get(VOLUMES).json()["Members"]
    assert {"@odata.id": f"{VOLUMES}/vol-new"} in members
    assert lab.lab is not None
    image = lab.lab.san.volumes["vol-new"].path
    assert image.stat().st_size == 5 * GIB
    assert image.stat().st_blocks * 512 < GIB  # sparse
    assert http.delete(f"{VOLUMES}/vol-new").status_code == 204
    assert not image.exists()
    _refused(http.get(f"{VOLUMES}/vol-new"), 404, "ResourceMissingAtURI")
    kinds = [r.kind for r in lab.lab.history.records]
    assert "san.volume_created" in kinds
    assert "san.volume_deleted" in kinds


def test_a_volume_without_an_id_is_named_for_the_client(http: httpx.Client) -> None:
    first = http.post(VOLUMES, json={"CapacityBytes": GIB})
    assert first.status_code == 201
    assert first.json()["Id"] == "vol-3"  # vol-1 and vol-2 exist
    named = http.post(VOLUMES, json={"Name": "boot-web-3", "CapacityBytes": GIB})
    assert named.json()["Id"] == "boot-web-3"


@pytest.mark.parametrize(
    ("body", "status", "message_id"),
    [
        ({"Id": "v", "CapacityBytes": 0}, 400, "PropertyValueOutOfRange"),
        ({"Id": "v", "CapacityBytes": 65 * 1024**4}, 400, "PropertyValueOutOfRange"),
        ({"Id": "v", "CapacityBytes": "1G"}, 400, "PropertyValueTypeError"),
        ({"Id": "v", "CapacityBytes": True}, 400, "PropertyValueTypeError"),
        ({"Id": "v"}, 400, "CreateFailedMissingReqProperties"),
        ({"Id": "v", "CapacityBytes": 1, "RAIDType": "RAID5"}, 400, "PropertyUnknown"),
        ({"Id": "bad/id!", "CapacityBytes": 1}, 400, "PropertyValueError"),
        ({"Id": "vol-1", "CapacityBytes": 1}, 409, "ResourceAlreadyExists"),
    ],
)
def test_bad_volume_requests(
    http: httpx.Client, body: dict[str, Any], status: int, message_id: str
) -> None:
    _refused(http.post(VOLUMES, json=body), status, message_id)


def test_not_json_is_a_redfish_error(http: httpx.Client) -> None:
    answer = http.post(VOLUMES, content=b"{nope", headers={"Content-Type": "application/json"})
    _refused(answer, 400, "MalformedJSON")


def test_a_mapped_volume_cannot_be_deleted(http: httpx.Client) -> None:
    message = _refused(http.delete(f"{VOLUMES}/vol-1"), 409, "ResourceInUse")
    assert "hg-1" in message
    _refused(http.delete(f"{VOLUMES}/nope"), 404, "ResourceMissingAtURI")


def test_a_host_group_is_a_connection(http: httpx.Client) -> None:
    answer = http.get(f"{CONNECTIONS}/hg-1")
    group = answer.json()
    assert answer.headers["ETag"]
    assert group["ConnectionType"] == "Storage"
    assert group["VolumeInfo"] == [
        {
            "Volume": {"@odata.id": f"{VOLUMES}/vol-1"},
            "LUN": 0,
            "AccessCapabilities": ["Read", "Write"],
        }
    ]
    endpoint = f"{ENDPOINTS}/{WWPN.replace(':', '-')}"
    assert group["Links"]["InitiatorEndpoints"] == [{"@odata.id": endpoint}]
    assert group["Oem"]["KanriLab"]["Initiators"] == [WWPN]
    seen = http.get(endpoint).json()
    assert seen["Identifiers"] == [{"DurableName": WWPN, "DurableNameFormat": "FC_WWN"}]
    assert seen["ConnectedEntities"][0]["EntityRole"] == "Initiator"
    assert seen["EndpointProtocol"] == "FC"


def test_endpoints_list_grouped_and_logged_in_initiators(
    http: httpx.Client, lab: LabServer
) -> None:
    def listed() -> set[str]:
        members = http.get(ENDPOINTS, params={"$expand": "."}).json()["Members"]
        return {m["Identifiers"][0]["DurableName"] for m in members}

    assert listed() == {WWPN}
    assert lab.lab is not None
    lab.lab.reset("blade-02", ResetType.ON)  # its FC ports log in to the fabric
    deadline = time.monotonic() + 10
    while "20:00:00:6b:00:02:00:00" not in listed():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "20:00:00:6b:00:02:00:01" in listed()


def test_create_map_patch_and_delete_a_host_group(http: httpx.Client, lab: LabServer) -> None:
    body = {
        "Id": "hg-2",
        "Oem": {"KanriLab": {"Initiators": ["2000006B00020000"]}},  # normalized
        "VolumeInfo": [{"Volume": {"@odata.id": f"{VOLUMES}/vol-2"}, "LUN": 3}],
    }
    created = http.post(CONNECTIONS, json=body)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{CONNECTIONS}/hg-2"
    assert created.json()["Oem"]["KanriLab"]["Initiators"] == ["20:00:00:6b:00:02:00:00"]
    assert lab.lab is not None
    assert lab.lab.san.visible({"20:00:00:6b:00:02:00:00"}) == {3: "vol-2"}

    # PATCH the whole VolumeInfo list: vol-2 moves to LUN 0, vol-new at the lowest free LUN
    assert http.post(VOLUMES, json={"Id": "vol-new", "CapacityBytes": GIB}).status_code == 201
    patched = http.patch(
        f"{CONNECTIONS}/hg-2",
        json={
            "VolumeInfo": [
                {"Volume": {"@odata.id": f"{VOLUMES}/vol-2"}, "LUN": 0},
                {"Volume": {"@odata.id": f"{VOLUMES}/vol-new"}},
            ]
        },
    )
    assert patched.status_code == 200, patched.text
    assert lab.lab.san.visible({"20:00:00:6b:00:02:00:00"}) == {0: "vol-2", 1: "vol-new"}
    kinds = [(r.kind, r.data.get("lun")) for r in lab.lab.history.records]
    assert ("san.unmap", 3) in kinds
    assert ("san.map", 0) in kinds

    # initiators by endpoint link replace the group's
    link = {"@odata.id": f"{ENDPOINTS}/20-00-00-6b-00-02-00-00"}
    again = http.patch(f"{CONNECTIONS}/hg-2", json={"Links": {"InitiatorEndpoints": [link]}})
    assert again.status_code == 200
    assert again.json()["VolumeInfo"] == patched.json()["VolumeInfo"]

    assert http.delete(f"{CONNECTIONS}/hg-2").status_code == 204
    assert lab.lab.san.visible({"20:00:00:6b:00:02:00:00"}) == {}
    _refused(http.get(f"{CONNECTIONS}/hg-2"), 404, "ResourceMissingAtURI")


def test_if_match_refuses_a_stale_change(http: httpx.Client, lab: LabServer) -> None:
    read = http.get(f"{CONNECTIONS}/hg-1")
    tag = read.headers["ETag"]
    unmap: dict[str, list[object]] = {"VolumeInfo": []}
    # someone else changes the group in between
    other = http.patch(f"{CONNECTIONS}/hg-1", json={"Name": "renamed"})
    assert other.status_code == 200
    stale = http.patch(f"{CONNECTIONS}/hg-1", json=unmap, headers={"If-Match": tag})
    _refused(stale, 412, "PreconditionFailed")
    assert lab.lab is not None
    assert lab.lab.san.host_groups["hg-1"].luns == {0: "vol-1"}
    fresh = http.get(f"{CONNECTIONS}/hg-1").headers["ETag"]
    done = http.patch(f"{CONNECTIONS}/hg-1", json=unmap, headers={"If-Match": fresh})
    assert done.status_code == 200
    assert lab.lab.san.host_groups["hg-1"].luns == {}


def _volume_info(volume: str, lun: object = 0) -> dict[str, Any]:
    return {"VolumeInfo": [{"Volume": {"@odata.id": f"{VOLUMES}/{volume}"}, "LUN": lun}]}


# (body, status, MessageId, also refused as a PATCH of hg-1)
BAD_GROUPS: list[tuple[dict[str, Any], int, str, bool]] = [
    (_volume_info("nope"), 404, "ResourceNotFound", True),
    (_volume_info("vol-2", 256), 400, "PropertyValueOutOfRange", True),
    (_volume_info("vol-2", -1), 400, "PropertyValueOutOfRange", True),
    (_volume_info("vol-2", "0"), 400, "PropertyValueTypeError", True),
    (
        {
            "VolumeInfo": [
                {"Volume": {"@odata.id": f"{VOLUMES}/vol-1"}, "LUN": 1},
                {"Volume": {"@odata.id": f"{VOLUMES}/vol-2"}, "LUN": 1},
            ]
        },
        400,
        "PropertyValueConflict",
        True,
    ),
    (
        {
            "VolumeInfo": [
                {"Volume": {"@odata.id": f"{VOLUMES}/vol-2"}, "LUN": 1},
                {"Volume": {"@odata.id": f"{VOLUMES}/vol-2"}, "LUN": 2},
            ]
        },
        400,
        "PropertyValueConflict",
        True,
    ),
    (
        {
            "VolumeInfo": [
                {"Volume": {"@odata.id": f"{VOLUMES}/vol-2"}, "AccessCapabilities": ["Read"]}
            ]
        },
        400,
        "PropertyValueNotInList",
        True,
    ),
    ({"VolumeInfo": [{"Volume": "vol-2"}]}, 400, "PropertyValueTypeError", True),
    ({"Oem": {"KanriLab": {"Initiators": ["20:00:00:6b"]}}}, 400, "PropertyValueFormatError", True),
    ({"Oem": {"KanriLab": {"Initiators": "20:00:00:6b"}}}, 400, "PropertyValueTypeError", True),
    ({"Oem": {"KanriLab": {"Initiators": [WWPN]}}}, 409, "ResourceInUse", False),
    (
        {"Links": {"InitiatorEndpoints": [{"@odata.id": f"{ENDPOINTS}/nope"}]}},
        404,
        "ResourceNotFound",
        True,
    ),
    ({"ConnectionType": "Memory"}, 400, "PropertyValueNotInList", False),
    ({"Zones": []}, 400, "PropertyUnknown", True),
    ({"Id": "hg-1"}, 409, "ResourceAlreadyExists", False),
]


@pytest.mark.parametrize(("body", "status", "message_id", "patch_too"), BAD_GROUPS)
def test_bad_host_group_requests_change_nothing(
    http: httpx.Client,
    lab: LabServer,
    body: dict[str, Any],
    status: int,
    message_id: str,
    patch_too: bool,
) -> None:
    assert lab.lab is not None
    before = {g.id: (set(g.initiators), dict(g.luns)) for g in lab.lab.san.host_groups.values()}
    _refused(http.post(CONNECTIONS, json={"Id": "hg-new", **body}), status, message_id)
    if patch_too:
        _refused(http.patch(f"{CONNECTIONS}/hg-1", json=body), status, message_id)
    after = {g.id: (set(g.initiators), dict(g.luns)) for g in lab.lab.san.host_groups.values()}
    assert after == before


def test_an_initiator_cannot_join_a_second_group(http: httpx.Client) -> None:
    other = {"Id": "hg-2", "Oem": {"KanriLab": {"Initiators": ["20:00:00:6b:00:02:00:00"]}}}
    assert http.post(CONNECTIONS, json=other).status_code == 201
    taken = {"Oem": {"KanriLab": {"Initiators": ["20:00:00:6b:00:02:00:00", WWPN]}}}
    message = _refused(http.patch(f"{CONNECTIONS}/hg-2", json=taken), 409, "ResourceInUse")
    assert "hg-1" in message


def test_expand_gives_whole_members(http: httpx.Client) -> None:
    volumes = http.get(VOLUMES, params={"$expand": ".($levels=1)"}).json()["Members"]
    assert [v["Id"] for v in volumes] == ["vol-1", "vol-2"]
    groups = http.get(CONNECTIONS, params={"$expand": "."}).json()["Members"]
    assert groups[0]["VolumeInfo"][0]["LUN"] == 0


def test_unmapping_over_http_fences_the_running_os(http: httpx.Client, lab: LabServer) -> None:
    assert lab.lab is not None
    blade = lab.lab.machine("blade-01")
    lab.lab.reset("blade-01", ResetType.ON)
    deadline = time.monotonic() + 10
    while not blade.os_running:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    answer = http.patch(f"{CONNECTIONS}/hg-1", json={"VolumeInfo": []})
    assert answer.status_code == 200
    assert not blade.os_running
    assert blade.booted_volume is None
    assert lab.lab.history.violations == []
