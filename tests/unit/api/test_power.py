from __future__ import annotations

from fastapi.testclient import TestClient

from kanri.drivers.fake import FakeWorld

URL = "fake://box"


def _machine(client: TestClient) -> None:
    body = {"name": "box", "bmc_url": URL, "username": "admin", "password": "pw", "driver": "fake"}
    assert client.post("/api/v1/machines", json=body).status_code == 201


def test_power_on_then_off_reaches_the_bmc(client: TestClient, world: FakeWorld) -> None:
    _machine(client)
    on = client.post("/api/v1/machines/box/power", json={"action": "on"})
    assert on.status_code == 202
    assert on.json() == {
        "machine": "box",
        "action": "on",
        "previous": "off",
        "sent": True,
        "target": "on",
    }
    assert client.get("/api/v1/machines/box/power").json()["power"] == "on"
    client.post("/api/v1/machines/box/power", json={"action": "force_off"})
    system = world.bmcs[URL].systems["1"]
    assert system.commands == ["on", "force_off"]
    reading = client.get("/api/v1/machines/box/power").json()
    assert reading == {"machine": "box", "power": "off", "desired": "off", "reachable": True}


def test_on_when_already_on_sends_nothing(client: TestClient, world: FakeWorld) -> None:
    _machine(client)
    client.post("/api/v1/machines/box/power", json={"action": "on"})
    again = client.post("/api/v1/machines/box/power", json={"action": "on"}).json()
    assert again["sent"] is False
    assert world.bmcs[URL].systems["1"].commands == ["on"]


def test_restart_of_an_off_machine_is_refused(client: TestClient, world: FakeWorld) -> None:
    _machine(client)
    response = client.post("/api/v1/machines/box/power", json={"action": "restart"})
    assert response.status_code == 409
    assert "use 'on'" in response.json()["detail"]
    assert world.bmcs[URL].systems["1"].commands == []


def test_unknown_action_and_machine(client: TestClient) -> None:
    _machine(client)
    bad = client.post("/api/v1/machines/box/power", json={"action": "explode"})
    assert bad.status_code == 422
    assert "action" in bad.json()["detail"]
    assert client.get("/api/v1/machines/nope/power").status_code == 404


def test_commands_are_events(client: TestClient) -> None:
    _machine(client)
    client.post("/api/v1/machines/box/power", json={"action": "on"})
    events = client.get("/api/v1/events", params={"target": "box"}).json()
    assert events[0]["kind"] == "power.command"
    assert events[0]["details"]["by"].startswith("admin@")


def test_cached_reading_does_not_ask_the_bmc(client: TestClient, world: FakeWorld) -> None:
    _machine(client)
    world.bmcs[URL].reachable = False
    assert client.get("/api/v1/machines/box/power").status_code == 504
    cached = client.get("/api/v1/machines/box/power", params={"cached": "true"})
    assert cached.status_code == 200
    assert cached.json()["power"] == "off"


def test_boot_override_reaches_the_bmc(client: TestClient, world: FakeWorld) -> None:
    from kanri.domain.states import BootTarget

    _machine(client)
    response = client.put("/api/v1/machines/box/power/boot", json={"target": "pxe"})
    assert response.status_code == 204
    system = world.bmcs[URL].systems["1"]
    assert (system.boot_override, system.boot_once) == (BootTarget.PXE, True)
    client.put("/api/v1/machines/box/power/boot", json={"target": "hdd", "once": False})
    assert (system.boot_override, system.boot_once) == (BootTarget.HDD, False)
    bad = client.put("/api/v1/machines/box/power/boot", json={"target": "floppy"})
    assert bad.status_code == 422
    assert system.boot_override is BootTarget.HDD
    kinds = [e["kind"] for e in client.get("/api/v1/events").json()]
    assert kinds.count("boot.override") == 2
