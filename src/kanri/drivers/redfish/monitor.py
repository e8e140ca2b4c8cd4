"""Redfish monitor driver: health polls with new SEL lines, EventService subscriptions,
the SSE stream, and pushed Event documents as :class:`PushedEvent`.

Every request goes through the session pool the power and inventory drivers use (one
session per BMC, its concurrency cap, timeouts and retries), except the SSE stream's
long-lived GET, which uses the same session but does not hold one of the BMC's request
slots for hours.

What a poll costs is in docs/monitoring.md: a healthy system is 3 requests (system,
chassis, SEL entries); the parts are walked when something is not OK, on the first
poll, and every :data:`FULL_WALK_EVERY` polls.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import sushy.exceptions as sushy_exc

from kanri.domain.health import ComponentHealth, HealthReport, PushedEvent, SelEntry
from kanri.domain.model import Bmc
from kanri.domain.states import Health, SystemKind
from kanri.drivers import sel
from kanri.drivers.base import BmcProtocolError
from kanri.drivers.redfish.common import RedfishDriverBase
from kanri.drivers.redfish.errors import to_driver_error
from kanri.drivers.redfish.mapping import JsonDoc, health_of, kind_of, link, power_state_of
from kanri.drivers.redfish.monitor_events import (
    FALLBACK_EVENT_TYPES,
    Resolve,
    parse_event_doc,
    subscription_body,
    system_in_path,
)
from kanri.drivers.redfish.monitor_health import (
    chassis_parts,
    members,
    sel_entries,
    sel_entries_path,
    status_health,
    system_parts,
)
from kanri.drivers.redfish.monitor_sse import frames
from kanri.drivers.redfish.sessions import RedfishClient, check_bmc_url
from kanri.drivers.registry import DriverContext

LOG = logging.getLogger(__name__)

FULL_WALK_EVERY = 10  # polls: the parts are read in full at least this often


def walk_offset(system_id: str) -> int:
    """Where a system starts in the walk cycle after its first walk: spread, and stable."""
    return zlib.crc32(system_id.encode()) % FULL_WALK_EVERY


STREAM_IDLE = 600.0  # seconds of silence after which an SSE stream is taken as dead
GONE = frozenset({404, 410})


@dataclass
class _Memo:
    """What one system's polls remember: its parts (for the cheap poll), how many cheap
    polls since the last full walk, and where its SEL is ("" none, None not looked)."""

    parts: tuple[ComponentHealth, ...] | None = None
    cheap_polls: int = 0
    sel_path: str | None = None


class RedfishMonitor(RedfishDriverBase):
    """:class:`kanri.drivers.base.MonitorDriver` over Redfish."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self._lock = threading.Lock()
        self._memos: dict[tuple[str, str], _Memo] = {}
        # (BMC URL, resource path) -> the system it belongs to: systems and the chassis
        # of one system, learnt by polls and by looking up pushed events' origins.
        self._owners: dict[tuple[str, str], str | None] = {}

    # polls ------------------------------------------------------------------------------
    def poll(self, bmc: Bmc, system_id: str, sel_after: str | None) -> HealthReport:
        return self.sessions.run(bmc, lambda client: self._poll(client, system_id, sel_after))

    def _memo(self, url: str, system_id: str) -> _Memo:
        with self._lock:
            return self._memos.setdefault((url, system_id), _Memo())

    def _own(self, url: str, path: str, system_id: str | None) -> None:
        with self._lock:
            self._owners[(url, path.rstrip("/"))] = system_id

    def _poll(self, client: RedfishClient, system_id: str, sel_after: str | None) -> HealthReport:
        fetch = client.get_optional
        path, doc = client.system(system_id)
        self._own(client.url, path, system_id)
        # A partition's chassis is its host's: the host's supplies and fans are the
        # host's parts, reported by the host's polls, not once more for each partition.
        chassis: list[JsonDoc] = []
        if kind_of(doc) is not SystemKind.PARTITION:
            for chassis_path in _chassis_links(doc):
                found = fetch(chassis_path)
                if found is not None:
                    chassis.append(found)
                    self._own_chassis(client.url, chassis_path, found)
        rollup = health_of(doc)
        memo = self._memo(client.url, system_id)
        confirmed_ok = rollup is Health.OK and all(
            status_health(c, rollup=True) is Health.OK for c in chassis
        )
        sensors: list[Any] = []
        if memo.parts is not None and confirmed_ok and memo.cheap_polls < FULL_WALK_EVERY - 1:
            # Every part is OK when the rollups say so: no need to read each one.
            parts = tuple(
                replace(p, health=Health.OK) if p.health is not Health.UNKNOWN else p
                for p in memo.parts
            )
            memo.cheap_polls += 1
        else:
            walked = system_parts(doc, fetch)
            for one in chassis:
                more, readings = chassis_parts(one, fetch)
                walked += more
                sensors += readings
            # After the first walk a system starts part-way through the cycle: systems
            # first polled together would otherwise all walk in the same round, every
            # tenth round (bench/detection.py: a 250-blade round took 25 s instead of 3).
            first = memo.parts is None
            parts, memo.parts = tuple(walked), tuple(walked)
            memo.cheap_polls = walk_offset(system_id) if first else 0
        entries, cursor = self._sel(client, doc, memo, sel_after)
        return HealthReport(
            system_id=system_id,
            rollup=rollup,
            power=power_state_of(doc),
            components=parts,
            sel=entries,
            sensors=tuple(sensors),
            sel_cursor=cursor,
        )

    def _own_chassis(self, url: str, path: str, chassis: JsonDoc) -> None:
        """A chassis of exactly one system (a blade, a rack server) belongs to it; an
        enclosure's belongs to none."""
        links = chassis.get("Links")
        systems = links.get("ComputerSystems") if isinstance(links, dict) else None
        paths = [s.get("@odata.id") for s in systems if isinstance(s, dict)] if systems else []
        owner = None
        if len(paths) == 1 and isinstance(paths[0], str):
            with self._lock:
                owner = self._owners.get((url, paths[0].rstrip("/")))
            owner = owner or system_in_path(paths[0])
        self._own(url, path, owner)

    def _sel(
        self, client: RedfishClient, system: JsonDoc, memo: _Memo, sel_after: str | None
    ) -> tuple[tuple[SelEntry, ...], str | None]:
        """New SEL lines and the cursor. A log that cannot be read this time (5xx) keeps
        the caller's cursor, so its lines come with the next poll instead of being lost."""
        if memo.sel_path is None:
            memo.sel_path = sel_entries_path(system, client.get_optional) or ""
        if not memo.sel_path:
            return (), None
        collection = client.get_optional(memo.sel_path)
        if collection is None:
            memo.sel_path = None  # look for it again next time: it may have moved
            return (), sel_after
        new, cursor = sel.after(sel_entries(collection, client.get_optional), sel_after)
        return tuple(new), cursor

    # subscriptions ----------------------------------------------------------------------
    def subscribe(self, bmc: Bmc, destination: str, context: str) -> str:
        def work(client: RedfishClient) -> str:
            service = _event_service(client)
            path = link(service, "Subscriptions")
            if path is None:
                raise BmcProtocolError(client.url, "the EventService has no Subscriptions")
            try:
                response = client.connector.post(path, data=subscription_body(destination, context))
            except sushy_exc.BadRequestError as exc:
                # Refused, so nothing was made: asking again with EventTypes (which BMCs
                # before Redfish 1.5 require) cannot make two.
                if "EventTypes" not in json.dumps(exc.body or {}) + str(exc.detail or ""):
                    raise
                offered = service.get("EventTypesForSubscription")
                wanted = [t for t in FALLBACK_EVENT_TYPES if not offered or t in offered]
                response = client.connector.post(
                    path, data=subscription_body(destination, context, wanted)
                )
            return _created_path(client.url, response, path)

        # A POST whose answer was lost is not repeated: subscriptions() finds it.
        return self.sessions.run(bmc, work, idempotent=False)

    def unsubscribe(self, bmc: Bmc, uri: str) -> None:
        def work(client: RedfishClient) -> None:
            try:
                client.connector.delete(uri)
            except sushy_exc.HTTPError as exc:
                if exc.status_code not in GONE or isinstance(exc, sushy_exc.AccessError):
                    raise

        self.sessions.run(bmc, work)

    def subscriptions(self, bmc: Bmc) -> list[tuple[str, str, str]]:
        def work(client: RedfishClient) -> list[tuple[str, str, str]]:
            path = link(_event_service(client), "Subscriptions")
            if path is None:
                return []
            found = []
            for sub in members(client.get(path), client.get_present):
                uri = sub.get("@odata.id")
                if isinstance(uri, str):
                    context = sub.get("Context")
                    found.append((uri, str(sub.get("Destination", "")), context if context else ""))
            return found

        return self.sessions.run(bmc, work)

    # pushed events ----------------------------------------------------------------------
    def parse_event(self, bmc: Bmc, body: dict[str, Any]) -> list[PushedEvent]:
        return parse_event_doc(body, self._resolver(bmc))

    def _resolver(self, bmc: Bmc) -> Resolve:
        url = check_bmc_url(bmc.url)

        def resolve(origin: str) -> str | None:
            path = urlsplit(origin.split("#", 1)[0]).path.rstrip("/")
            parts = path.split("/")
            for end in range(len(parts), 3, -1):
                prefix = "/".join(parts[:end])
                with self._lock:
                    if (url, prefix) in self._owners:
                        return self._owners[(url, prefix)]
            found = system_in_path(path)
            if found is not None:
                return found
            chassis = _chassis_of(path)
            return self._lookup_chassis(bmc, url, chassis) if chassis else None

        return resolve

    def _lookup_chassis(self, bmc: Bmc, url: str, path: str) -> str | None:
        """The system of a chassis no poll has read yet: one GET, remembered either way."""
        try:
            doc = self.sessions.run(bmc, lambda client: client.get_optional(path))
        except Exception as exc:  # an event is still an event when its origin is unknown
            LOG.info("cannot tell the system of %s%s: %s", url, path, exc)
            return None
        if doc is None:
            self._own(url, path, None)
            return None
        self._own_chassis(url, path, doc)
        with self._lock:
            return self._owners.get((url, path))

    def stream(
        self, bmc: Bmc, last_event_id: str | None, stop: threading.Event
    ) -> Iterator[PushedEvent]:
        """Opens the stream now (errors raise here, not at the first ``next``)."""

        def find(client: RedfishClient) -> tuple[RedfishClient, str]:
            path = _event_service(client).get("ServerSentEventUri")
            if not isinstance(path, str) or not path:
                raise BmcProtocolError(
                    client.url, "no SSE stream: the EventService has no ServerSentEventUri"
                )
            return client, path

        client, path = self.sessions.run(bmc, find)
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        try:
            response = client.connector.get(
                path,
                headers=headers,
                stream=True,
                timeout=(self.options.connect_timeout, STREAM_IDLE),
                server_side_retries_left=0,
            )
        except Exception as exc:
            raise to_driver_error(exc, bmc.url, self.options) from exc
        return self._events(response, self._resolver(bmc), stop)

    @staticmethod
    def _events(response: Any, resolve: Resolve, stop: threading.Event) -> Iterator[PushedEvent]:
        try:
            for frame in frames(response, stop):
                try:
                    body = json.loads(frame.data)
                except ValueError:
                    LOG.warning("event stream frame %s is not JSON; skipped", frame.id)
                    continue
                yield from parse_event_doc(body, resolve, frame.id or "")
        except ValueError as exc:  # a frame past the size limit: the stream is broken
            LOG.warning("event stream ended: %s", exc)


def _chassis_links(system: JsonDoc) -> list[str]:
    links = system.get("Links")
    chassis = links.get("Chassis") if isinstance(links, dict) else None
    items = chassis if isinstance(chassis, list) else []
    return [
        c["@odata.id"] for c in items if isinstance(c, dict) and isinstance(c.get("@odata.id"), str)
    ]


def _chassis_of(path: str) -> str | None:
    parts = path.split("/")
    for index, part in enumerate(parts[:-1]):
        if part == "Chassis":
            return "/".join(parts[: index + 2])
    return None


def _event_service(client: RedfishClient) -> JsonDoc:
    path = link(client.root.json, "EventService")
    if path is None:
        raise BmcProtocolError(client.url, "no EventService")
    service = client.get(path)
    if service.get("ServiceEnabled") is False:
        raise BmcProtocolError(client.url, "the EventService is disabled")
    return service


def _created_path(url: str, response: Any, collection: str) -> str:
    """The new subscription's path: the Location header (often an absolute URL), else
    the ``@odata.id`` of the answer."""
    location = response.headers.get("Location")
    if isinstance(location, str) and location:
        return urlsplit(location).path or location
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("@odata.id"), str):
        return str(body["@odata.id"])
    raise BmcProtocolError(url, f"created a subscription in {collection} but did not say where")
