"""/api/v1/events over the fake driver: list with filters, show, ack, and the live stream's
frames (replay after Last-Event-ID, live changes, the end when the manager stops)."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanri.api.event_stream import StreamFilter, frames, resume_from
from kanri.domain.errors import Invalid
from kanri.domain.faults import Observation, Severity, Source
from kanri.domain.health import SelEntry
from kanri.domain.states import Health
from kanri.engine.manager import Manager

NOW = datetime.now(UTC)


def fault(target: str = "b1", severity: Severity = Severity.CRITICAL, n: int = 0) -> Observation:
    return Observation(
        target=target,
        kind="hw.component",
        severity=severity,
        message=f"DIMM3 is {severity.value}",
        source=Source.PUSH,
        seen_at=NOW + timedelta(seconds=n),
        component="DIMM3",
        sel=(SelEntry(str(n), NOW, Health.CRITICAL, "Uncorrectable ECC", component="DIMM3"),),
    )


def test_list_show_and_ack(client: TestClient, manager: Manager) -> None:
    made = manager.events.observe(fault())
    assert made is not None
    manager.events.observe(fault(n=1))
    manager.events.observe(fault("b2", Severity.INFO))
    drift = manager.repo.add_event("power.drift", "warning", "b3", "b3 is on", {"desired": "off"})
    listed = client.get("/api/v1/events").json()
    assert [e["kind"] for e in listed] == ["power.drift", "hw.component", "hw.component"]
    assert "diagnostics" not in listed[0]
    assert listed[0]["details"] == {"desired": "off"}
    warning = client.get("/api/v1/events", params={"severity": "warning"}).json()
    assert [e["target"] for e in warning] == ["b3", "b1"]
    assert [e["id"] for e in client.get("/api/v1/events", params={"kind": "power"}).json()] == [
        drift
    ]
    assert (
        client.get("/api/v1/events", params={"target": "b2", "state": "open"}).json()[0]["severity"]
        == "info"
    )
    since = (NOW + timedelta(days=1)).isoformat()
    assert client.get("/api/v1/events", params={"since": since}).json() == []
    shown = client.get(f"/api/v1/events/{made[0].id}").json()
    assert (shown["count"], shown["state"], shown["component"]) == (2, "open", "DIMM3")
    assert [s["id"] for s in shown["diagnostics"]["sel"]] == ["0", "1"]
    assert "deliveries" in shown
    acked = client.post(f"/api/v1/events/{made[0].id}/ack")
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acked_by"].startswith("admin@")
    again = client.post(f"/api/v1/events/{made[0].id}/ack")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "already acknowledged" in again.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        ("/api/v1/events/77", {}, 404, "no event 77"),
        ("/api/v1/events", {"severity": "fatal"}, 422, "severity"),
        ("/api/v1/events", {"state": "gone"}, 422, "state"),
        ("/api/v1/events", {"since": "2026-01-01T00:00:00"}, 422, "needs a time zone"),
        ("/api/v1/events", {"limit": "0"}, 422, "limit"),
        ("/api/v1/events/stream", {"severity": "fatal"}, 422, "severity"),
    ],
)
def test_bad_input_is_one_problem(
    client: TestClient, path: str, params: dict[str, str], status: int, detail: str
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert detail in answer.json()["detail"]


def test_the_stream_wants_a_token_and_a_good_last_event_id(client: TestClient) -> None:
    refused = client.get("/api/v1/events/stream", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    bad = client.get("/api/v1/events/stream", headers={"Last-Event-ID": "x:new"})
    assert bad.status_code == 422
    assert "Last-Event-ID" in bad.json()["detail"]
    assert resume_from("12:grew") == 12
    assert resume_from("12") == 12
    assert resume_from("") is None
    with pytest.raises(Invalid):
        resume_from("-1")


def _collect(manager: Manager, wanted: StreamFilter, after: int | None, act: Any) -> list[str]:
    """Frames until the manager stops; ``act`` runs on another thread from the first
    replayed frame on (the replay's query has run by then)."""

    async def run() -> list[str]:
        got: list[str] = []
        started = False
        async for text in frames(manager.events, wanted, after):
            got.append(text)
            if not started and text.startswith("id: "):
                started = True
                threading.Thread(target=act).start()
        return got

    return asyncio.run(asyncio.wait_for(run(), 20))


def _data(frames_: list[str]) -> list[tuple[str, int, str]]:
    out = []
    for text in frames_:
        if text.startswith("id: "):
            head, data = text.split("\n")[:2]
            doc = json.loads(data.removeprefix("data: "))
            assert head == f"id: {doc['id']}:{doc['change']}"
            out.append((doc["change"], doc["id"], doc["target"]))
    return out


def test_stream_replays_then_follows_and_ends_when_the_manager_stops(manager: Manager) -> None:
    old = manager.repo.add_event("power.drift", "warning", "b0", "before")
    missed = manager.events.observe(fault("b9"))
    assert missed is not None
    ids: list[int] = []

    def act() -> None:
        made = manager.events.observe(fault("b1"))
        assert made is not None
        ids.append(made[0].id)
        manager.events.observe(fault("b1", n=1))
        manager.events.observe(fault("other", Severity.INFO))  # filtered out (info)
        manager.events.ack(made[0].id, "alice")
        manager.events.stop()

    got = _collect(manager, StreamFilter(severity=Severity.WARNING), old, act)
    assert got[0].startswith(":")
    assert _data(got) == [
        ("new", missed[0].id, "b9"),
        ("new", ids[0], "b1"),
        ("grew", ids[0], "b1"),
        ("acknowledged", ids[0], "b1"),
    ]


def test_keepalive_comments(manager: Manager, monkeypatch: pytest.MonkeyPatch) -> None:
    import kanri.api.event_stream as stream

    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.05)
    done = threading.Event()

    def act() -> None:
        done.wait(10)
        manager.events.stop()

    async def run() -> list[str]:
        got: list[str] = []
        async for text in frames(manager.events, StreamFilter(), None):
            got.append(text)
            if text == ": keepalive\n\n":
                done.set()
            if len(got) == 1:
                threading.Thread(target=act).start()
        return got

    got = asyncio.run(asyncio.wait_for(run(), 20))
    assert ": keepalive\n\n" in got
