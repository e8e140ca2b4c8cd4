"""A machine's Bios resource and its Settings resource (what the next boot applies).

Clients change BIOS attributes the Redfish way: PATCH ``{"Attributes": {...}}`` to the
resource that ``@Redfish.Settings.SettingsObject`` names. Partitions have no BIOS.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model import bios
from kanri.lab.model.lab import LabError
from kanri.lab.model.systems import Machine
from kanri.lab.redfish.common import ROOT, BadRequest, body_of, doc, lab_of, reply

SYSTEMS = f"{ROOT}/Systems"
APPLY_TIMES = ["OnReset"]


def _machine(request: Request) -> Machine:
    lab = lab_of(request)
    system_id = request.path_params["system_id"]
    system = lab.system(system_id)
    if not isinstance(system, Machine):
        raise LabError(
            f"{system_id} is a partition: partitions have no BIOS (their host's firmware "
            "runs them)",
            "Base.1.22.ResourceMissingAtURI",
            404,
        )
    return system


def bios_doc(machine: Machine, pending: bool) -> dict[str, Any]:
    path = f"{SYSTEMS}/{machine.id}/Bios"
    if pending:
        return doc(
            f"{path}/Settings",
            "#Bios.v1_2_3.Bios",
            Name="BIOS pending settings",
            Description="The attributes the next boot applies",
            Attributes=bios.attributes(machine, pending=True),
        )
    body = doc(
        path,
        "#Bios.v1_2_3.Bios",
        Name="BIOS current settings",
        Description="The attributes in effect since the last boot",
        Attributes=bios.attributes(machine),
    )
    body["@Redfish.Settings"] = {
        "@odata.type": "#Settings.v1_4_0.Settings",
        "SettingsObject": {"@odata.id": f"{path}/Settings"},
        "SupportedApplyTimes": APPLY_TIMES,
    }
    return body


async def current(request: Request) -> Response:
    lab = lab_of(request)
    machine = _machine(request)
    with lab.lock:
        return reply(bios_doc(machine, pending=False))


async def settings(request: Request) -> Response:
    lab = lab_of(request)
    machine = _machine(request)
    with lab.lock:
        return reply(bios_doc(machine, pending=True))


async def patch_settings(request: Request) -> Response:
    lab = lab_of(request)
    machine = _machine(request)
    data = await body_of(request)
    unknown = set(data) - {"Attributes", "@Redfish.SettingsApplyTime"}
    if unknown:
        raise BadRequest(
            f"property {sorted(unknown)[0]} cannot be set here (only Attributes)",
            "PropertyUnknown",
        )
    attributes = data.get("Attributes")
    if not isinstance(attributes, dict) or not attributes:
        raise BadRequest("Attributes must be an object naming at least one attribute")
    apply = data.get("@Redfish.SettingsApplyTime", {})
    when = apply.get("ApplyTime", "OnReset") if isinstance(apply, dict) else None
    if when not in APPLY_TIMES:
        raise BadRequest(
            f"ApplyTime {when!r} is not supported: BIOS settings apply OnReset",
            "PropertyValueNotInList",
        )
    bios.set_attributes(lab, machine, attributes)
    with lab.lock:
        return reply(bios_doc(machine, pending=True))


def routes() -> list[Route]:
    s = f"{SYSTEMS}/{{system_id}}/Bios"
    return [
        Route(s, current, methods=["GET"]),
        Route(f"{s}/Settings", settings, methods=["GET"]),
        Route(f"{s}/Settings", patch_settings, methods=["PATCH"]),
    ]
