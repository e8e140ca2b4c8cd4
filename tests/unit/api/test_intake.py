"""/api/v1/intake/redfish/{secret}: a BMC's pushed events get in with their
subscription's secret and nothing else does."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kanri.domain.model import Bmc
from kanri.engine.intake import INTAKE_PATH, Mode
from kanri.engine.manager import Manager
from kanri.store.monitor_repo import MonitorRepository, Subscription

BMC = Bmc("fake://pushing?systems=2", "admin", "secret")
SECRET = "s" * 32


def _subscribed(manager: Manager) -> None:
    manager.machines.add("p", BMC, driver="fake")
    MonitorRepository(manager.db).save_subscription(
        Subscription(BMC.url, Mode.PUSH, "/redfish/v1/EventService/Subscriptions/1", SECRET, None)
    )


def _event(part: str = "DIMM2") -> dict[str, Any]:
    record = {
        "EventId": "5",
        "MessageId": "ResourceEvent.1.4.ResourceStatusChangedCritical",
        "Severity": "Critical",
        "Message": f"The health of resource '{part}' has changed to Critical.",
        "SystemId": "1",
        "Component": part,
    }
    return {"Id": "5", "Events": [record]}


def test_an_event_with_the_secret_is_recorded_without_a_token(
    client: TestClient, manager: Manager
) -> None:
    _subscribed(manager)
    client.headers.pop("Authorization")  # a BMC holds no token
    answer = client.post(f"{INTAKE_PATH}/{SECRET}", json=_event())
    assert answer.status_code == 204, answer.text
    [event] = manager.events.list(kind_prefix="hw.")
    assert (event.target, event.component, event.source.value) == ("p-1", "DIMM2", "push")


def test_a_wrong_secret_is_404_and_records_nothing(client: TestClient, manager: Manager) -> None:
    _subscribed(manager)
    for secret in ("guess", SECRET + "x", SECRET[:-1]):
        answer = client.post(f"{INTAKE_PATH}/{secret}", json=_event())
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "no such subscription"
    assert manager.events.list(kind_prefix="hw.") == []


def test_a_body_that_is_no_event_is_400(client: TestClient, manager: Manager) -> None:
    _subscribed(manager)
    url = f"{INTAKE_PATH}/{SECRET}"
    not_json = client.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert client.post(url, json=["a", "list"]).status_code == 400
    assert client.post(url, json={"no": "events"}).status_code == 204  # nothing to record
    assert manager.events.list(kind_prefix="hw.") == []
