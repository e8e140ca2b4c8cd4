"""/api/v1/groups, /api/v1/schedules and /api/v1/calendars: bad input is one problem, and
nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.domain.model import Bmc
from kanri.engine.manager import Manager


@pytest.fixture
def machines(manager: Manager) -> None:
    for name in ("web1", "web2"):
        manager.machines.add(name, Bmc(f"fake://{name}", "admin", "pw"), driver="fake")


def _problem(response: Any, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]


def test_groups(client: TestClient, machines: None) -> None:
    r = client.post("/api/v1/groups", json={"name": "web", "members": ["web2", "web1"]})
    assert r.status_code == 201
    assert r.json() == {"name": "web", "members": ["web1", "web2"]}
    _problem(client.post("/api/v1/groups", json={"name": "x", "members": ["nope"]}), 404, "nope")
    _problem(client.post("/api/v1/groups", json={"name": "web", "members": []}), 409, "exists")
    _problem(client.post("/api/v1/groups", json={"name": "Bad Name"}), 422, "invalid name")
    r = client.patch("/api/v1/groups/web/members", json={"remove": ["web2"]})
    assert r.json()["members"] == ["web1"]
    assert [g["name"] for g in client.get("/api/v1/groups").json()] == ["web"]
    assert client.delete("/api/v1/groups/web").status_code == 204
    _problem(client.get("/api/v1/groups/web"), 404, "no group named 'web'")


SCHEDULE = {"name": "morning", "action": "on", "target": "web1", "zone": "Europe/Paris"}


def test_schedule_add_next_runs_and_remove(client: TestClient, machines: None) -> None:
    r = client.post("/api/v1/calendars", json={"name": "hols", "dates": ["2099-12-25"]})
    assert r.status_code == 201
    body = {**SCHEDULE, "weekdays": ["mon-fri"], "time": "07:30", "calendar": "hols"}
    r = client.post("/api/v1/schedules", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["rule"] == "weekly mon,tue,wed,thu,fri 07:30"
    assert r.json()["target_kind"] == "machine"
    runs = client.get("/api/v1/schedules/morning/next", params={"count": 3}).json()
    assert len(runs) == 3
    assert all(run["local"].endswith(("+01:00", "+02:00")) for run in runs)
    assert all("T07:30:00" in run["local"] for run in runs)
    assert client.get("/api/v1/schedules/morning/runs").json() == []
    _problem(client.delete("/api/v1/calendars/hols"), 409, "used by schedule(s) morning")
    assert client.delete("/api/v1/schedules/morning").status_code == 204
    assert client.delete("/api/v1/calendars/hols").status_code == 204


@pytest.mark.parametrize(
    ("extra", "status", "says"),
    [
        ({"cron": "61 * * * *"}, 422, "minute 61"),
        ({"cron": "0 7 * *"}, 422, "has 4 fields"),
        ({"cron": "0 7 * * *", "zone": "Mars/Base"}, 422, "unknown time zone"),
        ({"cron": "0 7 * * *", "target": "ghost"}, 404, "no machine or group named ghost"),
        ({"cron": "0 7 * * *", "calendar": "nope"}, 404, "no calendar named 'nope'"),
        ({"at": "2000-01-01T00:00"}, 422, "in the past"),
        ({}, 422, "say when"),
        ({"cron": "0 7 * * *", "action": "explode"}, 422, "action"),
    ],
)
def test_bad_schedules_are_one_problem_and_store_nothing(
    client: TestClient, machines: None, extra: dict[str, Any], status: int, says: str
) -> None:
    _problem(client.post("/api/v1/schedules", json={**SCHEDULE, **extra}), status, says)
    assert client.get("/api/v1/schedules").json() == []


def test_a_conflict_names_the_other_schedule(client: TestClient, machines: None) -> None:
    assert (
        client.post("/api/v1/schedules", json={**SCHEDULE, "cron": "0 7 * * *"}).status_code == 201
    )
    other = {**SCHEDULE, "name": "evening", "action": "off", "cron": "0 6 * * *", "zone": "UTC"}
    _problem(client.post("/api/v1/schedules", json=other), 409, "schedule morning does on")
    assert [s["name"] for s in client.get("/api/v1/schedules").json()] == ["morning"]


def test_bad_calendar_dates(client: TestClient) -> None:
    _problem(
        client.post("/api/v1/calendars", json={"name": "c", "dates": ["2026-13-01"]}),
        422,
        "'2026-13-01' is not a date",
    )
    assert client.get("/api/v1/calendars").json() == []
