"""/api/v1/servers on the fake drivers: add, list, show, place, unplace, power, remove."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kanri.domain.model import Bmc
from kanri.domain.partitions import PartitionSpec, PortUse
from kanri.domain.states import PowerState
from kanri.drivers.fake import FakeWorld
from kanri.drivers.fake.partitions_world import partitions_world_of
from kanri.engine.manager import Manager
from tests.waiting import wait_for

BMC = Bmc("fake://rack?systems=2", "admin", "pw")
WWPN = "20:00:00:6b:00:aa:00:01"


def setup(manager: Manager, world: FakeWorld) -> None:
    bmc = world.add_bmc(BMC.url, systems=2)
    partitions_world_of(manager.drivers.context).add_host(BMC.url, "1")
    bmc.systems["1"].power = PowerState.ON
    spec = PartitionSpec("app-1", cores=2, memory_gib=8, ports=(PortUse("fc0", True),))
    manager.drivers.partitions("fake").create(BMC, "1", spec)
    manager.machines.add("rack", BMC, driver="fake")
    manager.jobs.start()


def test_servers_api(client: TestClient, manager: Manager, world: FakeWorld) -> None:
    setup(manager, world)
    body = {"name": "web-1", "boot_volume": "SAN/vol-web-1", "cores": 2, "wwpns": {"fc0": WWPN}}
    made = client.post("/api/v1/servers", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["ports"] == [{"port": "fc0", "kind": "fc", "identity": WWPN}]
    assert made.json()["placed_on"] is None
    again = client.post("/api/v1/servers", json=body)
    assert again.status_code == 409
    assert "exists already" in again.text
    bad = client.post("/api/v1/servers", json={"name": "x", "wwpns": {"fc0": "nope"}})
    assert bad.status_code == 422, bad.text
    assert "not a WWPN" in bad.text

    power_unplaced = client.post("/api/v1/servers/web-1/power", json={"action": "on"})
    assert power_unplaced.status_code == 409
    assert "placed nowhere" in power_unplaced.text

    placed = client.post("/api/v1/servers/web-1/place", json={"target": "rack-app-1"})
    assert placed.status_code == 200, placed.text
    shown = client.get("/api/v1/servers/web-1").json()
    assert (shown["placed_on"], shown["placed_kind"], shown["host"]) == (
        "rack-app-1", "partition", "rack-1"
    )  # fmt: skip
    assert [s["name"] for s in client.get("/api/v1/servers").json()] == ["web-1"]

    # `kanri power status` takes a server's name too
    status = client.get("/api/v1/machines/web-1/power")
    assert status.status_code == 200, status.text
    assert status.json()["machine"] == "rack-app-1"

    job = client.post("/api/v1/servers/web-1/power", json={"action": "on", "wait": True})
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    wait_for(lambda: client.get(f"/api/v1/jobs/{job_id}").json()["state"] == "succeeded", 10)
    assert client.get("/api/v1/servers/web-1").json()["desired_power"] == "on"

    refused = client.delete("/api/v1/servers/web-1")
    assert refused.status_code == 409
    assert "rack-app-1 is on" in refused.text
    off = client.post("/api/v1/servers/web-1/power", json={"action": "force_off", "wait": True})
    job_id = off.json()["id"]
    wait_for(lambda: client.get(f"/api/v1/jobs/{job_id}").json()["state"] == "succeeded", 10)
    unplaced = client.post("/api/v1/servers/web-1/unplace")
    assert unplaced.status_code == 200, unplaced.text
    assert unplaced.json()["placed_on"] is None
    assert client.delete("/api/v1/servers/web-1").status_code == 204
    assert client.get("/api/v1/servers/web-1").status_code == 404
