"""Managers: the enclosure manager that answers for every blade."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.redfish.common import ROOT, collection, doc, lab_of, ref, reply

MANAGERS = f"{ROOT}/Managers"
MANAGER = f"{MANAGERS}/EnclosureManager"


async def managers(request: Request) -> Response:
    return reply(collection(MANAGERS, "ManagerCollection", "Managers", [MANAGER]))


async def manager(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        systems = [ref(f"{ROOT}/Systems/{s.id}") for s in lab.systems()]
        chassis = [
            ref(f"{ROOT}/Chassis/Enclosure"),
            *(ref(f"{ROOT}/Chassis/{m}") for m in lab.machines),
        ]
    return reply(
        doc(
            MANAGER,
            "#Manager.v1_24_0.Manager",
            Name="Kanri Lab enclosure manager",
            ManagerType="EnclosureManager",
            FirmwareVersion="1.0.0",
            DateTime=lab.clock.wall().isoformat(timespec="seconds"),
            Status={"State": "Enabled", "Health": "OK"},
            Links={"ManagerForServers": systems, "ManagerForChassis": chassis},
        )
    )


def routes() -> list[Route]:
    return [
        Route(MANAGERS, managers, methods=["GET"]),
        Route(MANAGER, manager, methods=["GET"]),
    ]
