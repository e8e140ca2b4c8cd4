"""Reactions: a stored change to an event -> the rules that fire -> durable deliveries.

``EventService.subscribe`` calls :meth:`Reactions.on_change` after the event's commit, on
the observing thread (the monitor's, the API's). Deciding and enqueueing are two short
database transactions; the actions themselves run later on the delivery workers. Nothing
here raises into the observer: a failure is logged and stored as a ``reaction.failed``
manager event (written straight to the store, so that it fires no rule and cannot feed
itself). The event itself is kept whatever happens here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from kanri.domain.faults import Change, FaultEvent
from kanri.domain.rules import Firing, Maintenance, in_maintenance
from kanri.engine.delivery import DeliveryService

log = logging.getLogger(__name__)


class Subscribable(Protocol):
    def subscribe(self, listener: Callable[[FaultEvent, Change], None]) -> Callable[[], None]: ...


class Deciding(Protocol):
    def decide(self, event: FaultEvent, change: str) -> list[Firing]: ...


class Reactions:
    def __init__(self, events: Subscribable, rules: Deciding, delivery: DeliveryService) -> None:
        self.events = events
        self.rules = rules
        self.delivery = delivery
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.events.subscribe(self.on_change)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_change(self, event: FaultEvent, change: Change) -> None:
        try:
            firings = self.rules.decide(event, change.value)
        except Exception as exc:
            self._failed(event, f"deciding the rules for event {event.id} failed: {exc}")
            return
        for firing in firings:
            try:
                ids = self.delivery.enqueue(event, firing)
            except Exception as exc:
                self._failed(
                    event,
                    f"rule {firing.rule} fired for event {event.id} ({firing.trigger}) "
                    f"but its actions could not be stored: {exc}",
                )
                continue
            log.info(
                "event %s (%s): rule %s fired (%s): deliveries %s",
                event.id,
                change.value,
                firing.rule,
                firing.trigger,
                ids,
            )

    def _failed(self, event: FaultEvent, message: str) -> None:
        log.exception("%s", message)
        try:
            self.delivery.repo.record_failure(
                "reaction.failed", event.target, message, self.delivery.clock()
            )
        except Exception:  # the database itself is away: the log line is all there is
            log.exception("recording a failed reaction failed too")


class MaintenanceSource(Protocol):
    def maintenance(self, now: datetime) -> list[Maintenance]: ...


def maintenance_check(
    store: MaintenanceSource,
    groups_of: Callable[[str | None], set[str]],
    clock: Callable[[], datetime],
) -> Callable[[FaultEvent], str | None]:
    """For the delivery workers: why an event's actions must not run now (its target went
    into maintenance after the rule fired), or None."""

    def suppressed(event: FaultEvent) -> str | None:
        now = clock()
        entry = in_maintenance(event.target, groups_of(event.target), store.maintenance(now), now)
        if entry is None:
            return None
        why = f": {entry.reason}" if entry.reason else ""
        return f"{entry.target} is in maintenance{why}"

    return suppressed
