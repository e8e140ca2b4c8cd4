"""The whole reaction in one manager, through the API: a rule fires on a manager event, its
command runs with the event on stdin, and the event's deliveries show the attempt."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.waiting import wait_for


def test_an_event_runs_a_rule_s_command_and_shows_the_delivery(
    client: TestClient, tmp_path: Path
) -> None:
    seen = tmp_path / "seen.json"
    script = f"import sys; open({str(seen)!r}, 'w').write(sys.stdin.read())"
    rule = {
        "name": "note",
        "match": {"kind": ["calendar.*"]},
        "actions": [{"command": {"argv": [sys.executable, "-c", script], "timeout": 30}}],
    }
    assert client.post("/api/v1/rules", json=rule).status_code == 201
    made = client.post("/api/v1/calendars", json={"name": "jp", "dates": ["2026-12-31"]})
    assert made.status_code == 201, made.text
    [event] = [e for e in client.get("/api/v1/events").json() if e["kind"] == "calendar.added"]

    def deliveries() -> list[dict[str, Any]]:
        answer = client.get(f"/api/v1/events/{event['id']}/deliveries")
        assert answer.status_code == 200, answer.text
        result: list[dict[str, Any]] = answer.json()
        return result

    wait_for(lambda: [d["state"] for d in deliveries()] == ["succeeded"], timeout=15)
    [shown] = deliveries()
    assert (shown["rule"], shown["kind"], shown["trigger"], shown["attempts"]) == (
        "note",
        "command",
        "new",
        1,
    )
    assert shown["log"][0]["outcome"] == "succeeded"
    assert json.loads(seen.read_text())["id"] == event["id"]
    one = client.get(f"/api/v1/deliveries/{shown['id']}")
    assert one.json() == shown


def test_deliveries_of_an_unknown_event_are_404(client: TestClient) -> None:
    answer = client.get("/api/v1/events/4242/deliveries")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "no event 4242"
    assert client.get("/api/v1/deliveries/4242").status_code == 404
