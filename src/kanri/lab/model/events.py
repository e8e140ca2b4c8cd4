"""Redfish events the lab raises; delivery (push subscriptions, SSE) listens here."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LabEvent:
    id: int
    timestamp: str  # ISO 8601, lab wall time
    event_type: str  # Redfish EventType: Alert, StatusChange, ResourceUpdated, ...
    message_id: str  # e.g. "ResourceEvent.1.4.ResourceStatusChangedCritical"
    message: str
    severity: str  # OK | Warning | Critical
    origin: str  # @odata.id of the resource the event is about
    args: tuple[str, ...] = ()


Listener = Callable[[LabEvent], None]


class EventBus:
    """Keeps the last events and hands each new one to every listener.

    A "drop events" fault swallows events here, before any delivery, as a lossy BMC
    would: the history still records that they were dropped.
    """

    def __init__(self, keep: int = 1000) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.recent: deque[LabEvent] = deque(maxlen=keep)
        self._listeners: list[Listener] = []
        self.drop_remaining: int = 0  # events still to drop; -1 drops all until cleared
        self.dropped: int = 0

    def listen(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unlisten() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unlisten

    def emit(
        self,
        timestamp: str,
        event_type: str,
        message_id: str,
        message: str,
        severity: str,
        origin: str,
        args: tuple[str, ...] = (),
    ) -> LabEvent | None:
        """Raise an event; None when a fault dropped it."""
        with self._lock:
            event = LabEvent(
                next(self._ids), timestamp, event_type, message_id, message, severity, origin, args
            )
            if self.drop_remaining:
                if self.drop_remaining > 0:
                    self.drop_remaining -= 1
                self.dropped += 1
                return None
            self.recent.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)  # listeners queue and return at once; they never block here
        return event
