"""Fake monitor driver over the :class:`FakeWorld`: parts with health, a SEL, an event
service that POSTs to subscribers and streams to readers, all in memory.

Tests inject through :class:`FakeMonitorWorld` (``monitor_world_of(drivers.context)``):
``fail_component``, ``clear_component``, ``add_sel``, ``clear_sel``, ``push``. Each
BMC's state is made on first use; a BMC's reachability and credentials are the fake
world's (``FakeWorld.contact``), so the same faults fail every fake driver alike.

Pushed events are POSTed to each subscription's destination as JSON (on a thread of
their own, as a BMC's delivery is), in the fake's own small document shape::

    {"Id": "7", "Context": "...", "Events": [{"EventId": "7", "MessageId": "...",
     "Severity": "Critical", "Message": "...", "SystemId": "1", "Component": "DIMM3"}]}
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from kanri.domain.health import ComponentHealth, HealthReport, PushedEvent, SelEntry
from kanri.domain.model import Bmc
from kanri.domain.states import Health
from kanri.drivers import sel
from kanri.drivers.base import BmcProtocolError, SystemNotFound
from kanri.drivers.fake.world import FakeSystem, FakeWorld, world_of
from kanri.drivers.registry import DriverContext

LOG = logging.getLogger(__name__)

# The parts every fake system has, as the lab's blades do.
PARTS = (
    *((f"CPU{i}", "cpu") for i in range(1, 3)),
    *((f"DIMM{i}", "dimm") for i in range(1, 9)),
    *((f"PSU{i}", "psu") for i in range(1, 3)),
    *((f"Fan{i}", "fan") for i in range(1, 5)),
)
RECENT = 1000  # events kept for streams resuming with Last-Event-ID
WAKE = 0.1  # seconds between a stream's looks at ``stop``
POST_TIMEOUT = 5.0
_SEVERITY = {Health.OK: "OK", Health.WARNING: "Warning", Health.CRITICAL: "Critical"}


@dataclass
class FakeLog:
    """One system's parts and SEL."""

    parts: dict[str, ComponentHealth]
    sel: list[SelEntry] = field(default_factory=list)
    next_entry: int = 1


@dataclass
class FakeEvents:
    """One BMC's event service."""

    sse: bool = True  # False: the BMC offers no stream
    subscriptions: dict[str, tuple[str, str]] = field(default_factory=dict)
    next_subscription: int = 1
    recent: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=RECENT))
    next_event: int = 1


def _worst(parts: dict[str, ComponentHealth]) -> Health:
    states = {p.health for p in parts.values()}
    return next((h for h in (Health.CRITICAL, Health.WARNING) if h in states), Health.OK)


class FakeMonitorWorld:
    """Parts, logs and event services of the fake BMCs. Guarded by the fake world's lock."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.lock = self.world.lock
        self.changed = threading.Condition(self.world.lock)
        self.logs: dict[tuple[str, str], FakeLog] = {}
        self.events: dict[str, FakeEvents] = {}

    def log(self, url: str, system_id: str) -> FakeLog:
        with self.lock:
            key = (url, system_id)
            if key not in self.logs:
                parts = {i: ComponentHealth(i, kind, Health.OK, i) for i, kind in PARTS}
                self.logs[key] = FakeLog(parts)
            return self.logs[key]

    def service(self, url: str) -> FakeEvents:
        with self.lock:
            return self.events.setdefault(url, FakeEvents())

    # injection --------------------------------------------------------------------------
    def fail_component(
        self, url: str, system_id: str, part: str, health: Health = Health.CRITICAL
    ) -> None:
        """A part's health changes, with a SEL line and a pushed event, as a BMC's sensor
        raises them; the system's rollup is the worst of its parts."""
        with self.lock:
            log = self.log(url, system_id)
            if part not in log.parts:
                raise KeyError(f"no part {part} (parts: {', '.join(log.parts)})")
            log.parts[part] = replace(log.parts[part], health=health)
            self.world.set_health(url, system_id, _worst(log.parts))
            message = f"The health of resource '{part}' has changed to {_SEVERITY[health]}."
            message_id = f"ResourceEvent.1.4.ResourceStatusChanged{_SEVERITY[health]}"
            self.add_sel(url, system_id, message, health, message_id, part)
            self.push(url, system_id, message_id, health, message, part)

    def clear_component(self, url: str, system_id: str, part: str) -> None:
        self.fail_component(url, system_id, part, Health.OK)

    def add_sel(
        self,
        url: str,
        system_id: str,
        message: str,
        severity: Health = Health.OK,
        message_id: str = "",
        component: str = "",
    ) -> SelEntry:
        with self.lock:
            log = self.log(url, system_id)
            entry = SelEntry(
                str(log.next_entry), datetime.now(UTC), severity, message, message_id, component
            )
            log.next_entry += 1
            log.sel.append(entry)
            return entry

    def clear_sel(self, url: str, system_id: str) -> None:
        """Empties the log but for one line saying so; ids start again at 1 (IPMI's way)."""
        with self.lock:
            log = self.log(url, system_id)
            log.sel.clear()
            log.next_entry = 1
            self.add_sel(url, system_id, "Log 'SEL' was cleared.", message_id="LogCleared")

    def push(
        self,
        url: str,
        system_id: str | None,
        message_id: str,
        severity: Health,
        message: str,
        component: str = "",
    ) -> int:
        """Raise one event: kept for streams, POSTed to every subscription. Its id."""
        with self.lock:
            service = self.service(url)
            number = service.next_event
            service.next_event += 1
            record = {
                "EventId": str(number),
                "EventTimestamp": datetime.now(UTC).isoformat(),
                "MessageId": message_id,
                "Severity": _SEVERITY.get(severity, "Warning"),
                "Message": message,
                "SystemId": system_id,
                "Component": component,
            }
            body = {"Id": str(number), "Events": [record]}
            service.recent.append((number, body))
            targets = list(service.subscriptions.values())
            self.changed.notify_all()
        for destination, context in targets:
            threading.Thread(
                target=_post,
                args=(destination, {**body, "Context": context}),
                name="kanri-fake-event",
                daemon=True,
            ).start()
        return number


def _post(destination: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the subscriber's URL, http(s) only
        destination,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT):  # noqa: S310
            pass
    except Exception as exc:  # a BMC drops what it cannot deliver
        LOG.info("fake event to %s dropped: %s", destination, exc)


def monitor_world_of(context: DriverContext) -> FakeMonitorWorld:
    world = world_of(context)  # first: the context's lock is not re-entrant
    return context.shared("fake.monitor", lambda: FakeMonitorWorld(world))


def parse_fake_event(body: Any, stream_id: str = "") -> list[PushedEvent]:
    if not isinstance(body, dict) or not isinstance(body.get("Events"), list):
        return []
    found = []
    for record in body["Events"]:
        if not isinstance(record, dict):
            continue
        system_id = record.get("SystemId")
        severity = {"OK": Health.OK, "Warning": Health.WARNING, "Critical": Health.CRITICAL}
        at = record.get("EventTimestamp")
        found.append(
            PushedEvent(
                event_id=str(record.get("EventId", "")),
                message_id=str(record.get("MessageId", "")),
                severity=severity.get(str(record.get("Severity")), Health.UNKNOWN),
                message=str(record.get("Message", "")),
                system_id=system_id if isinstance(system_id, str) else None,
                origin=f"/fake/{system_id}/{record.get('Component') or ''}".rstrip("/"),
                component=str(record.get("Component") or ""),
                at=datetime.fromisoformat(at) if isinstance(at, str) else None,
                raw=record,
                stream_id=stream_id,
            )
        )
    return found


class FakeMonitor:
    """:class:`kanri.drivers.base.MonitorDriver` over the fake world."""

    def __init__(self, context: DriverContext) -> None:
        self.world = world_of(context)
        self.state = monitor_world_of(context)

    def _contact(self, bmc: Bmc) -> None:
        self.world.latency(bmc.url)
        self.world.contact(bmc.url, bmc.username, bmc.password)

    def _system(self, bmc: Bmc, system_id: str) -> FakeSystem:
        found = self.world.contact(bmc.url, bmc.username, bmc.password)
        try:
            return found.systems[system_id]
        except KeyError:
            raise SystemNotFound(bmc.url, f"no system {system_id!r}") from None

    def poll(self, bmc: Bmc, system_id: str, sel_after: str | None) -> HealthReport:
        self.world.latency(bmc.url)
        with self.state.lock:
            system = self._system(bmc, system_id)
            log = self.state.log(bmc.url, system_id)
            new, cursor = sel.after(log.sel, sel_after)
            return HealthReport(
                system_id=system_id,
                rollup=system.inventory.health,
                power=system.power,
                components=tuple(log.parts.values()),
                sel=tuple(new),
                sel_cursor=cursor,
            )

    def subscribe(self, bmc: Bmc, destination: str, context: str) -> str:
        self._contact(bmc)
        if urlsplit(destination).scheme not in ("http", "https"):
            # as a BMC answers 400 PropertyValueFormatError
            raise BmcProtocolError(bmc.url, f"HTTP 400: Destination {destination!r} is no URL")
        with self.state.lock:
            service = self.state.service(bmc.url)
            uri = f"/redfish/v1/EventService/Subscriptions/{service.next_subscription}"
            service.next_subscription += 1
            service.subscriptions[uri] = (destination, context)
            return uri

    def unsubscribe(self, bmc: Bmc, uri: str) -> None:
        self._contact(bmc)
        with self.state.lock:
            self.state.service(bmc.url).subscriptions.pop(uri, None)

    def subscriptions(self, bmc: Bmc) -> list[tuple[str, str, str]]:
        self._contact(bmc)
        with self.state.lock:
            subs = self.state.service(bmc.url).subscriptions
            return [(uri, dest, ctx) for uri, (dest, ctx) in subs.items()]

    def stream(
        self, bmc: Bmc, last_event_id: str | None, stop: threading.Event
    ) -> Iterator[PushedEvent]:
        self._contact(bmc)
        with self.state.lock:
            service = self.state.service(bmc.url)
            if not service.sse:
                raise BmcProtocolError(bmc.url, "no SSE stream: the BMC offers none")
            start = (
                int(last_event_id)
                if last_event_id and last_event_id.isdigit()
                else service.next_event - 1
            )
        return self._events(service, start, stop)

    def _events(
        self, service: FakeEvents, after: int, stop: threading.Event
    ) -> Iterator[PushedEvent]:
        sent = after
        while not stop.is_set():
            with self.state.changed:
                waiting = [(n, body) for n, body in service.recent if n > sent]
                if not waiting:
                    self.state.changed.wait(WAKE)
                    continue
            for number, body in waiting:
                sent = number
                yield from parse_fake_event(body, str(number))

    def parse_event(self, bmc: Bmc, body: dict[str, Any]) -> list[PushedEvent]:
        return parse_fake_event(body)

    def close(self) -> None:
        """Nothing to log out of."""
