"""PATCH /api/v1/schedules/{name}: only the given fields change; bad input is one problem
and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.domain.model import Bmc
from kanri.engine.manager import Manager

PATH = "/api/v1/schedules/wake"


@pytest.fixture
def wake(manager: Manager, client: TestClient) -> dict[str, Any]:
    for name in ("web1", "web2"):
        manager.machines.add(name, Bmc(f"fake://{name}", "admin", "pw"), driver="fake")
    assert client.post("/api/v1/calendars", json={"name": "hols", "dates": ["2099-12-25"]})
    body = {"name": "wake", "action": "on", "target": "web1", "zone": "Europe/Paris",
            "weekdays": ["mon-fri"], "time": "07:30", "calendar": "hols"}  # fmt: skip
    r = client.post("/api/v1/schedules", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _problem(response: Any, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]


def test_patch_changes_only_the_given_fields(client: TestClient, wake: dict[str, Any]) -> None:
    r = client.patch(PATH, json={"time": "08:00", "target": "web2"})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["rule"] == "weekly mon,tue,wed,thu,fri 08:00"
    assert changed["runs_from"] > wake["runs_from"]
    same = ("action", "zone", "calendar", "calendar_mode", "missed", "enabled", "created_at")
    assert {k: changed[k] for k in same} == {k: wake[k] for k in same}
    r = client.patch(PATH, json={"calendar": None})
    assert (r.json()["calendar"], r.json()["rule"]) == (None, changed["rule"])


def test_disable_and_enable(client: TestClient, wake: dict[str, Any]) -> None:
    r = client.patch(PATH, json={"enabled": False})
    assert r.json()["enabled"] is False
    assert client.get(f"{PATH}/next").json() == []
    assert client.get("/api/v1/schedules").json()[0]["enabled"] is False
    r = client.patch(PATH, json={"enabled": True})
    assert r.json()["enabled"] is True
    assert len(client.get(f"{PATH}/next", params={"count": 2}).json()) == 2


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"cron": "0 7 * *"}, 422, "has 4 fields"),
        ({"zone": "Europe/Nowhere"}, 422, "unknown time zone"),
        ({"target": "ghost"}, 404, "no machine or group named ghost"),
        ({"calendar": "nope"}, 404, "no calendar named 'nope'"),
        ({"at": "2001-01-01T00:00"}, 422, "in the past"),
        ({}, 422, "nothing to change"),
        ({"name": "other"}, 422, "name"),
        ({"weekdays": []}, 422, "weekdays"),
        ({"action": "off", "cron": "30 6 * * 1"}, 409, "schedule wake does on on web1"),
    ],
)
def test_bad_changes_are_one_problem_and_change_nothing(
    client: TestClient, wake: dict[str, Any], body: dict[str, Any], status: int, says: str
) -> None:
    if status == 409:  # another schedule that the change would clash with (07:30 Paris)
        other = {"name": "other", "action": "on", "target": "web1", "cron": "0 9 * * *"}
        assert client.post("/api/v1/schedules", json=other).status_code == 201
        r = client.patch("/api/v1/schedules/other", json=body)
        assert client.get("/api/v1/schedules/other").json()["action"] == "on"
    else:
        r = client.patch(PATH, json=body)
    _problem(r, status, says)
    assert client.get(PATH).json() == wake


def test_unknown_schedule(client: TestClient) -> None:
    _problem(client.patch("/api/v1/schedules/nope", json={"enabled": False}), 404, "nope")
