"""EventService: push subscriptions, a Server-Sent Events stream, and SubmitTestEvent.

Every lab event (power changes, SEL alerts, test events) reaches each matching
subscription as a Redfish Event POSTed by a courier of its own (see delivery.py), and
every open SSE stream as ``id:``/``data:`` lines. A "drop events" fault swallows events
before both, as a lossy BMC would.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.lab import Lab
from kanri.lab.redfish import sse
from kanri.lab.redfish.common import (
    ROOT,
    BadRequest,
    body_of,
    collection,
    doc,
    error,
    lab_of,
    no_content,
    ref,
    reply,
)
from kanri.lab.redfish.delivery import (
    RETRY_ATTEMPTS,
    RETRY_INTERVAL,
    EventHub,
    Subscription,
)

SERVICE = f"{ROOT}/EventService"
SUBSCRIPTIONS = f"{SERVICE}/Subscriptions"
SSE = f"{SERVICE}/SSE"
EVENT_TYPES = ["StatusChange", "ResourceUpdated", "ResourceAdded", "ResourceRemoved", "Alert"]
REGISTRY_PREFIXES = ["ResourceEvent", "KanriLab", "LogService"]
SEVERITIES = ["OK", "Warning", "Critical"]


def install(app: Starlette, lab: Lab) -> EventHub:
    """Start the lab's event delivery with the app (subscriptions saved before resume)."""
    hub = EventHub(lab, app.state.stopping)
    app.state.event_hub = hub
    return hub


def hub_of(request: Request) -> EventHub:
    hub: EventHub = request.app.state.event_hub
    return hub


# the service ------------------------------------------------------------------------------
async def service(request: Request) -> Response:
    return reply(
        doc(
            SERVICE,
            "#EventService.v1_10_0.EventService",
            Name="Event Service",
            ServiceEnabled=True,
            Status={"State": "Enabled", "Health": "OK"},
            DeliveryRetryAttempts=RETRY_ATTEMPTS,
            DeliveryRetryIntervalSeconds=int(RETRY_INTERVAL),
            EventFormatTypes=["Event"],
            RegistryPrefixes=REGISTRY_PREFIXES,
            ServerSentEventUri=SSE,
            SSEFilterPropertiesSupported={
                "MessageId": True,
                "RegistryPrefix": True,
                "OriginResource": True,
                "ResourceType": False,
                "EventFormatType": False,
                "MetricReportDefinition": False,
                "SubordinateResources": False,
            },
            SubordinateResourcesSupported=True,
            Subscriptions=ref(SUBSCRIPTIONS),
            Actions={
                "#EventService.SubmitTestEvent": {
                    "target": f"{SERVICE}/Actions/EventService.SubmitTestEvent"
                }
            },
        )
    )


# subscriptions ----------------------------------------------------------------------------
def destination_doc(sub: Subscription) -> dict[str, Any]:
    body = doc(
        f"{SUBSCRIPTIONS}/{sub.id}",
        "#EventDestination.v1_15_0.EventDestination",
        Name=f"Subscription {sub.id}",
        Destination=sub.destination,
        Protocol="Redfish",
        SubscriptionType="RedfishEvent",
        EventFormatType="Event",
        Context=sub.context,
        DeliveryRetryPolicy="RetryForever",
        RegistryPrefixes=sub.registry_prefixes,
        MessageIds=sub.message_ids,
        ExcludeRegistryPrefixes=sub.exclude_registry_prefixes,
        ExcludeMessageIds=sub.exclude_message_ids,
        OriginResources=[ref(r) for r in sub.origin_resources],
        SubordinateResources=sub.subordinate_resources,
        Status={"State": "Enabled", "Health": "OK"},
    )
    if sub.event_types:
        body["EventTypes"] = sub.event_types
    return body


async def subscriptions(request: Request) -> Response:
    members = [f"{SUBSCRIPTIONS}/{s.id}" for s in hub_of(request).subscriptions()]
    return reply(
        collection(SUBSCRIPTIONS, "EventDestinationCollection", "Event subscriptions", members)
    )


async def subscription(request: Request) -> Response:
    sub = hub_of(request).get(request.path_params["sub_id"])
    if sub is None:
        return error(
            404, "ResourceMissingAtURI", f"no subscription {request.path_params['sub_id']}"
        )
    return reply(destination_doc(sub))


async def unsubscribe(request: Request) -> Response:
    if hub_of(request).remove(request.path_params["sub_id"]):
        return no_content()
    return error(404, "ResourceMissingAtURI", f"no subscription {request.path_params['sub_id']}")


_CREATE_KEYS = {
    "Destination",
    "Protocol",
    "Context",
    "EventTypes",
    "RegistryPrefixes",
    "MessageIds",
    "ExcludeRegistryPrefixes",
    "ExcludeMessageIds",
    "OriginResources",
    "SubordinateResources",
    "HttpHeaders",
    "SubscriptionType",
    "EventFormatType",
    "DeliveryRetryPolicy",
    "Name",
}


async def subscribe(request: Request) -> Response:
    data = await body_of(request)
    sub = parse_subscription(data)
    added = hub_of(request).add(sub)
    if added is None:
        return error(
            503,
            "EventSubscriptionLimitExceeded",
            f"the lab keeps at most {hub_of(request).limit} event subscriptions",
        )
    location = f"{SUBSCRIPTIONS}/{added.id}"
    return reply(destination_doc(added), 201, {"Location": location})


def _strings(data: dict[str, Any], key: str, allowed: list[str] | None = None) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{key} must be a list of strings")
    if allowed is not None:
        for item in value:
            if item not in allowed:
                raise BadRequest(
                    f"{key}: {item!r} is not one of {', '.join(allowed)}", "PropertyValueNotInList"
                )
    return list(value)


def _fixed(data: dict[str, Any], key: str, value: str) -> None:
    if key in data and data[key] != value:
        raise BadRequest(
            f"{key} {data[key]!r} is not supported: the lab only does {value}",
            "PropertyValueNotInList",
        )


def parse_subscription(data: dict[str, Any]) -> Subscription:
    unknown = sorted(set(data) - _CREATE_KEYS)
    if unknown:
        raise BadRequest(f"property {unknown[0]} is not known here", "PropertyUnknown")
    for key in ("Destination", "Protocol"):
        if key not in data:
            raise BadRequest(f"{key} is required to subscribe", "PropertyMissing")
    destination = data["Destination"]
    if not _deliverable(destination):
        raise BadRequest(
            f"Destination {destination!r} must be an http:// or https:// URL without "
            "user:password@ (send credentials in HttpHeaders)",
            "PropertyValueFormatError",
        )
    _fixed(data, "Protocol", "Redfish")
    _fixed(data, "SubscriptionType", "RedfishEvent")
    _fixed(data, "EventFormatType", "Event")
    _fixed(data, "DeliveryRetryPolicy", "RetryForever")
    context = data.get("Context")
    if context is not None and (not isinstance(context, str) or len(context) > 256):
        raise BadRequest("Context must be a string of at most 256 characters")
    origins = data.get("OriginResources", [])
    if not isinstance(origins, list) or not all(
        isinstance(o, dict) and isinstance(o.get("@odata.id"), str) for o in origins
    ):
        raise BadRequest('OriginResources must be a list of {"@odata.id": "/redfish/v1/..."}')
    subordinate = data.get("SubordinateResources", False)
    if not isinstance(subordinate, bool):
        raise BadRequest("SubordinateResources must be true or false")
    return Subscription(
        id="",
        destination=destination,
        context=context,
        event_types=_strings(data, "EventTypes", EVENT_TYPES),
        registry_prefixes=_strings(data, "RegistryPrefixes", REGISTRY_PREFIXES),
        message_ids=_strings(data, "MessageIds"),
        exclude_registry_prefixes=_strings(data, "ExcludeRegistryPrefixes", REGISTRY_PREFIXES),
        exclude_message_ids=_strings(data, "ExcludeMessageIds"),
        origin_resources=[o["@odata.id"].rstrip("/") for o in origins],
        subordinate_resources=subordinate,
        http_headers=_headers(data.get("HttpHeaders", [])),
    )


def _deliverable(destination: object) -> bool:
    """Whether the couriers can POST to ``destination`` (reachable or not)."""
    if not isinstance(destination, str):
        return False
    try:
        parts = urlsplit(destination)
        parts.port  # noqa: B018 - raises ValueError outside 0-65535
        httpx.URL(destination)
    except (ValueError, httpx.InvalidURL):
        return False
    # No user:password@ either: the destination is shown in the subscription, the log and
    # the lab's history; credentials go in HttpHeaders, which are never shown.
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and parts.password is None
    )


def _headers(value: Any) -> dict[str, str]:
    """HttpHeaders: a list of objects of header name -> value, sent with every POST."""
    if not isinstance(value, list) or not all(isinstance(h, dict) for h in value):
        raise BadRequest('HttpHeaders must be a list of {"Header-Name": "value"} objects')
    headers: dict[str, str] = {}
    for item in value:
        for name, text in item.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or not isinstance(text, str):
                raise BadRequest(f"HttpHeaders: {name!r} is not a header name with a string value")
            # Visible ASCII, spaces and tabs: no line breaks to smuggle in another header,
            # nothing the HTTP client would refuse when it delivers.
            if not re.fullmatch(r"[\t\x20-\x7e]*", text):
                raise BadRequest(
                    f"HttpHeaders: the value of {name} must be printable ASCII",
                    "PropertyValueFormatError",
                )
            headers[name] = text
    return headers


# the test event ---------------------------------------------------------------------------
_TEST_KEYS = {
    "EventType",
    "EventId",
    "EventTimestamp",
    "Severity",
    "MessageSeverity",
    "Message",
    "MessageId",
    "MessageArgs",
    "OriginOfCondition",
    "EventGroupId",
}


async def submit_test_event(request: Request) -> Response:
    lab = lab_of(request)
    data = await body_of(request)
    unknown = sorted(set(data) - _TEST_KEYS)
    if unknown:
        raise BadRequest(f"parameter {unknown[0]} is not known here", "ActionParameterUnknown")
    event_type = data.get("EventType", "Alert")
    if event_type not in EVENT_TYPES:
        raise BadRequest(
            f"EventType {event_type!r} is not one of {', '.join(EVENT_TYPES)}",
            "ActionParameterValueNotInList",
        )
    severity = data.get("MessageSeverity", data.get("Severity", "OK"))
    if severity not in SEVERITIES:
        raise BadRequest(
            f"MessageSeverity {severity!r} is not OK, Warning or Critical",
            "ActionParameterValueNotInList",
        )
    args = data.get("MessageArgs", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise BadRequest("MessageArgs must be a list of strings", "ActionParameterValueTypeError")
    texts = {
        "MessageId": "ResourceEvent.1.4.TestMessage",
        "Message": "Test message.",
        "OriginOfCondition": SERVICE,
    }
    for key in texts:
        if key in data:
            if not isinstance(data[key], str):
                raise BadRequest(f"{key} must be a string", "ActionParameterValueTypeError")
            texts[key] = data[key]
    with lab.lock:  # as every event is raised: the drop-events fault is lab state
        lab.record("event.test", message_id=texts["MessageId"])
        lab.emit(
            str(event_type),
            texts["MessageId"],
            texts["Message"],
            str(severity),
            texts["OriginOfCondition"],
            tuple(args),
        )
    return no_content()


def routes() -> list[Route]:
    return [
        Route(SERVICE, service, methods=["GET"]),
        Route(SUBSCRIPTIONS, subscriptions, methods=["GET"]),
        Route(SUBSCRIPTIONS, subscribe, methods=["POST"]),
        Route(f"{SUBSCRIPTIONS}/{{sub_id}}", subscription, methods=["GET"]),
        Route(f"{SUBSCRIPTIONS}/{{sub_id}}", unsubscribe, methods=["DELETE"]),
        Route(
            f"{SERVICE}/Actions/EventService.SubmitTestEvent", submit_test_event, methods=["POST"]
        ),
        Route(SSE, sse.stream, methods=["GET"]),
    ]
