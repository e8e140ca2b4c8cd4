"""Reactions: a change to an event -> the rules that fire -> deliveries; never raising into
the observer, a failure stored as a manager event that fires nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from kanri.domain.faults import Change, FaultEvent
from kanri.domain.rules import ActionSpec, Firing
from kanri.drivers.registry import Drivers
from kanri.engine.actions import ActionContext, ActionRegistry
from kanri.engine.delivery import DeliveryService
from kanri.engine.reactions import Reactions
from kanri.store.db import Database
from kanri.store.deliveries_repo import DeliveryRepository
from kanri.store.events_repo import EventsRepository
from kanri.store.tables import EventRow

Listener = Callable[[FaultEvent, Change], None]


class Events:
    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)


class Rules:
    def __init__(self, firings: list[Firing] | Exception) -> None:
        self.firings = firings
        self.asked: list[tuple[int, str]] = []

    def decide(self, event: FaultEvent, change: str) -> list[Firing]:
        self.asked.append((event.id, change))
        if isinstance(self.firings, Exception):
            raise self.firings
        return self.firings


@pytest.fixture
def delivery(db: Database) -> Iterator[DeliveryService]:
    drivers = Drivers()
    yield DeliveryService(DeliveryRepository(db), ActionRegistry(ActionContext(drivers)), "m:1")
    drivers.close()


def _failures(db: Database) -> list[str]:
    with db.session() as session:
        rows = session.scalars(select(EventRow).where(EventRow.kind == "reaction.failed"))
        return [r.message for r in rows]


def test_a_firing_becomes_deliveries_and_unsubscribing_stops_it(
    db: Database, delivery: DeliveryService
) -> None:
    event = EventsRepository(db).add_manager_event("hw.component", "critical", "blade-05", "x")
    events = Events()
    rules = Rules([Firing("page", "new", (ActionSpec("webhook", {"url": "http://h/"}),))])
    reactions = Reactions(events, rules, delivery)
    reactions.start()
    reactions.start()  # once is enough
    assert len(events.listeners) == 1
    events.listeners[0](event, Change.NEW)
    assert rules.asked == [(event.id, "new")]
    assert [(d["rule"], d["kind"], d["state"]) for d in delivery.for_event(event.id)] == [
        ("page", "webhook", "pending")
    ]
    reactions.stop()
    assert events.listeners == []


def test_rules_that_fail_are_recorded_not_raised(db: Database, delivery: DeliveryService) -> None:
    event = EventsRepository(db).add_manager_event("hw.component", "critical", "blade-05", "x")
    Reactions(Events(), Rules(RuntimeError("db away")), delivery).on_change(event, Change.NEW)
    assert _failures(db) == [f"deciding the rules for event {event.id} failed: db away"]


def test_an_enqueue_that_fails_is_recorded_and_the_other_firings_still_go(
    db: Database, delivery: DeliveryService
) -> None:
    event = EventsRepository(db).add_manager_event("hw.component", "critical", "blade-05", "x")
    gone = FaultEvent(**{**{f: getattr(event, f) for f in event.__slots__}, "id": 999})
    firing = Firing("page", "new", (ActionSpec("syslog"),))
    reactions = Reactions(Events(), Rules([firing]), delivery)
    reactions.on_change(gone, Change.ESCALATED)  # no such event row: the enqueue fails
    [said] = _failures(db)
    assert said.startswith(
        "rule page fired for event 999 (new) but its actions could not be stored"
    )
    reactions.on_change(event, Change.NEW)
    assert len(delivery.for_event(event.id)) == 1
