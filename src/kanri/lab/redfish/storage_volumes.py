"""The array as a Redfish Storage resource: its volumes, created and deleted by clients."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.redfish.common import (
    BadRequest,
    body_of,
    collection,
    doc,
    lab_of,
    no_content,
    ref,
    reply,
)
from kanri.lab.redfish.storage_common import (
    ENABLED_OK,
    FABRIC,
    STORAGE,
    STORAGE_COLLECTION,
    VOLUMES,
    expanded,
    free_id,
    only,
    volume_doc,
)

VOLUME_PROPERTIES = {"Id", "Name", "CapacityBytes"}


async def storage_list(request: Request) -> Response:
    return reply(collection(STORAGE_COLLECTION, "StorageCollection", "Storage", [STORAGE]))


async def storage(request: Request) -> Response:
    return reply(
        doc(
            STORAGE,
            "#Storage.v1_21_0.Storage",
            Name="Kanri Lab SAN array",
            Description=f"Volumes for SAN boot; its host groups are the Connections of {FABRIC}",
            Status=ENABLED_OK,
            Volumes=ref(VOLUMES),
        )
    )


async def volumes(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        body = collection(
            VOLUMES,
            "VolumeCollection",
            "Volumes",
            (f"{VOLUMES}/{v}" for v in sorted(lab.san.volumes)),
        )
        if expanded(request):
            body["Members"] = [
                volume_doc(lab.san, lab.san.volumes[v]) for v in sorted(lab.san.volumes)
            ]
    return reply(body)


async def volume(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        found = lab.san.volume(request.path_params["volume_id"])
        return reply(volume_doc(lab.san, found))


async def create_volume(request: Request) -> Response:
    """POST {"Id"?, "Name"?, "CapacityBytes"}: a new, empty, sparse volume."""
    lab = lab_of(request)
    data = await body_of(request)
    only(data, VOLUME_PROPERTIES)
    capacity = data.get("CapacityBytes")
    if capacity is None:
        raise BadRequest("CapacityBytes is required", "CreateFailedMissingReqProperties")
    if not isinstance(capacity, int) or isinstance(capacity, bool):
        raise BadRequest(f"CapacityBytes must be an integer number of bytes, not {capacity!r}")
    name = data.get("Name")
    if name is not None and not isinstance(name, str):
        raise BadRequest("Name must be a string")
    with lab.lock:
        volume_id = free_id(data.get("Id"), name, set(lab.san.volumes), "vol")
        created = lab.san.create_volume(volume_id, capacity, name or "")
        lab.record("san.volume_created", volume=volume_id, capacity_bytes=capacity)
        lab.storage_changed()
        body = volume_doc(lab.san, created)
    return reply(body, 201, {"Location": body["@odata.id"]})


async def delete_volume(request: Request) -> Response:
    """DELETE: refused (409) while any host group maps the volume."""
    lab = lab_of(request)
    volume_id = request.path_params["volume_id"]
    with lab.lock:
        lab.san.delete_volume(volume_id)
        lab.record("san.volume_deleted", volume=volume_id)
        lab.storage_changed()
    return no_content()


def routes() -> list[Route]:
    one = f"{VOLUMES}/{{volume_id}}"
    return [
        Route(STORAGE_COLLECTION, storage_list, methods=["GET"]),
        Route(STORAGE, storage, methods=["GET"]),
        Route(VOLUMES, volumes, methods=["GET"]),
        Route(VOLUMES, create_volume, methods=["POST"]),
        Route(one, volume, methods=["GET"]),
        Route(one, delete_volume, methods=["DELETE"]),
    ]
