"""Registries: the message registries behind every MessageId the lab writes.

The lab's own messages (boot and power trouble no standard registry names exactly) are
the ``KanriLab.1.0`` registry, served here in full. Component health changes use the
standard ResourceEvent messages, a cleared log LogService's, errors Base's (and
Composition's, for refused compositions); for those the lab points at DMTF's published
files rather than shipping copies.

The KanriLab messages take no arguments: the message text of each SEL entry and event
says the particulars (which LUN, which volume), as the lab writes them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.redfish.common import ROOT, collection, doc, error, reply

REGISTRIES = f"{ROOT}/Registries"
LAB_REGISTRY = "KanriLab.1.0.0"
# Standard registries the lab uses: Id -> the registry ("Prefix.Major.Minor").
STANDARD = {
    "Base.1.22.1": "Base.1.22",
    "ResourceEvent.1.4.3": "ResourceEvent.1.4",
    "LogService.1.1.0": "LogService.1.1",
    "Composition.1.1.3": "Composition.1.1",
}
PUBLISHED = "https://redfish.dmtf.org/registries"


def _message(description: str, message: str, severity: str, resolution: str) -> dict[str, Any]:
    return {
        "Description": description,
        "Message": message,
        "MessageSeverity": severity,
        "NumberOfArgs": 0,
        "Resolution": resolution,
    }


LAB_MESSAGES: dict[str, dict[str, Any]] = {
    "NoBootableDevice": _message(
        "The system found no bootable device: nothing is mapped at its boot LUN to the "
        "initiator identities it presents, or their storage paths are down.",
        "No bootable device.",
        "Critical",
        "Map the server's boot volume to an identity this system presents (host group or "
        "virtual WWPN/MAC), check its storage paths, and restart it.",
    ),
    "OsHalted": _message(
        "The operating system stopped after an I/O error: its boot volume went away while "
        "it ran (unmapped, or its storage path failed).",
        "The operating system halted on an I/O error.",
        "Critical",
        "Restore the volume's mapping or storage path, then restart the system.",
    ),
    "PowerLost": _message(
        "The machine lost its input power: it stopped without a shutdown, and its partitions "
        "with it.",
        "AC power lost.",
        "Critical",
        "Restore the machine's power feed; the machine stays off until started.",
    ),
    "PowerRestored": _message(
        "The machine's input power returned. It stays off until started.",
        "AC power restored.",
        "OK",
        "None.",
    ),
    "Nmi": _message(
        "A non-maskable interrupt was delivered to the system.",
        "NMI received.",
        "Critical",
        "Collect the OS crash dump, then restart the system.",
    ),
}


def lab_registry() -> dict[str, Any]:
    return doc(
        f"{REGISTRIES}/{LAB_REGISTRY}/{LAB_REGISTRY}",
        "#MessageRegistry.v1_7_0.MessageRegistry",
        Id=LAB_REGISTRY,
        Name="Kanri Lab Message Registry",
        Language="en",
        Description="Messages of the kanri lab's simulated machines.",
        RegistryPrefix="KanriLab",
        RegistryVersion="1.0.0",
        OwningEntity="Kanri",
        Messages=LAB_MESSAGES,
    )


def _file(registry_id: str) -> dict[str, Any] | None:
    path = f"{REGISTRIES}/{registry_id}"
    if registry_id == LAB_REGISTRY:
        registry = "KanriLab.1.0"
        location = {"Language": "en", "Uri": f"{path}/{LAB_REGISTRY}"}
    elif registry_id in STANDARD:
        registry = STANDARD[registry_id]
        location = {"Language": "en", "PublicationUri": f"{PUBLISHED}/{registry_id}.json"}
    else:
        return None
    return doc(
        path,
        "#MessageRegistryFile.v1_1_5.MessageRegistryFile",
        Name=f"{registry} message registry file",
        Languages=["en"],
        Registry=registry,
        Location=[location],
    )


async def registries(request: Request) -> Response:
    members = [f"{REGISTRIES}/{r}" for r in [LAB_REGISTRY, *STANDARD]]
    return reply(
        collection(REGISTRIES, "MessageRegistryFileCollection", "Message registries", members)
    )


async def registry_file(request: Request) -> Response:
    registry_id = request.path_params["registry_id"]
    body = _file(registry_id)
    if body is None:
        return error(404, "ResourceMissingAtURI", f"no registry {registry_id}")
    return reply(body)


async def registry(request: Request) -> Response:
    if request.path_params["registry_id"] != LAB_REGISTRY or (
        request.path_params["language"] != LAB_REGISTRY
    ):
        return error(404, "ResourceMissingAtURI", f"nothing at {request.url.path}")
    return reply(lab_registry())


def routes() -> list[Route]:
    return [
        Route(REGISTRIES, registries, methods=["GET"]),
        Route(f"{REGISTRIES}/{{registry_id}}", registry_file, methods=["GET"]),
        Route(f"{REGISTRIES}/{{registry_id}}/{{language}}", registry, methods=["GET"]),
    ]
