"""What every handler of the lab's Redfish service shares: JSON documents, errors, the
lab from the request, and request bodies checked at the edge."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kanri.lab.model.lab import Lab, LabError

ROOT = "/redfish/v1"
REGISTRY_BASE = "Base.1.22"
MAX_BODY = 64 * 1024


def lab_of(request: Request) -> Lab:
    lab: Lab = request.app.state.lab
    return lab


def ref(path: str) -> dict[str, str]:
    return {"@odata.id": path}


def doc(path: str, odata_type: str, **body: Any) -> dict[str, Any]:
    """A resource: ``odata_type`` like "#ComputerSystem.v1_20_0.ComputerSystem"; ``Id``
    defaults to the last segment of the path, as the validator wants it to match."""
    out: dict[str, Any] = {"@odata.id": path, "@odata.type": odata_type}
    out.setdefault("Id", path.rstrip("/").rsplit("/", 1)[-1])
    out.update(body)
    return out


def collection(path: str, type_name: str, name: str, members: Iterable[str]) -> dict[str, Any]:
    """A collection ``type_name`` like "ComputerSystemCollection"."""
    links = [ref(m) for m in members]
    return {
        "@odata.id": path,
        "@odata.type": f"#{type_name}.{type_name}",
        "Name": name,
        "Members": links,
        "Members@odata.count": len(links),
    }


def reply(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(
        body, status_code=status, headers={"OData-Version": "4.0", **(headers or {})}
    )


def error(status: int, message_id: str, message: str) -> Response:
    """A Redfish error body: one ExtendedInfo entry naming a Base registry message."""
    if "." not in message_id:
        message_id = f"{REGISTRY_BASE}.{message_id}"
    info = {
        "@odata.type": "#Message.v1_1_1.Message",
        "MessageId": message_id,
        "Message": message,
        "Severity": "Critical" if status >= 500 else "Warning",
        "MessageSeverity": "Critical" if status >= 500 else "Warning",
        "Resolution": "See the message; correct the request and resubmit it.",
    }
    body = {"error": {"code": message_id, "message": message, "@Message.ExtendedInfo": [info]}}
    return JSONResponse(body, status_code=status, headers={"OData-Version": "4.0"})


def lab_error(exc: LabError) -> Response:
    return error(exc.status, exc.message_id, str(exc))


def no_content() -> Response:
    return Response(status_code=204, headers={"OData-Version": "4.0"})


class BadRequest(Exception):
    """Raised by body readers; the app turns it into a 400 Redfish error."""

    def __init__(
        self, message: str, message_id: str = "PropertyValueTypeError", status: int = 400
    ) -> None:
        super().__init__(message)
        self.message_id = message_id
        self.status = status


async def capped_body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The request's body, or None as soon as it is larger than ``limit``: a huge body
    is never read whole into memory."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            return None
    return bytes(raw)


async def body_of(request: Request) -> dict[str, Any]:
    raw = await capped_body(request)
    if raw is None:
        raise BadRequest("request body is larger than 64 KiB", "GeneralError", 413)
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise BadRequest("the request body is not valid JSON", "MalformedJSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object", "MalformedJSON")
    return data


def get(path: str, handler: Callable[..., Any]) -> Route:
    return Route(path, handler, methods=["GET"])
