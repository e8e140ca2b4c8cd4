"""The service root and the OData service document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kanri.lab.config import system_uuid
from kanri.lab.redfish.common import ROOT, ref, reply

# Top-level services, in the order the root lists them: (key, path)
SERVICES = [
    ("Systems", f"{ROOT}/Systems"),
    ("Chassis", f"{ROOT}/Chassis"),
    ("Managers", f"{ROOT}/Managers"),
    ("SessionService", f"{ROOT}/SessionService"),
    ("EventService", f"{ROOT}/EventService"),
    ("CompositionService", f"{ROOT}/CompositionService"),
    ("Storage", f"{ROOT}/Storage"),
    ("Fabrics", f"{ROOT}/Fabrics"),
    ("Registries", f"{ROOT}/Registries"),
]


async def version(request: Request) -> Response:
    return JSONResponse({"v1": f"{ROOT}/"})


async def service_root(request: Request) -> Response:
    body: dict[str, object] = {
        "@odata.id": f"{ROOT}/",
        "@odata.type": "#ServiceRoot.v1_20_0.ServiceRoot",
        "Id": "RootService",
        "Name": "Kanri Lab Root Service",
        "RedfishVersion": "1.15.0",
        "UUID": system_uuid("service-root"),
        "Vendor": "Kanri Lab",
        "Links": {"Sessions": ref(f"{ROOT}/SessionService/Sessions")},
    }
    for key, path in SERVICES:
        if path in request.app.state.served:
            body[key] = ref(path)
    return reply(body)


async def odata(request: Request) -> Response:
    values = [
        {"name": key, "kind": "Singleton", "url": path}
        for key, path in SERVICES
        if path in request.app.state.served
    ]
    values.insert(0, {"name": "Service", "kind": "Singleton", "url": f"{ROOT}/"})
    return JSONResponse(
        {"@odata.context": f"{ROOT}/$metadata", "value": values}, headers={"OData-Version": "4.0"}
    )


def routes() -> list[Route]:
    return [
        Route("/redfish", version, methods=["GET"]),
        Route("/redfish/", version, methods=["GET"]),
        Route(f"{ROOT}/", service_root, methods=["GET"]),
        Route(ROOT, service_root, methods=["GET"]),
        Route(f"{ROOT}/odata", odata, methods=["GET"]),
    ]
