"""Push delivery of the lab's events to Redfish event subscriptions.

Each subscription has its own bounded queue and courier thread, so a slow or dead
listener delays only itself, and the code that raises an event (often holding the lab's
lock) only ever enqueues. A courier thread starts with the first event and ends after a
few idle seconds, so a stopped lab leaves no threads behind.

Subscriptions are kept in the lab's directory, as a BMC keeps them across a reboot: a
manager that subscribed once goes on receiving events after the lab restarts.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from kanri.lab.files import write_atomically
from kanri.lab.model.events import LabEvent
from kanri.lab.model.lab import Lab

log = logging.getLogger("kanri.lab.events")

RETRY_ATTEMPTS = 3  # after the first try
RETRY_INTERVAL = 2.0  # lab seconds between tries
QUEUE_LIMIT = 1000  # events waiting per subscription; more are dropped and recorded
IDLE_EXIT = 2.0  # real seconds a courier waits for work before its thread ends
POST_TIMEOUT = 5.0  # real seconds for one delivery
STORE = "event-subscriptions.json"


def same_message(a: str, b: str) -> bool:
    """MessageIds match on registry prefix and key; the version in between may differ."""
    pa, pb = a.split("."), b.split(".")
    return pa[0] == pb[0] and pa[-1] == pb[-1]


@dataclass
class Subscription:
    id: str
    destination: str
    context: str | None = None
    event_types: list[str] = field(default_factory=list)
    registry_prefixes: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    exclude_registry_prefixes: list[str] = field(default_factory=list)
    exclude_message_ids: list[str] = field(default_factory=list)
    origin_resources: list[str] = field(default_factory=list)
    subordinate_resources: bool = False
    http_headers: dict[str, str] = field(default_factory=dict)

    def matches(self, event: LabEvent) -> bool:
        prefix = event.message_id.split(".", 1)[0]
        if self.event_types and event.event_type not in self.event_types:
            return False
        if self.registry_prefixes and prefix not in self.registry_prefixes:
            return False
        if prefix in self.exclude_registry_prefixes:
            return False
        if self.message_ids and not any(
            same_message(event.message_id, m) for m in self.message_ids
        ):
            return False
        if any(same_message(event.message_id, m) for m in self.exclude_message_ids):
            return False
        return not self.origin_resources or any(
            event.origin == r or (self.subordinate_resources and event.origin.startswith(r + "/"))
            for r in self.origin_resources
        )


def event_record(event: LabEvent) -> dict[str, Any]:
    return {
        "MemberId": "0",
        "EventType": event.event_type,
        "EventId": str(event.id),
        "EventTimestamp": event.timestamp,
        "Severity": event.severity,
        "MessageSeverity": event.severity,
        "Message": event.message,
        "MessageId": event.message_id,
        "MessageArgs": list(event.args),
        "OriginOfCondition": {"@odata.id": event.origin},
    }


def event_doc(event: LabEvent, context: str | None = None) -> dict[str, Any]:
    """One Redfish Event document carrying one event."""
    body: dict[str, Any] = {
        "@odata.type": "#Event.v1_11_0.Event",
        "Id": str(event.id),
        "Name": "Kanri Lab event",
        "Events": [event_record(event)],
    }
    if context is not None:
        body["Context"] = context
    return body


class _Courier:
    """Delivers one subscription's events in order, on a thread of its own."""

    def __init__(self, hub: EventHub, subscription: Subscription) -> None:
        self.hub = hub
        self.subscription = subscription
        self.queue: queue.Queue[LabEvent | None] = queue.Queue(QUEUE_LIMIT)
        self._lock = threading.Lock()
        self._running = False
        self.thread: threading.Thread | None = None

    def offer(self, event: LabEvent | None) -> bool:
        with self._lock:
            try:
                self.queue.put_nowait(event)
            except queue.Full:
                return False
            if not self._running:
                self._running = True
                self.thread = threading.Thread(
                    target=self._run, name=f"lab-events-{self.subscription.id}", daemon=True
                )
                self.thread.start()
            return True

    def _run(self) -> None:
        with httpx.Client(timeout=POST_TIMEOUT) as http:
            while True:
                try:
                    event = self.queue.get(timeout=IDLE_EXIT)
                except queue.Empty:
                    with self._lock:
                        if self.queue.empty():
                            self._running = False
                            return
                    continue
                if event is None:  # the subscription was deleted
                    with self._lock:
                        self._running = False
                    return
                self._deliver(http, event)

    def _deliver(self, http: httpx.Client, event: LabEvent) -> None:
        sub, lab = self.subscription, self.hub.lab
        body = event_doc(event, sub.context)
        problem = ""
        for attempt in range(1 + RETRY_ATTEMPTS):
            if attempt:
                lab.clock.sleep(RETRY_INTERVAL)
            if self.hub.stopping.is_set():
                return
            try:
                response = http.post(sub.destination, json=body, headers=sub.http_headers)
            except Exception as exc:  # not only HTTPError: a host name IDNA refuses raises
                # UnicodeError, and a courier that died would never deliver again
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.is_success:
                self.hub.count_delivered()
                return
            problem = f"HTTP {response.status_code}"
        lab.record(
            "event.delivery_failed",
            subscription=sub.id,
            destination=sub.destination,
            event=event.id,
            message_id=event.message_id,
            attempts=1 + RETRY_ATTEMPTS,
            error=problem,
        )
        log.warning("event %s to %s dropped: %s", event.id, sub.destination, problem)


class EventHub:
    """The lab's event subscriptions and their delivery."""

    def __init__(self, lab: Lab, stopping: threading.Event | None = None, limit: int = 32) -> None:
        self.lab = lab
        self.limit = limit
        self.delivered = 0
        self.stopping = stopping or threading.Event()  # set: deliveries and streams end
        self._lock = threading.Lock()
        self._couriers: dict[str, _Courier] = {}
        self._path = lab.directory / STORE
        self._ids = itertools.count(1)
        for sub in self._load():
            self._couriers[sub.id] = _Courier(self, sub)
        known = [int(i) for i in self._couriers if i.isdigit()]
        self._ids = itertools.count(max(known, default=0) + 1)
        self._unlisten = lab.events.listen(self._on_event)

    def close(self) -> None:
        self.stopping.set()
        self._unlisten()

    def count_delivered(self) -> None:
        with self._lock:
            self.delivered += 1

    # subscriptions -------------------------------------------------------------------------
    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return sorted(
                (c.subscription for c in self._couriers.values()), key=lambda s: int(s.id)
            )

    def get(self, sub_id: str) -> Subscription | None:
        with self._lock:
            courier = self._couriers.get(sub_id)
            return courier.subscription if courier else None

    def add(self, subscription: Subscription) -> Subscription | None:
        """Give it an id and start delivering; None when the limit is reached."""
        with self._lock:
            if len(self._couriers) >= self.limit:
                return None
            subscription.id = str(next(self._ids))
            self._couriers[subscription.id] = _Courier(self, subscription)
            self._save()
        self.lab.record(
            "event.subscribed", subscription=subscription.id, destination=subscription.destination
        )
        return subscription

    def remove(self, sub_id: str) -> bool:
        with self._lock:
            courier = self._couriers.pop(sub_id, None)
            if courier is None:
                return False
            self._save()
        courier.offer(None)
        self.lab.record("event.unsubscribed", subscription=sub_id)
        return True

    # delivery ------------------------------------------------------------------------------
    def _on_event(self, event: LabEvent) -> None:
        with self._lock:
            couriers = list(self._couriers.values())
        for courier in couriers:
            if courier.subscription.matches(event) and not courier.offer(event):
                self.lab.record(
                    "event.delivery_failed",
                    subscription=courier.subscription.id,
                    destination=courier.subscription.destination,
                    event=event.id,
                    message_id=event.message_id,
                    attempts=0,
                    error=f"more than {QUEUE_LIMIT} events waiting",
                )

    # persistence ---------------------------------------------------------------------------
    def _load(self) -> list[Subscription]:
        try:
            raw = json.loads(self._path.read_text())
            return [Subscription(**item) for item in raw["subscriptions"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", self._path, exc)
            return []

    def _save(self) -> None:
        data = {"subscriptions": [asdict(c.subscription) for c in self._couriers.values()]}
        try:
            write_atomically(self._path, json.dumps(data, indent=1))
        except OSError as exc:  # a lab without a writable directory still delivers
            log.warning("cannot save %s: %s", self._path, exc)
