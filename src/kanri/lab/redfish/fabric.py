"""The SAN fabric: initiators as Endpoints, host groups as Connections.

A Connection is a host group: its ``Links.InitiatorEndpoints`` are the initiators, its
``VolumeInfo`` the volumes they see, each at its ``LUN``. Clients may name initiators by
identity in ``Oem.KanriLab.Initiators`` instead of by endpoint link, since an endpoint
exists only for an identity the array already knows. Every change is checked whole
before any of it takes effect, recorded in the lab's history, and followed by
``Lab.storage_changed`` (a running OS that lost its boot volume halts).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.lab import Lab
from kanri.lab.model.san import MAX_LUN, HostGroup, SanError, identity_kind, parse_identity
from kanri.lab.redfish.common import (
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
from kanri.lab.redfish.storage_common import (
    CONNECTIONS,
    ENABLED_OK,
    ENDPOINTS,
    FABRIC,
    FABRICS,
    PROTOCOLS,
    READ_WRITE,
    VOLUMES,
    connection_doc,
    endpoint_id,
    endpoint_path,
    etag,
    expanded,
    free_id,
    known_identities,
    only,
    ref_id,
)

CREATE_PROPERTIES = {"Id", "Name", "ConnectionType", "VolumeInfo", "Links", "Oem"}
PATCH_PROPERTIES = {"Name", "VolumeInfo", "Links", "Oem"}


async def fabrics(request: Request) -> Response:
    return reply(collection(FABRICS, "FabricCollection", "Fabrics", [FABRIC]))


async def fabric(request: Request) -> Response:
    return reply(
        doc(
            FABRIC,
            "#Fabric.v1_4_0.Fabric",
            Name="Kanri Lab SAN fabric",
            FabricType="FC",
            Status=ENABLED_OK,
            Endpoints=ref(ENDPOINTS),
            Connections=ref(CONNECTIONS),
        )
    )


# endpoints -----------------------------------------------------------------------------
def _endpoint_doc(lab: Lab, identity: str) -> dict[str, Any]:
    kind = identity_kind(identity)
    assert kind is not None  # known_identities() keeps only well-formed ones
    identifiers = [{"DurableName": identity, "DurableNameFormat": str(kind)}]
    path_down = identity in lab.san.failed_paths
    return doc(
        endpoint_path(identity),
        "#Endpoint.v1_8_2.Endpoint",
        Name=identity,
        EndpointProtocol=PROTOCOLS[kind],
        Identifiers=identifiers,
        ConnectedEntities=[
            {
                "EntityRole": "Initiator",
                "EntityType": "StorageInitiator",
                "Identifiers": identifiers,
            }
        ],
        Status={"State": "Enabled", "Health": "Critical" if path_down else "OK"},
    )


def _known(lab: Lab) -> dict[str, str]:
    """Endpoint id -> identity, for every initiator the array knows now."""
    return {endpoint_id(i): i for i in sorted(known_identities(lab.san, lab.systems()))}


async def endpoints(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        known = _known(lab)
        body = collection(
            ENDPOINTS, "EndpointCollection", "Endpoints", (f"{ENDPOINTS}/{e}" for e in known)
        )
        if expanded(request):
            body["Members"] = [_endpoint_doc(lab, i) for i in known.values()]
    return reply(body)


async def endpoint(request: Request) -> Response:
    lab = lab_of(request)
    wanted = request.path_params["endpoint_id"]
    with lab.lock:
        identity = _known(lab).get(wanted)
        if identity is None:
            return error(404, "ResourceMissingAtURI", f"no initiator endpoint {wanted}")
        return reply(_endpoint_doc(lab, identity))


# connections (host groups) -------------------------------------------------------------
def _group(lab: Lab, request: Request) -> HostGroup:
    return lab.san.host_group(request.path_params["connection_id"])


def _connection_reply(group: HostGroup, status: int = 200) -> Response:
    body = connection_doc(group)
    headers = {"ETag": etag(body)}
    if status == 201:
        headers["Location"] = body["@odata.id"]
    return reply(body, status, headers)


async def connections(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        ids = sorted(lab.san.host_groups)
        body = collection(
            CONNECTIONS, "ConnectionCollection", "Connections", (f"{CONNECTIONS}/{g}" for g in ids)
        )
        if expanded(request):
            body["Members"] = [connection_doc(lab.san.host_groups[g]) for g in ids]
    return reply(body)


async def connection(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        return _connection_reply(_group(lab, request))


def _initiators(lab: Lab, data: dict[str, Any]) -> set[str] | None:
    """The initiators a body names (endpoint links and Oem identities together), or None
    when it names none: a PATCH without them keeps the group's."""
    links = data.get("Links", {})
    oem = data.get("Oem", {})
    if not isinstance(links, dict) or not isinstance(oem, dict):
        raise BadRequest("Links and Oem must be objects")
    kanri = oem.get("KanriLab", {})
    if not isinstance(kanri, dict):
        raise BadRequest("Oem.KanriLab must be an object")
    # A misspelt key would otherwise read as "no initiators given" and be ignored.
    for where, given, allowed in (
        ("Links", links, {"InitiatorEndpoints", "InitiatorEndpoints@odata.count"}),
        ("Oem", oem, {"KanriLab"}),
        ("Oem.KanriLab", kanri, {"Initiators", "@odata.type"}),
    ):
        unknown = sorted(set(given) - allowed)
        if unknown:
            raise BadRequest(
                f"{where}.{unknown[0]} is not known here (there: {', '.join(sorted(allowed))})",
                "PropertyUnknown",
            )
    if "InitiatorEndpoints" not in links and "Initiators" not in kanri:
        return None
    found: set[str] = set()
    endpoint_refs = links.get("InitiatorEndpoints", [])
    if not isinstance(endpoint_refs, list):
        raise BadRequest("Links.InitiatorEndpoints must be a list of endpoint links")
    known = _known(lab)
    for item in endpoint_refs:
        wanted = ref_id(item, ENDPOINTS, "initiator endpoint")
        if wanted not in known:
            raise BadRequest(
                f"no initiator endpoint {wanted}; name a new initiator in Oem.KanriLab.Initiators",
                "ResourceNotFound",
                404,
            )
        found.add(known[wanted])
    identities = kanri.get("Initiators", [])
    if not isinstance(identities, list):
        raise BadRequest("Oem.KanriLab.Initiators must be a list of WWPNs, MACs or IQNs")
    found |= {parse_identity(i) for i in identities}
    return found


def _luns(lab: Lab, data: dict[str, Any], taken: dict[int, str]) -> dict[int, str] | None:
    """LUN -> volume from ``VolumeInfo`` (the whole new list), or None when absent. An entry
    without a LUN gets the lowest one free."""
    if "VolumeInfo" not in data:
        return None
    entries = data["VolumeInfo"]
    if not isinstance(entries, list):
        raise BadRequest("VolumeInfo must be a list")
    luns: dict[int, str] = {}
    pending: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadRequest("each VolumeInfo entry must be an object with a Volume link")
        only(entry, {"Volume", "LUN", "AccessCapabilities"})
        volume_id = ref_id(entry.get("Volume"), VOLUMES, "volume")
        if volume_id not in lab.san.volumes:
            raise BadRequest(f"no volume {volume_id}", "ResourceNotFound", 404)
        access = entry.get("AccessCapabilities", READ_WRITE)
        if (
            not isinstance(access, list)
            or not all(isinstance(a, str) for a in access)
            or sorted(access) != READ_WRITE
        ):
            raise BadRequest(
                "the lab maps volumes read-write only: AccessCapabilities must be "
                '["Read", "Write"]',
                "PropertyValueNotInList",
            )
        lun = entry.get("LUN")
        if lun is None:
            pending.append(volume_id)
            continue
        if not isinstance(lun, int) or isinstance(lun, bool):
            raise BadRequest(f"LUN must be an integer, not {lun!r}")
        if lun in luns:
            raise BadRequest(f"LUN {lun} is given twice", "PropertyValueConflict")
        luns[lun] = volume_id
    for volume_id in pending:
        kept = [n for n, v in taken.items() if v == volume_id and n not in luns]
        free = kept or [n for n in range(MAX_LUN + 1) if n not in luns]
        if not free:
            raise BadRequest(f"no free LUN for volume {volume_id}", "PropertyValueOutOfRange")
        luns[free[0]] = volume_id
    return luns


def _record_changes(
    lab: Lab, group: HostGroup, before: dict[int, str], old_initiators: set[str]
) -> None:
    for lun, volume in sorted(before.items()):
        if group.luns.get(lun) != volume:
            lab.record("san.unmap", group=group.id, volume=volume, lun=lun)
    for lun, volume in sorted(group.luns.items()):
        if before.get(lun) != volume:
            lab.record(
                "san.map",
                group=group.id,
                volume=volume,
                lun=lun,
                initiators=sorted(group.initiators),
            )
    if group.initiators != old_initiators:
        lab.record(
            "san.initiators",
            group=group.id,
            added=sorted(group.initiators - old_initiators),
            removed=sorted(old_initiators - group.initiators),
        )


async def create_connection(request: Request) -> Response:
    """POST: a host group from initiators and volume/LUN pairs, all or nothing."""
    lab = lab_of(request)
    data = await body_of(request)
    only(data, CREATE_PROPERTIES)
    if data.get("ConnectionType", "Storage") != "Storage":
        raise BadRequest("ConnectionType must be Storage", "PropertyValueNotInList")
    name = data.get("Name")
    if name is not None and not isinstance(name, str):
        raise BadRequest("Name must be a string")
    with lab.lock:
        group_id = free_id(data.get("Id"), name, set(lab.san.host_groups), "hg")
        initiators = _initiators(lab, data) or set()
        luns = _luns(lab, data, {}) or {}
        group = lab.san.create_host_group(group_id, initiators, name or "")
        try:
            lab.san.set_luns(group_id, luns)
        except SanError:
            lab.san.delete_host_group(group_id)
            raise
        lab.record("san.host_group_created", group=group_id, initiators=sorted(initiators))
        _record_changes(lab, group, {}, group.initiators)
        lab.storage_changed()
        return _connection_reply(group, 201)


async def patch_connection(request: Request) -> Response:
    """PATCH: new initiators and/or a new VolumeInfo list (the whole list, as a PATCH of
    an array replaces it). With If-Match, refused (412) if the group changed since read."""
    lab = lab_of(request)
    data = await body_of(request)
    only(data, PATCH_PROPERTIES)
    name = data.get("Name")
    if name is not None and not isinstance(name, str):
        raise BadRequest("Name must be a string")
    with lab.lock:
        group = _group(lab, request)
        wanted = request.headers.get("if-match")
        if wanted not in (None, "*", etag(connection_doc(group))):
            return error(
                412, "PreconditionFailed", f"host group {group.id} changed since it was read"
            )
        initiators = _initiators(lab, data)
        luns = _luns(lab, data, group.luns)
        before, old_initiators, old_name = dict(group.luns), set(group.initiators), group.name
        try:
            if initiators is not None:
                lab.san.set_initiators(group.id, initiators)
            if luns is not None:
                lab.san.set_luns(group.id, luns)
        except SanError:
            group.luns, group.initiators = before, old_initiators
            raise
        group.name = name or old_name
        _record_changes(lab, group, before, old_initiators)
        lab.storage_changed()
        return _connection_reply(group)


async def delete_connection(request: Request) -> Response:
    """DELETE: the host group and every mapping in it (its initiators see nothing more)."""
    lab = lab_of(request)
    with lab.lock:
        group = _group(lab, request)
        lab.san.delete_host_group(group.id)
        for lun, volume in sorted(group.luns.items()):
            lab.record("san.unmap", group=group.id, volume=volume, lun=lun)
        lab.record("san.host_group_deleted", group=group.id)
        lab.storage_changed()
    return no_content()


def routes() -> list[Route]:
    one_endpoint = f"{ENDPOINTS}/{{endpoint_id}}"
    one = f"{CONNECTIONS}/{{connection_id}}"
    return [
        Route(FABRICS, fabrics, methods=["GET"]),
        Route(FABRIC, fabric, methods=["GET"]),
        Route(ENDPOINTS, endpoints, methods=["GET"]),
        Route(one_endpoint, endpoint, methods=["GET"]),
        Route(CONNECTIONS, connections, methods=["GET"]),
        Route(CONNECTIONS, create_connection, methods=["POST"]),
        Route(one, connection, methods=["GET"]),
        Route(one, patch_connection, methods=["PATCH"]),
        Route(one, delete_connection, methods=["DELETE"]),
    ]
