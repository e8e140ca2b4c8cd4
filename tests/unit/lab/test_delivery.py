"""Event couriers survive a destination the HTTP client cannot even try: the failure is
recorded like any other, and later events are still delivered (or recorded)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kanri.lab.model.lab import Lab
from kanri.lab.redfish.delivery import EventHub, Subscription
from tests.unit.lab.conftest import MakeLab, wait_for


@pytest.fixture
def hub(make_lab: MakeLab) -> Iterator[EventHub]:
    events = EventHub(make_lab({"machines": [{"id": "b1"}]}))
    yield events
    events.close()


def raise_event(lab: Lab, message: str) -> None:
    with lab.lock:
        lab.emit("Alert", "ResourceEvent.1.4.TestMessage", message, "OK", "/redfish/v1")


def failures(lab: Lab) -> list[str]:
    return [str(r.data["error"]) for r in lab.history.since() if r.kind == "event.delivery_failed"]


def test_an_undeliverable_destination_is_a_recorded_failure_every_time(hub: EventHub) -> None:
    lab = hub.lab
    # Passes as a URL, but the HTTP client's IDNA encoding refuses the empty label.
    assert hub.add(Subscription("", "http://a..b/events")) is not None
    raise_event(lab, "first")
    wait_for(lab, lambda: len(failures(lab)) == 1)
    raise_event(lab, "second")  # the courier is still there to try
    wait_for(lab, lambda: len(failures(lab)) == 2)
    assert all("a..b" in f or "idna" in f.lower() or "label" in f for f in failures(lab))
