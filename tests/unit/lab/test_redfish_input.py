"""Odd requests to the lab's Redfish service get a Redfish error naming what is wrong:
never a 500, never a setting silently ignored."""

from __future__ import annotations

import ast
import asyncio
import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from kanri.lab.model.events import LabEvent
from kanri.lab.model.lab import Lab
from kanri.lab.redfish.app import create_app
from kanri.lab.redfish.common import BadRequest, body_of
from tests.unit.lab.conftest import MakeLab

LAB = {
    "machines": [{"id": "b1", "power": "On"}],
    "volumes": [{"id": "v1", "size_gib": 1}],
    "host_groups": [{"id": "g1", "initiators": ["b1/fc0"], "luns": {0: "v1"}}],
}
VOLUME = {"@odata.id": "/redfish/v1/Storage/SAN/Volumes/v1"}
SOURCES = Path(__file__).resolve().parents[3] / "src" / "kanri" / "lab"


@pytest.fixture
def lab(make_lab: MakeLab) -> Lab:
    return make_lab(LAB)


@pytest.fixture
def client(lab: Lab) -> Iterator[TestClient]:
    with TestClient(create_app(lab), raise_server_exceptions=False) as http:
        http.auth = ("admin", "password")
        yield http


def message_id(answer: Any) -> str:
    info: str = answer.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"]
    return info


def test_a_boot_lun_in_unicode_digits_is_a_format_error(client: TestClient) -> None:
    answer = client.patch(
        "/redfish/v1/Chassis/b1/NetworkAdapters/HBA/NetworkDeviceFunctions/fc0",
        json={"FibreChannel": {"BootTargets": [{"LUNID": "²"}]}},
    )
    assert answer.status_code == 400
    assert message_id(answer) == "Base.1.22.PropertyValueFormatError"


@pytest.mark.parametrize("access", [[1, "Read"], ["Read", None], [{"a": 1}]])
def test_access_capabilities_that_are_not_words_are_refused(
    client: TestClient, access: list[Any]
) -> None:
    entry = {"Volume": VOLUME, "LUN": 0, "AccessCapabilities": access}
    created = client.post(
        "/redfish/v1/Fabrics/SAN/Connections", json={"Id": "g2", "VolumeInfo": [entry]}
    )
    patched = client.patch("/redfish/v1/Fabrics/SAN/Connections/g1", json={"VolumeInfo": [entry]})
    for answer in (created, patched):
        assert answer.status_code == 400
        assert message_id(answer) == "Base.1.22.PropertyValueNotInList"


def test_credentials_outside_ascii_are_simply_wrong(client: TestClient) -> None:
    login = client.post(
        "/redfish/v1/SessionService/Sessions",
        json={"UserName": "admin", "Password": "pässword"},
    )
    assert login.status_code == 401
    basic = base64.b64encode("admin:pässword".encode("latin-1")).decode()
    answer = client.get(
        "/redfish/v1/Systems", auth=None, headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 401
    assert message_id(answer) == "Base.1.22.NoValidSession"


def test_a_lab_password_outside_ascii_works(make_lab: MakeLab) -> None:
    lab = make_lab({"password": "pässword", "machines": [{"id": "b1"}]})
    with TestClient(create_app(lab), raise_server_exceptions=False) as http:
        login = http.post(
            "/redfish/v1/SessionService/Sessions",
            json={"UserName": "admin", "Password": "pässword"},
        )
        assert login.status_code == 201
        assert http.get("/redfish/v1/Systems", auth=("admin", "pässword")).status_code == 200


def test_boot_properties_the_lab_does_not_have_are_refused(client: TestClient, lab: Lab) -> None:
    answer = client.patch(
        "/redfish/v1/Systems/b1",
        json={"Boot": {"BootSourceOverrideTarget": "Pxe", "BootOrder": ["a"]}},
    )
    assert answer.status_code == 400
    assert message_id(answer) == "Base.1.22.PropertyUnknown"
    legacy = client.patch(
        "/redfish/v1/Systems/b1", json={"Boot": {"BootSourceOverrideMode": "Legacy"}}
    )
    assert legacy.status_code == 400
    assert message_id(legacy) == "Base.1.22.PropertyValueNotInList"
    assert lab.machine("b1").boot_override == "None"  # nothing half-applied
    uefi = client.patch(
        "/redfish/v1/Systems/b1",
        json={"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideMode": "UEFI"}},
    )
    assert uefi.status_code == 204
    assert lab.machine("b1").boot_override == "Pxe"


@pytest.mark.parametrize(
    "body",
    [
        {"Links": {"InitiatorEndpoint": []}},  # a typo, not "no initiators"
        {"Oem": {"Kanri": {"Initiators": []}}},
        {"Oem": {"KanriLab": {"Initiator": ["20:00:00:6b:00:09:00:00"]}}},
    ],
)
def test_host_group_links_and_oem_properties_must_be_known(
    client: TestClient, lab: Lab, body: dict[str, Any]
) -> None:
    created = client.post("/redfish/v1/Fabrics/SAN/Connections", json={"Id": "g2", **body})
    patched = client.patch("/redfish/v1/Fabrics/SAN/Connections/g1", json=body)
    for answer in (created, patched):
        assert answer.status_code == 400
        assert message_id(answer) == "Base.1.22.PropertyUnknown"
    assert set(lab.san.host_groups) == {"g1"}
    assert lab.san.host_group("g1").initiators == {"20:00:00:6b:00:01:00:00"}


@pytest.mark.parametrize(
    "subscription",
    [
        {"Destination": "http://[::1/events"},
        {"Destination": "http://127.0.0.1:99999/events"},
        {
            "Destination": "http://127.0.0.1/events",
            "HttpHeaders": [{"X-Token": "a\r\nInjected: b"}],
        },
        {"Destination": "http://127.0.0.1/events", "HttpHeaders": [{"X-Token": "clé"}]},
    ],
)
def test_a_subscription_that_could_never_be_delivered_is_refused(
    client: TestClient, subscription: dict[str, Any]
) -> None:
    answer = client.post(
        "/redfish/v1/EventService/Subscriptions", json={"Protocol": "Redfish", **subscription}
    )
    assert answer.status_code == 400
    assert message_id(answer) == "Base.1.22.PropertyValueFormatError"
    assert client.get("/redfish/v1/EventService/Subscriptions").json()["Members"] == []


def test_the_registries_list_every_registry_behind_a_message_the_lab_writes(
    client: TestClient,
) -> None:
    used: set[str] = set()
    for source in SOURCES.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found = re.fullmatch(r"([A-Z][A-Za-z]+\.\d+\.\d+)\.[A-Z][A-Za-z]+", node.value)
                if found:
                    used.add(found.group(1))
    served = {
        client.get(member["@odata.id"]).json()["Registry"]
        for member in client.get("/redfish/v1/Registries").json()["Members"]
    }
    assert "Composition.1.1" in used
    assert used <= served


def test_a_test_event_is_raised_under_the_labs_lock_like_every_other(
    client: TestClient, lab: Lab
) -> None:
    # The event bus's drop counter is a fault, changed under the lab's lock.
    owned: list[bool] = []

    def listener(event: LabEvent) -> None:
        owned.append(lab.lock._is_owned())  # type: ignore[attr-defined]

    lab.events.listen(listener)
    answer = client.post("/redfish/v1/EventService/Actions/EventService.SubmitTestEvent", json={})
    assert answer.status_code == 204
    assert owned == [True]


def test_a_huge_body_is_refused_before_it_is_read_whole() -> None:
    chunk = b" " * 65536
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": chunk, "more_body": sent < 100}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(BadRequest) as caught:
        asyncio.run(body_of(request))
    assert caught.value.status == 413
    assert sent <= 2


def test_a_body_over_64_kib_is_a_413_from_redfish_and_the_control_api(
    client: TestClient,
) -> None:
    big = b'{"Name": "' + b"x" * 70_000 + b'"}'
    volume = client.post(
        "/redfish/v1/Storage/SAN/Volumes", content=big, headers={"Content-Type": "application/json"}
    )
    assert volume.status_code == 413
    assert message_id(volume) == "Base.1.22.GeneralError"
    fault = client.post("/lab/v1/faults", content=big)
    assert fault.status_code == 413
    assert "64 KiB" in fault.json()["error"]


def test_a_bug_in_a_handler_is_a_redfish_internal_error_not_a_bare_500(
    client: TestClient, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(system_id: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lab, "system", broken)
    answer = client.get("/redfish/v1/Systems/b1")
    assert answer.status_code == 500
    assert message_id(answer) == "Base.1.22.InternalError"
    assert "a bug" not in answer.text  # no internals in the answer
