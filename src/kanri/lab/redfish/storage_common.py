"""What the lab's storage resources share: their paths, the documents of volumes and
host groups, and reading references to volumes and endpoints out of request bodies."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request

from kanri.lab.model.san import HostGroup, IdentityKind, San, Volume, identity_kind, valid_id
from kanri.lab.model.states import Power
from kanri.lab.model.systems import PortKind, System
from kanri.lab.redfish.common import ROOT, BadRequest, doc, ref

STORAGE_ID = "SAN"
STORAGE_COLLECTION = f"{ROOT}/Storage"
STORAGE = f"{STORAGE_COLLECTION}/{STORAGE_ID}"
VOLUMES = f"{STORAGE}/Volumes"
FABRICS = f"{ROOT}/Fabrics"
FABRIC = f"{FABRICS}/{STORAGE_ID}"
ENDPOINTS = f"{FABRIC}/Endpoints"
CONNECTIONS = f"{FABRIC}/Connections"
OEM_CONNECTION = "#KanriLab.v1_0_0.Connection"
READ_WRITE = ["Read", "Write"]
ENABLED_OK = {"State": "Enabled", "Health": "OK"}

# Redfish's EndpointProtocol for each kind of initiator the array accepts.
PROTOCOLS = {IdentityKind.WWPN: "FC", IdentityKind.IQN: "iSCSI", IdentityKind.MAC: "Ethernet"}


def expanded(request: Request) -> bool:
    """``$expand`` asked for (any level): collections then carry whole members, so a client
    reads the array in one request instead of one per volume."""
    return "$expand" in request.query_params


def endpoint_id(identity: str) -> str:
    """An identity as a URI segment: colons (WWPN, MAC, IQN) become dashes."""
    return identity.replace(":", "-")


def endpoint_path(identity: str) -> str:
    return f"{ENDPOINTS}/{endpoint_id(identity)}"


def volume_doc(san: San, volume: Volume) -> dict[str, Any]:
    return doc(
        f"{VOLUMES}/{volume.id}",
        "#Volume.v1_10_2.Volume",
        Name=volume.name,
        CapacityBytes=volume.capacity_bytes,
        BlockSizeBytes=512,
        Identifiers=[{"DurableName": volume.naa, "DurableNameFormat": "NAA"}],
        Status=ENABLED_OK,
        Connections=[ref(f"{CONNECTIONS}/{g.id}") for g in san.groups_of(volume.id)],
        Links={"OwningStorageResource": ref(STORAGE)},
    )


def connection_doc(group: HostGroup) -> dict[str, Any]:
    initiators = sorted(group.initiators)
    return doc(
        f"{CONNECTIONS}/{group.id}",
        "#Connection.v1_4_0.Connection",
        Name=group.name,
        ConnectionType="Storage",
        Status=ENABLED_OK,
        VolumeInfo=[
            {"Volume": ref(f"{VOLUMES}/{volume}"), "LUN": lun, "AccessCapabilities": READ_WRITE}
            for lun, volume in sorted(group.luns.items())
        ],
        Links={"InitiatorEndpoints": [ref(endpoint_path(i)) for i in initiators]},
        # The identities themselves, so a client needs no request per endpoint to learn
        # which WWPNs a host group holds.
        Oem={"KanriLab": {"@odata.type": OEM_CONNECTION, "Initiators": initiators}},
    )


def etag(body: dict[str, Any]) -> str:
    """A strong ETag of a document: a PATCH with If-Match changes only what its sender
    read, so two managers mapping LUNs at once cannot undo each other's work."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f'"{digest[:20]}"'


def known_identities(san: San, systems: list[System]) -> set[str]:
    """The initiators the array knows: those in host groups, and the Fibre Channel ports of
    running systems (logged in to the fabric, as a switch's name server lists them)."""
    found = {i for g in san.host_groups.values() for i in g.initiators}
    for system in systems:
        if system.power is not Power.OFF:
            found |= {p.presented for p in system.ports if p.kind is PortKind.FIBRE_CHANNEL}
    return {i for i in found if identity_kind(i) is not None}


def ref_id(value: object, prefix: str, what: str) -> str:
    """The last segment of ``{"@odata.id": "<prefix>/<id>"}``, or a 400 saying what is wrong."""
    path = value.get("@odata.id") if isinstance(value, dict) else None
    if not isinstance(path, str):
        raise BadRequest(f'a {what} must be given as {{"@odata.id": "{prefix}/<id>"}}')
    head, _, tail = path.rstrip("/").rpartition("/")
    if head != prefix or not tail:
        raise BadRequest(
            f"{path} is not a {what} of this array (expected {prefix}/<id>)",
            "ResourceNotFound",
            404,
        )
    return tail


def only(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed - {"@odata.type", "@odata.id"})
    if unknown:
        raise BadRequest(
            f"property {unknown[0]} cannot be set here (allowed: {', '.join(sorted(allowed))})",
            "PropertyUnknown",
        )


def free_id(wanted: object, name: object, taken: set[str], prefix: str) -> str:
    """The id a new resource gets: the one asked for, else its name when that makes a
    valid free id, else ``<prefix>-<n>``."""
    if wanted is not None:
        if not isinstance(wanted, str):
            raise BadRequest("Id must be a string")
        return wanted
    if isinstance(name, str) and name not in taken and valid_id(name):
        return name
    n = 1
    while f"{prefix}-{n}" in taken:
        n += 1
    return f"{prefix}-{n}"
