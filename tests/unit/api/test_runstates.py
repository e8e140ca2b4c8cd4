"""/api/v1/machines/{host}/run-states and /api/v1/snapshots on the fake drivers: a host
(encl-1) with partitions encl-2 and encl-3, all running."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from kanri.domain.runstate import Cause
from kanri.domain.states import PowerState, SystemKind
from kanri.drivers.fake import FakeWorld
from kanri.engine.manager import Manager
from tests.waiting import wait_for

URL = "fake://encl?systems=3"


@pytest.fixture
def encl(client: TestClient, world: FakeWorld) -> TestClient:
    bmc = world.add_bmc(URL, systems=3)
    for sid in ("2", "3"):
        system = bmc.systems[sid]
        system.inventory = replace(system.inventory, kind=SystemKind.PARTITION, host_system_id="1")
    for system in bmc.systems.values():
        system.power = PowerState.ON
    body = {"name": "encl", "bmc_url": URL, "username": "admin", "password": "pw", "driver": "fake"}
    assert client.post("/api/v1/machines", json=body).status_code == 201
    return client


def test_run_states_snapshots_and_a_restore(encl: TestClient, manager: Manager) -> None:
    manager.runstates.record("encl-3", Cause.OPERATOR_STOP, "alice")
    states = encl.get("/api/v1/machines/encl-1/run-states").json()
    assert [(s["partition"], s["state"], s["by"]) for s in states] == [
        ("encl-2", "running", None),
        ("encl-3", "stopped_by_operator", "alice"),
    ]
    snap_id = manager.runstates.freeze("encl-1", Cause.HOST_FAILED)
    listed = encl.get("/api/v1/snapshots", params={"host": "encl-1"}).json()
    assert [(s["id"], s["cause"], s["to_start"]) for s in listed] == [
        (snap_id, "host_failed", ["encl-2"])
    ]
    assert encl.get("/api/v1/snapshots", params={"host": "encl-2"}).json() == []
    shown = encl.get(f"/api/v1/snapshots/{snap_id}").json()
    assert {s["partition"]: s["state"] for s in shown["states"]} == {
        "encl-2": "running",
        "encl-3": "stopped_by_operator",
    }
    restored = encl.post(f"/api/v1/snapshots/{snap_id}/restore", json={})
    assert restored.status_code == 202, restored.text
    job = restored.json()["job"]
    wait_for(lambda: manager.jobs.get(job).state.ended, 10)
    assert manager.jobs.get(job).targets == ("encl-2",)
    again = encl.post(f"/api/v1/snapshots/{snap_id}/restore", json={})
    assert again.status_code == 409
    assert "restored already" in again.json()["detail"]


def test_what_is_not_there(encl: TestClient) -> None:
    assert encl.get("/api/v1/snapshots/99").status_code == 404
    assert encl.get("/api/v1/machines/nope/run-states").status_code == 404
    assert encl.get("/api/v1/machines/encl-2/run-states").status_code == 409
    assert encl.post("/api/v1/snapshots/99/restore", json={"x": 1}).status_code == 422
