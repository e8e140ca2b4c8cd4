"""/api/v1/jobs over the fake driver."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.drivers.fake import FakeWorld
from kanri.engine.manager import Manager
from tests.waiting import wait_for

URL = "fake://rack?systems=2"


def _machines(client: TestClient) -> None:
    body = {"name": "rack", "bmc_url": URL, "username": "admin", "password": "pw", "driver": "fake"}
    assert client.post("/api/v1/machines", json=body).status_code == 201


def _ended(client: TestClient, job_id: int) -> dict[str, Any]:
    wait_for(lambda: client.get(f"/api/v1/jobs/{job_id}").json()["state"] not in (
        "pending", "running", "cancelling"))  # fmt: skip
    answer: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
    return answer


def test_submit_show_and_list(client: TestClient, world: FakeWorld) -> None:
    _machines(client)
    made = client.post(
        "/api/v1/jobs",
        json={"kind": "power", "targets": ["rack-1", "rack-2"], "params": {"action": "on"}},
    )
    assert made.status_code == 201, made.text
    job = made.json()
    assert job["kind"] == "power"
    assert job["steps_total"] == 2
    assert [s["name"] for s in job["steps"]] == ["on rack-1", "on rack-2"]
    shown = _ended(client, job["id"])
    assert shown["state"] == "succeeded"
    assert shown["progress"] == 1.0
    assert shown["steps_done"] == 2
    assert [s["state"] for s in shown["steps"]] == ["done", "done"]
    assert [s.commands for s in world.bmcs[URL].systems.values()] == [["on"], ["on"]]
    listed = client.get("/api/v1/jobs", params={"state": "succeeded", "kind": "power"}).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert listed[0]["steps"] is None
    assert client.get("/api/v1/jobs", params={"kind": "other"}).json() == []
    again = client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "has ended" in again.json()["detail"]


def test_a_job_holding_a_machine_refuses_an_operators_command(
    client: TestClient, manager: Manager
) -> None:
    _machines(client)
    manager.jobs.repo.acquire(["rack-1"], 77, "elsewhere", lease=60)
    refused = client.post("/api/v1/machines/rack-1/power", json={"action": "on"})
    assert refused.status_code == 409
    assert "held by job 77" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"kind": "nope", "targets": ["rack-1"]}, 422, "no job kind 'nope'"),
        ({"kind": "power", "targets": ["ghost"], "params": {"action": "on"}}, 404, "ghost"),
        ({"kind": "power", "targets": ["rack-1"], "params": {"action": "x"}}, 422, "not one of"),
        ({"kind": "power", "targets": [], "params": {"action": "on"}}, 422, None),
        ({"kind": "power", "targets": ["rack-1"], "extra": 1}, 422, None),
    ],
)
def test_bad_input_is_one_problem_and_stores_nothing(
    client: TestClient, body: dict[str, Any], status: int, detail: str | None
) -> None:
    _machines(client)
    answer = client.post("/api/v1/jobs", json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if detail:
        assert detail in answer.json()["detail"]
    assert client.get("/api/v1/jobs").json() == []


def test_unknown_job_and_bad_filters(client: TestClient) -> None:
    assert client.get("/api/v1/jobs/12345").status_code == 404
    assert client.post("/api/v1/jobs/12345/cancel").status_code == 404
    assert client.get("/api/v1/jobs", params={"state": "sleeping"}).status_code == 422
    assert client.get("/api/v1/jobs", params={"limit": 0}).status_code == 422
