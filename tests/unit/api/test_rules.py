"""/api/v1/rules and /api/v1/maintenance: bad input is one problem, and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.domain.faults import Observation, Severity, Source
from kanri.domain.model import Bmc
from kanri.engine.manager import Manager

RULES_YAML = """
rules:
  - name: dimm
    match: {severity: warning, kind: hw.*, component: "DIMM*", group: web}
    actions:
      - email: {to: [ops@example.com]}
      - reboot
    quiet: 10m
"""


@pytest.fixture
def machines(manager: Manager) -> None:
    for name in ("web1", "web2"):
        manager.machines.add(name, Bmc(f"fake://{name}", "admin", "pw"), driver="fake")
    manager.groups.add("web", ["web1"])


def _problem(response: Any, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"], response.json()["detail"]


def test_rules_crud(client: TestClient, machines: None) -> None:
    body = {
        "name": "mail",
        "match": {"severity": "critical", "target": ["web2"]},
        "actions": [{"email": {"to": "ops@example.com"}}, "reboot"],
        "rate": "5/1h",
    }
    r = client.post("/api/v1/rules", json=body)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "name": "mail",
        "position": 0,
        "enabled": True,
        "origin": "api",
        "match": {"severity": "critical", "target": ["web2"]},
        "on": ["escalated", "new"],
        "actions": [
            {"kind": "email", "params": {"to": ["ops@example.com"]}},
            {"kind": "reboot", "params": {}},
        ],
        "rate": "5/3600",
        "quiet": 0,
    }
    _problem(client.post("/api/v1/rules", json=body), 409, "already exists")
    assert client.patch("/api/v1/rules/mail", json={"enabled": False}).json()["enabled"] is False
    assert [x["name"] for x in client.get("/api/v1/rules").json()] == ["mail"]
    assert client.get("/api/v1/rules/mail").json()["enabled"] is False
    assert client.delete("/api/v1/rules/mail").status_code == 204
    _problem(client.get("/api/v1/rules/mail"), 404, "no rule named 'mail'")
    _problem(client.delete("/api/v1/rules/mail"), 404, "no rule named 'mail'")


BAD_RULES: list[tuple[dict[str, Any], int, str]] = [
    ({"name": "r", "actions": ["pager"]}, 422, "rule r: 'actions' #1: unknown action kind"),
    ({"name": "r", "actions": []}, 422, "needs at least one action"),
    ({"name": "r", "actions": ["reboot"], "match": {"kind": "x.y"}}, 422, "no part of kanri"),
    ({"name": "r", "actions": ["reboot"], "match": {"target": "nope"}}, 404, "no machine"),
    ({"name": "r", "actions": ["reboot"], "match": {"group": "nope"}}, 404, "no group"),
    ({"name": "r", "actions": [{"webhook": {"url": "x"}}]}, 422, "webhook 'url' must be"),
    ({"name": "r", "actions": ["reboot"], "colour": 1}, 422, "colour"),
    ({"name": "r", "actions": ["reboot"], "quiet": "soon"}, 422, "'quiet' must be a duration"),
]


def test_bad_rules_are_one_problem(client: TestClient, machines: None) -> None:
    for body, status, says in BAD_RULES:
        _problem(client.post("/api/v1/rules", json=body), status, says)
    assert client.get("/api/v1/rules").json() == []


def test_load_and_test(client: TestClient, machines: None, manager: Manager) -> None:
    # Stored before there are rules, so that nothing fires for it: test only tells.
    observed = manager.events.observe(
        Observation("web1", "hw.component", Severity.CRITICAL, "DIMM3 failed", Source.POLL,
                    datetime.now(UTC), component="DIMM3")
    )  # fmt: skip
    assert observed is not None
    event, _ = observed
    r = client.post("/api/v1/rules/load", json={"yaml": RULES_YAML, "source": "/etc/r.yaml"})
    assert r.status_code == 200, r.text
    assert [x["name"] for x in r.json()["rules"]] == ["dimm"]
    bad = RULES_YAML + "  - {name: other, match: {target: ghost}, actions: [reboot]}\n"
    _problem(
        client.post("/api/v1/rules/load", json={"yaml": bad, "source": "/etc/r.yaml"}),
        404,
        "/etc/r.yaml: rule other: no machine named ghost: nothing stored",
    )
    _problem(
        client.post("/api/v1/rules/load", json={"yaml": "- [", "source": "/etc/r.yaml"}),
        422,
        "/etc/r.yaml: not YAML",
    )
    assert [x["name"] for x in client.get("/api/v1/rules").json()] == ["dimm"]

    r = client.post("/api/v1/rules/test", json={"event_id": event.id})
    assert r.status_code == 200, r.text
    [verdict] = r.json()
    assert (verdict["rule"], verdict["fires"], verdict["trigger"]) == ("dimm", True, "new")
    assert [a["kind"] for a in verdict["actions"]] == ["email", "reboot"]
    r = client.post("/api/v1/rules/test", json={"event_id": event.id, "change": "cleared"})
    assert r.json()[0]["reason"] == "fires on escalated, new, not cleared"
    _problem(client.post("/api/v1/rules/test", json={"event_id": 99999}), 404, "99999")


def test_maintenance(client: TestClient, machines: None) -> None:
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = client.post("/api/v1/maintenance", json={"target": "web", "reason": "rack", "until": until})
    assert r.status_code == 201, r.text
    assert r.json()["created_by"].startswith("admin")
    r = client.post("/api/v1/maintenance", json={"target": "web", "reason": "longer"})
    assert r.status_code == 200
    assert r.json()["until"] is None
    [entry] = client.get("/api/v1/maintenance").json()
    assert (entry["target"], entry["reason"]) == ("web", "longer")
    _problem(client.post("/api/v1/maintenance", json={"target": "ghost"}), 404, "ghost")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    _problem(
        client.post("/api/v1/maintenance", json={"target": "web1", "until": past}),
        422,
        "not in the future",
    )
    assert client.delete("/api/v1/maintenance/web").status_code == 204
    _problem(client.delete("/api/v1/maintenance/web"), 404, "web is not in maintenance")
    assert client.get("/api/v1/maintenance").json() == []
