"""Machines and jobs through the API: a machine a live job holds is neither removed nor
renamed (409, naming the job); a step that waits in vain says it timed out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.domain.jobs import TIMEOUT
from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction
from kanri.drivers.fake import FakePower, FakeWorld
from kanri.engine.jobs import JobOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.settings import Settings
from tests.waiting import wait_for

URL = "fake://rack?systems=2"


@pytest.fixture
def manager(tmp_path: Path) -> Manager:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'kanri.db'}")
    jobs = JobOptions(settle_poll=0.02, heartbeat=0.05)
    m = Manager(settings, ManagerOptions(workers=4, run_sync=False, jobs=jobs))
    m.machines.add("rack", Bmc(URL, "admin", "pw"), driver="fake")  # rack-1, rack-2
    return m


def _ended(client: TestClient, job_id: int) -> dict[str, Any]:
    path = f"/api/v1/jobs/{job_id}"
    wait_for(lambda: client.get(path).json()["state"] in ("succeeded", "failed", "cancelled"))
    answer: dict[str, Any] = client.get(path).json()
    return answer


def test_remove_and_rename_are_refused_while_a_job_holds_the_machine(
    client: TestClient, manager: Manager
) -> None:
    manager.jobs.repo.acquire(["rack-1"], 77, "elsewhere", lease=60)
    for refused in (
        client.delete("/api/v1/machines/rack-1"),
        client.patch("/api/v1/machines/rack-1", json={"name": "db1"}),
    ):
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"
        assert "rack-1 is busy (held by job 77)" in refused.json()["detail"]
    assert client.get("/api/v1/machines/rack-1").status_code == 200
    manager.jobs.repo.release(77)
    assert client.delete("/api/v1/machines/rack-1").status_code == 204


def test_a_step_that_waits_in_vain_fails_as_a_timeout(
    client: TestClient, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def accepted_never_applied(self: FakePower, bmc: Bmc, system: str, a: PowerAction) -> None:
        world.bmcs[bmc.url].systems[system].commands.append(a.value)

    monkeypatch.setattr(FakePower, "set_power", accepted_never_applied)
    body = {"kind": "power", "targets": ["rack-1"],
            "params": {"action": "on", "wait": True, "timeout": 0.05}}  # fmt: skip
    job = _ended(client, client.post("/api/v1/jobs", json=body).json()["id"])
    assert job["state"] == "failed"
    [step] = job["steps"]
    assert step["state"] == "failed"
    assert step["result"] == {"failure": TIMEOUT}
    assert step["error"] == "rack-1 is off after 0.05s (want on)"
    assert world.bmcs[URL].systems["1"].commands == ["on"]


def test_other_failures_are_not_timeouts(client: TestClient, world: FakeWorld) -> None:
    world.bmcs[URL].reachable = False
    body = {"kind": "power", "targets": ["rack-2"], "params": {"action": "on", "wait": True}}
    job = _ended(client, client.post("/api/v1/jobs", json=body).json()["id"])
    [step] = job["steps"]
    assert (job["state"], step["state"], step["result"]) == ("failed", "failed", None)
