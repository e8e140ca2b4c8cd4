"""/api/v1/partitions, /machines/{name}/pool and /mode on the fake drivers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kanri.domain.partitions import MachineMode
from kanri.domain.states import PowerState
from kanri.drivers.fake import world_of
from kanri.drivers.fake.partitions_world import partitions_world_of
from kanri.engine.manager import Manager
from tests.waiting import wait_for

URL = "fake://rack?systems=2"
APP = {
    "host": "rack-1",
    "name": "app-1",
    "cores": 2,
    "memory_gib": 8,
    "ports": [{"port": "fc0", "shared": True}, {"port": "nic0"}],
}


@pytest.fixture
def rack(client: TestClient, manager: Manager) -> TestClient:
    body = {"name": "rack", "bmc_url": URL, "username": "admin", "password": "pw", "driver": "fake"}
    assert client.post("/api/v1/machines", json=body).status_code == 201
    parts = partitions_world_of(manager.drivers.context)
    parts.add_host(URL, "1", cores=8, memory_gib=32)
    parts.add_host(URL, "2", cores=8, memory_gib=32, mode=MachineMode.BARE)
    world_of(manager.drivers.context).bmcs[URL].systems["1"].power = PowerState.ON
    return client


def test_create_list_show_modify_delete(rack: TestClient) -> None:
    made = rack.post("/api/v1/partitions", json=APP)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["name"], body["host"], body["cores"], body["cpu_mode"]) == (
        "app-1",
        "rack-1",
        2,
        "dedicated",
    )
    assert [p["port"] for p in body["ports"]] == ["fc0", "nic0"]
    assert body["run_state"] == "off"
    assert [p["name"] for p in rack.get("/api/v1/partitions?host=rack-1").json()] == ["app-1"]
    assert rack.get("/api/v1/partitions?host=rack-2").json() == []
    assert rack.get("/api/v1/machines/app-1").json()["kind"] == "partition"

    changed = rack.patch("/api/v1/partitions/app-1", json={"memory_gib": 16})
    assert changed.status_code == 200, changed.text
    assert changed.json()["applied"] == ["memory 8 -> 16 GiB"]
    assert changed.json()["partition"]["memory_gib"] == 16

    assert rack.post("/api/v1/machines/app-1/power", json={"action": "on"}).status_code == 202
    live = rack.patch("/api/v1/partitions/app-1", json={"cores": 3, "memory_gib": 24})
    assert live.status_code == 200, live.text
    assert (
        live.json()["summary"] == "applied now: cores 2 -> 3; needs a restart: memory 16 -> 24 GiB"
    )
    strict = rack.patch("/api/v1/partitions/app-1", json={"memory_gib": 8, "strict": True})
    assert strict.status_code == 409
    assert "need it off" in strict.json()["detail"]

    refused = rack.delete("/api/v1/partitions/app-1")
    assert refused.status_code == 409
    assert "power it off first" in refused.json()["detail"]
    rack.post("/api/v1/machines/app-1/power", json={"action": "force_off"})
    assert rack.delete("/api/v1/partitions/app-1").status_code == 204
    assert rack.get("/api/v1/partitions/app-1").status_code == 404


def test_refusals_name_the_resource(rack: TestClient) -> None:
    too_big = rack.post("/api/v1/partitions", json=APP | {"cores": 9, "memory_gib": 40})
    assert too_big.status_code == 409
    detail = too_big.json()["detail"]
    assert "cores: 9 dedicated asked, 8 free" in detail
    assert "memory: 40 GiB asked, 32 GiB free" in detail
    twice = rack.post("/api/v1/partitions", json=APP | {"ports": [{"port": "fc0"}] * 2})
    assert twice.status_code == 422
    assert "port fc0: given 2 times" in twice.json()["detail"]
    bare = rack.post("/api/v1/partitions", json=APP | {"host": "rack-2"})
    assert bare.status_code == 409
    assert "rack-2 is in bare mode" in bare.json()["detail"]
    unknown = rack.post("/api/v1/partitions", json=APP | {"colour": "red"})
    assert unknown.status_code == 422
    assert rack.get("/api/v1/partitions").json() == []


def test_pool_names_the_holders(rack: TestClient) -> None:
    rack.post("/api/v1/partitions", json=APP)
    pool = rack.get("/api/v1/machines/rack-1/pool").json()
    assert (pool["mode"], pool["cores"], pool["cores_free"]) == ("hypervisor", 8, 6)
    assert (pool["memory_gib"], pool["memory_free_gib"]) == (32, 24)
    held = [c["dedicated_to"] for c in pool["core_use"] if c["dedicated_to"]]
    assert held == ["app-1", "app-1"]
    ports = {p["id"]: p for p in pool["ports"]}
    assert ports["fc0"]["shared_by"] == ["app-1"]
    assert ports["nic0"]["dedicated_to"] == "app-1"
    assert rack.get("/api/v1/machines/nope/pool").status_code == 404


def test_mode_is_a_job_and_shows_on_the_machine(rack: TestClient, manager: Manager) -> None:
    answer = rack.post("/api/v1/machines/rack-2/mode", json={"mode": "hypervisor"})
    assert answer.status_code == 201, answer.text
    job_id = answer.json()["id"]
    assert [s["action"] for s in answer.json()["steps"]] == [
        "mode.set",
        "mode.reboot",
        "mode.verify",
    ]
    wait_for(lambda: rack.get(f"/api/v1/jobs/{job_id}").json()["state"] == "succeeded", 20)
    machine = rack.get("/api/v1/machines/rack-2").json()
    assert (machine["mode"], machine["pending_mode"]) == ("hypervisor", None)
    rack.post("/api/v1/partitions", json=APP)
    to_bare = rack.post("/api/v1/machines/rack-1/mode", json={"mode": "bare"})
    assert to_bare.status_code == 409
    assert "rack-1 has partitions app-1" in to_bare.json()["detail"]
    assert rack.post("/api/v1/machines/rack-1/mode", json={"mode": "metal"}).status_code == 422
