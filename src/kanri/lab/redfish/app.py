"""The lab's Redfish service as a Starlette app: authentication, BMC faults, routes.

Handlers are async and take the lab's lock only for in-memory work, so a BMC that is
told to answer slowly or not at all holds its own request, never the others.
"""

from __future__ import annotations

import base64
import binascii
import threading

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kanri.lab import control
from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.san import SanError
from kanri.lab.redfish import (
    adapters,
    bios,
    chassis,
    composition,
    events,
    logs,
    managers,
    metadata,
    registries,
    root,
    sessions,
    storage,
    systems,
)
from kanri.lab.redfish.common import ROOT, BadRequest, error, lab_error
from kanri.lab.redfish.sessions import SessionStore, credentials_match

MODULES = [
    root,
    metadata,
    sessions,
    systems,
    chassis,
    managers,
    composition,
    bios,
    adapters,
    storage,
    events,
    logs,
    registries,
]
OPEN_PATHS = {"/redfish", "/redfish/", f"{ROOT}", f"{ROOT}/", f"{ROOT}/odata", f"{ROOT}/$metadata"}
SILENT_MAX = 600.0  # real seconds a silent BMC holds a request before letting go


def _owner(lab: Lab, path: str) -> str | None:
    """The machine whose BMC a request is about: /Systems/<id>, /Chassis/<id>."""
    parts = path.split("/")
    if len(parts) > 4 and parts[3] in ("Systems", "Chassis"):
        system_id = parts[4]
        if system_id in lab.machines or system_id in lab.partitions:
            return lab.owner_machine(system_id)
    return None


def _authorized(request: Request, lab: Lab, store: SessionStore) -> bool:
    token = request.headers.get("x-auth-token")
    if token:
        return store.touch(token, lab.clock.now()) is not None
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        raw = base64.b64decode(header[6:])
    except (binascii.Error, ValueError):
        return False
    try:  # clients send UTF-8 (RFC 7617); older ones Latin-1
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    user, _, password = text.partition(":")
    return credentials_match(lab, user, password)


def create_app(lab: Lab) -> Starlette:
    route_list: list[BaseRoute] = []
    for module in MODULES:
        route_list.extend(module.routes())
    route_list.extend(control.routes())  # the lab's own JSON API, not Redfish
    app = Starlette(routes=route_list)
    app.state.lab = lab
    app.state.sessions = SessionStore()
    app.state.served = {r.path for r in route_list if isinstance(r, Route)}
    # Set by whoever stops the server: held requests and event streams end at once.
    app.state.stopping = threading.Event()
    events.install(app, lab)

    app.add_middleware(BmcMiddleware, lab=lab, store=app.state.sessions)

    async def on_lab_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LabError)
        return lab_error(exc)

    async def on_san_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SanError)
        status = 404 if exc.message_id.endswith("ResourceMissingAtURI") else 400
        if exc.message_id.endswith(("ResourceInUse", "ResourceAlreadyExists")):
            status = 409
        return error(status, exc.message_id, str(exc))

    async def on_bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return error(exc.status, exc.message_id, str(exc))

    async def on_missing(request: Request, exc: Exception) -> Response:
        return error(404, "ResourceMissingAtURI", f"nothing at {request.url.path}")

    async def on_method(request: Request, exc: Exception) -> Response:
        return error(
            405, "ActionNotSupported", f"{request.method} is not allowed on {request.url.path}"
        )

    async def on_bug(request: Request, exc: Exception) -> Response:
        # The traceback goes to the server's log (Starlette re-raises); the client gets
        # a Redfish error, not a plain-text 500.
        return error(500, "InternalError", "the lab failed to answer this request")

    app.add_exception_handler(Exception, on_bug)
    app.add_exception_handler(LabError, on_lab_error)
    app.add_exception_handler(SanError, on_san_error)
    app.add_exception_handler(BadRequest, on_bad_request)
    app.add_exception_handler(404, on_missing)
    app.add_exception_handler(405, on_method)
    return app


class BmcMiddleware:
    """What a BMC does before any handler: misbehave as a fault says, wait out its
    latency, and check credentials. Pure ASGI, so SSE streams pass through untouched."""

    def __init__(self, app: ASGIApp, lab: Lab, store: SessionStore) -> None:
        self.app = app
        self.lab = lab
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = await self._before(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _before(self, request: Request) -> Response | None:
        lab, path = self.lab, request.url.path
        owner = _owner(lab, path)
        # The control API is no BMC: it answers whatever the BMCs are told to do.
        keys = () if path.startswith("/lab/") else ("*", owner)
        for key in keys:
            fault = lab.bmc_faults.get(key) if key else None
            if fault is None or key is None:
                continue
            if fault.silent or fault.dead:
                await _hold(lab, key, request.app.state.stopping)
                return error(503, "ServiceTemporarilyUnavailable", "the BMC is not answering")
            if fault.unavailable:
                return error(
                    503, "ServiceTemporarilyUnavailable", "the BMC is temporarily unavailable"
                )
            if fault.slow:
                await anyio.sleep(lab.clock.real(fault.slow))
        if lab.timing.latency and keys:
            await anyio.sleep(lab.clock.real(lab.timing.latency))
        public = path in OPEN_PATHS or (
            request.method == "POST" and path.rstrip("/") == f"{ROOT}/SessionService/Sessions"
        )
        if not public and not _authorized(request, lab, self.store):
            response = error(401, "NoValidSession", "authentication is required")
            response.headers["WWW-Authenticate"] = 'Basic realm="kanri-lab"'
            return response
        return None


async def _hold(lab: Lab, key: str, stopping: threading.Event) -> None:
    """A silent BMC: keep the request until the fault clears, the service stops or
    SILENT_MAX passes."""
    with anyio.move_on_after(SILENT_MAX):
        while not stopping.is_set():
            fault = lab.bmc_faults.get(key)
            if fault is None or not (fault.silent or fault.dead):
                return
            await anyio.sleep(0.05)
