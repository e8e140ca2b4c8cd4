"""/api/v1/storage over the fake storage driver: register, list, show, remove, volumes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.domain.storage import StorageArray
from kanri.drivers.fake.world import FAKE_PASSWORD_REJECTED
from kanri.drivers.storage import arrays_of
from kanri.engine.manager import Manager

GIB = 1024**3
PASSWORD = "array-s3cret"
WWPN = "20:00:00:6b:00:01:00:00"


def _add(client: TestClient, **overrides: Any) -> Any:
    body = {
        "name": "san1",
        "url": "fake://san1",
        "username": "admin",
        "password": PASSWORD,
        "driver": "fake",
    }
    body.update(overrides)
    return client.post("/api/v1/storage", json=body)


def test_every_storage_endpoint_needs_a_token(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    for method, path in [
        ("GET", "/api/v1/storage"),
        ("POST", "/api/v1/storage"),
        ("GET", "/api/v1/storage/san1"),
        ("DELETE", "/api/v1/storage/san1"),
        ("GET", "/api/v1/storage/san1/volumes"),
    ]:
        assert anonymous.request(method, path).status_code == 401, path


def test_register_list_show_remove(client: TestClient) -> None:
    added = _add(client)
    assert added.status_code == 201, added.text
    expected = {
        "name": "san1",
        "url": "fake://san1",
        "driver": "fake",
        "username": "admin",
        "verify_tls": True,
    }
    assert added.json() == expected
    assert PASSWORD not in added.text
    assert client.get("/api/v1/storage").json() == [expected]
    assert client.get("/api/v1/storage/san1").json() == expected
    assert client.delete("/api/v1/storage/san1").status_code == 204
    missing = client.get("/api/v1/storage/san1")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no storage system named 'san1'"


def test_the_driver_defaults_to_swordfish(client: TestClient) -> None:
    body = {"name": "san1", "url": "http://127.0.0.1:9", "username": "a", "password": "b"}
    answer = client.post("/api/v1/storage", json=body)
    assert answer.status_code == 504  # the swordfish driver tried, and nobody listens
    assert "connection refused" in answer.json()["detail"]
    assert client.get("/api/v1/storage").json() == []


@pytest.mark.parametrize(
    ("overrides", "status", "kind"),
    [
        ({"password": FAKE_PASSWORD_REJECTED}, 502, "bmc-auth-failed"),
        ({"url": "http://127.0.0.1:9"}, 504, "bmc-unreachable"),
        ({"driver": "nope"}, 422, "invalid"),
        ({"name": "Bad Name"}, 422, "invalid"),
        ({"secret": "x"}, 422, "invalid"),
        ({"password": ""}, 422, "invalid"),
    ],
)
def test_bad_registrations_say_why_and_store_nothing(
    client: TestClient, overrides: dict[str, Any], status: int, kind: str
) -> None:
    answer = _add(client, **overrides)
    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == f"urn:kanri:problem:{kind}"
    assert "\n" not in answer.json()["detail"]
    assert client.get("/api/v1/storage").json() == []


def test_a_second_registration_is_a_conflict(client: TestClient) -> None:
    assert _add(client).status_code == 201
    assert _add(client).status_code == 409
    assert _add(client, name="san2").status_code == 409  # same URL


def test_volumes_show_capacity_and_mappings(client: TestClient, manager: Manager) -> None:
    assert _add(client).status_code == 201
    array = StorageArray("fake://san1", "admin", PASSWORD)
    driver = manager.drivers.storage("fake")
    driver.create_volume(array, "boot-1", 40 * GIB)
    driver.create_volume(array, "spare", GIB)
    driver.create_host_group(array, "hg-1", [WWPN])
    driver.map_volume(array, "hg-1", "boot-1", 0)
    volumes = client.get("/api/v1/storage/san1/volumes").json()
    assert volumes == [
        {
            "storage": "san1",
            "id": "boot-1",
            "name": "boot-1",
            "capacity_bytes": 40 * GIB,
            "durable_name": "fake-boot-1",
            "mappings": [{"host_group": "hg-1", "lun": 0, "initiators": [WWPN]}],
        },
        {
            "storage": "san1",
            "id": "spare",
            "name": "spare",
            "capacity_bytes": GIB,
            "durable_name": "fake-spare",
            "mappings": [],
        },
    ]


def test_volumes_of_an_array_that_went_away(client: TestClient, manager: Manager) -> None:
    assert _add(client).status_code == 201
    arrays_of(manager.drivers.context).arrays["fake://san1"].reachable = False
    answer = client.get("/api/v1/storage/san1/volumes")
    assert answer.status_code == 504
    assert answer.json()["detail"].startswith("fake://san1: ")
    assert client.get("/api/v1/storage/nope/volumes").status_code == 404


def test_a_driver_name_longer_than_the_store_keeps_is_refused(client: TestClient) -> None:
    answer = _add(client, driver="x" * 65)
    assert answer.status_code == 422
    assert client.get("/api/v1/storage").json() == []
