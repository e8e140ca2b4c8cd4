from __future__ import annotations

import stat
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.drivers.fake import FakeWorld
from kanri.engine.manager import Manager


def _add(client: TestClient, **overrides: Any) -> Any:
    body = {
        "name": "rack1",
        "bmc_url": "fake://rack1?systems=3",
        "username": "admin",
        "password": "s3cret-pw",
        "driver": "fake",
    }
    body.update(overrides)
    return client.post("/api/v1/machines", json=body)


def test_every_endpoint_needs_a_token(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    for method, path in [
        ("GET", "/api/v1/machines"),
        ("POST", "/api/v1/machines"),
        ("GET", "/api/v1/machines/x"),
        ("GET", "/api/v1/machines/x/power"),
        ("POST", "/api/v1/machines/x/power"),
        ("GET", "/api/v1/events"),
        ("GET", "/api/v1/status"),
    ]:
        response = anonymous.request(method, path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
        wrong = anonymous.request(method, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401, path


def test_admin_token_file_is_owner_only(manager: Manager) -> None:
    mode = manager.settings.token_file.stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert manager.settings.token_file.read_text().strip() == manager.admin_token
    assert stat.S_IMODE(manager.settings.key_file.stat().st_mode) == 0o600


def test_a_chassis_registers_every_system_by_the_naming_rule(client: TestClient) -> None:
    response = _add(client)
    assert response.status_code == 201
    names = [m["name"] for m in response.json()]
    assert names == ["rack1-1", "rack1-2", "rack1-3"]
    listed = client.get("/api/v1/machines").json()
    assert [m["name"] for m in listed] == names
    shown = client.get("/api/v1/machines/rack1-2").json()
    assert shown["nics"][0]["mac"] == "52:54:00:00:00:02"
    assert shown["fc_ports"][0]["wwpn"].startswith("50:06:0b")
    assert shown["cpu_cores"] == 16


def test_one_system_of_a_chassis_takes_the_name_as_given(client: TestClient) -> None:
    response = _add(client, name="blade2", system_id="2")
    assert [m["name"] for m in response.json()] == ["blade2"]
    missing = _add(client, name="blade9", system_id="9")
    assert missing.status_code == 404
    assert "has no system '9'" in missing.json()["detail"]


def test_passwords_never_come_back(client: TestClient, manager: Manager) -> None:
    _add(client)
    for path in ["/api/v1/machines", "/api/v1/machines/rack1-1", "/openapi.json"]:
        assert "s3cret-pw" not in client.get(path).text
    raw = manager.settings.data_dir.joinpath("kanri.db").read_bytes()
    assert b"s3cret-pw" not in raw


def test_duplicate_registration_is_a_conflict_and_changes_nothing(client: TestClient) -> None:
    _add(client)
    again = _add(client, name="other")
    assert again.status_code == 409
    assert "is registered already as rack1-1" in again.json()["detail"]
    clash = _add(client, bmc_url="fake://another", name="rack1-1")
    assert clash.status_code == 409
    assert len(client.get("/api/v1/machines").json()) == 3


@pytest.mark.parametrize(
    ("overrides", "status", "fragment"),
    [
        ({"password": "wrong"}, 502, "credentials rejected"),
        ({"bmc_url": "https://127.0.0.1:1"}, 504, "connection refused"),
        ({"name": "Bad_Name"}, 422, "name"),
        ({"driver": "nosuch"}, 422, "unknown power driver 'nosuch'"),
        ({"extra": 1}, 422, "extra"),
    ],
)
def test_bad_registrations_say_why_and_store_nothing(
    client: TestClient, overrides: dict[str, Any], status: int, fragment: str
) -> None:
    response = _add(client, **overrides)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]
    assert client.get("/api/v1/machines").json() == []


def test_unreachable_bmc_is_a_gateway_timeout(client: TestClient, world: FakeWorld) -> None:
    world.add_bmc("fake://dead", systems=1).reachable = False
    response = _add(client, bmc_url="fake://dead")
    assert response.status_code == 504
    assert response.json()["title"] == "BMC unreachable"


def test_rename_and_remove(client: TestClient) -> None:
    _add(client)
    renamed = client.patch("/api/v1/machines/rack1-1", json={"name": "db1"})
    assert renamed.json()["name"] == "db1"
    clash = client.patch("/api/v1/machines/rack1-2", json={"name": "db1"})
    assert clash.status_code == 409
    assert client.delete("/api/v1/machines/db1").status_code == 204
    assert client.get("/api/v1/machines/db1").status_code == 404
    assert client.delete("/api/v1/machines/db1").status_code == 404


def test_refresh_reads_health_again(client: TestClient, world: FakeWorld) -> None:
    from kanri.domain.states import Health

    _add(client)
    world.set_health("fake://rack1?systems=3", "1", Health.CRITICAL)
    assert client.get("/api/v1/machines/rack1-1").json()["health"] == "ok"
    assert client.post("/api/v1/machines/rack1-1/refresh").json()["health"] == "critical"


def test_a_bmc_that_fails_halfway_leaves_nothing_half_written(
    client: TestClient, world: FakeWorld
) -> None:
    world.add_bmc("fake://flaky", systems=2, fail_after=0)
    response = _add(client, bmc_url="fake://flaky", name="flaky")
    assert response.status_code == 502
    assert client.get("/api/v1/machines").json() == []


def test_openapi_describes_every_route_without_a_token(client: TestClient) -> None:
    spec = TestClient(client.app).get("/openapi.json").json()
    assert {
        "/api/v1/machines",
        "/api/v1/machines/{name}",
        "/api/v1/machines/{name}/refresh",
        "/api/v1/machines/{name}/power",
        "/api/v1/machines/{name}/power/boot",
        "/api/v1/events",
        "/api/v1/status",
    } <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_one_bmc_under_two_spellings_is_one_bmc(client: TestClient) -> None:
    first = _add(client, name="b1", bmc_url="fake://Rack1?systems=3", system_id="1")
    assert first.status_code == 201
    again = _add(client, name="b1-again", bmc_url="FAKE://rack1/?systems=3", system_id="1")
    assert again.status_code == 409
    assert "registered already as b1" in again.json()["detail"]


def test_a_second_set_of_credentials_for_one_bmc_is_refused(client: TestClient) -> None:
    assert _add(client, name="b1", system_id="1").status_code == 201
    other = _add(client, name="b2", system_id="2", password="another-pw")
    assert other.status_code == 409
    assert "other credentials" in other.json()["detail"]
    same = _add(client, name="b2", system_id="2")
    assert same.status_code == 201


def test_one_machine_is_never_registered_twice_under_another_url(
    client: TestClient, world: FakeWorld
) -> None:
    from dataclasses import replace

    assert _add(client, name="b1", bmc_url="fake://one").status_code == 201
    twin = world.add_bmc("fake://other-nic", systems=1)
    original = world.bmcs["fake://one"].systems["1"].inventory
    twin.systems["1"].inventory = replace(twin.systems["1"].inventory, uuid=original.uuid)
    again = _add(client, name="b1-again", bmc_url="fake://other-nic")
    assert again.status_code == 409
    assert f"UUID {original.uuid} is registered already as b1" in again.json()["detail"]


def test_a_bad_name_says_what_a_name_may_be(client: TestClient) -> None:
    response = _add(client, name="Web_1")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("invalid name 'Web_1': use 1-63 lower-case")
    _add(client)
    rename = client.patch("/api/v1/machines/rack1-1", json={"name": "x" * 64})
    assert rename.status_code == 422
    assert "invalid name" in rename.json()["detail"]


def test_big_bodies_are_refused_before_anything_reads_them(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    huge = b'{"name": "' + b"x" * 200_000 + b'"}'
    declared = anonymous.post(
        "/api/v1/machines", content=huge, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * 10_000

    streamed = client.post("/api/v1/machines", content=chunks())
    assert streamed.status_code == 413
    assert client.get("/api/v1/machines").json() == []


def test_an_unexpected_error_shows_no_internals(
    client: TestClient, manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("[SQL: INSERT INTO secrets VALUES ('hunter2')]")

    monkeypatch.setattr(manager.repo, "list_machines", broken)
    response = TestClient(client.app, raise_server_exceptions=False).get(
        "/api/v1/machines", headers=dict(client.headers)
    )
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "hunter2" not in detail
    assert "SQL" not in detail
    assert "incident" in detail
