"""Redfish Event documents (pushed by POST or carried by an SSE frame) to PushedEvents,
and the subscription a manager asks for. Pure: which system an origin belongs to is
answered by the caller's ``resolve``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urlsplit

from kanri.domain.health import PushedEvent
from kanri.drivers.redfish.mapping import JsonDoc
from kanri.drivers.redfish.monitor_health import component_ref, redfish_datetime, to_health

# An origin URI -> the id of the system it belongs to, when it can be told.
Resolve = Callable[[str], str | None]

# Event types a BMC that still wants EventTypes (Redfish before 1.5; iDRAC 8/9, older
# iLO, several Supermicro) is asked for: health changes and alerts. Newer ones are sent
# none: EventTypes is deprecated and every event comes.
FALLBACK_EVENT_TYPES = ("Alert", "StatusChange")


def subscription_body(
    destination: str, context: str, event_types: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"Destination": destination, "Protocol": "Redfish", "Context": context}
    if event_types:
        body["EventTypes"] = event_types
    return body


def origin_path(record: JsonDoc) -> str:
    """OriginOfCondition as a path: a link object per the schema, a bare URI string from
    some BMCs; an absolute URL is cut to its path."""
    origin = record.get("OriginOfCondition")
    if isinstance(origin, dict):
        origin = origin.get("@odata.id")
    if not isinstance(origin, str):
        return ""
    parts = urlsplit(origin)
    path = parts.path + (f"#{parts.fragment}" if parts.fragment else "")
    return path if parts.netloc else origin


def system_in_path(path: str) -> str | None:
    """``/redfish/v1/Systems/<id>/...`` -> <id> (the URI segment, which Redfish does not
    promise to be the Id: the caller prefers what it has read)."""
    parts = [unquote(p) for p in path.split("#", 1)[0].split("/") if p]
    for index, part in enumerate(parts[:-1]):
        if part == "Systems":
            return parts[index + 1]
    return None


def _event(body: JsonDoc, index: int, record: JsonDoc, resolve: Resolve) -> PushedEvent:
    origin = origin_path(record)
    ref = component_ref(origin) if origin else None
    args = record.get("MessageArgs")
    # MessageSeverity (Event 1.5+) first: Severity is deprecated and some BMCs fill it
    # with what the schema never allowed ("Informational").
    severity = to_health(record.get("MessageSeverity") or record.get("Severity"))
    event_id = record.get("EventId")
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or event_id == "":
        event_id = f"{body.get('Id', '?')}.{record.get('MemberId', index)}"
    return PushedEvent(
        event_id=str(event_id),
        message_id=str(record.get("MessageId", "")),
        severity=severity,
        message=str(record.get("Message", "")),
        system_id=resolve(origin) if origin else None,
        origin=origin,
        component=ref[1] if ref is not None and ref[0] != "sensor" else "",
        at=redfish_datetime(record.get("EventTimestamp")),
        args=tuple(str(a) for a in args) if isinstance(args, list) else (),
        raw=record,
    )


def parse_event_doc(body: Any, resolve: Resolve, stream_id: str = "") -> list[PushedEvent]:
    """Every record of one Event document; a body that is no Event document: []."""
    if not isinstance(body, dict) or not isinstance(body.get("Events"), list):
        return []
    found = []
    for index, record in enumerate(body["Events"]):
        if isinstance(record, dict):
            event = _event(body, index, record, resolve)
            found.append(replace(event, stream_id=stream_id) if stream_id else event)
    return found
