"""The CompositionService: resource blocks and zones of the hypervisor machines' pools,
and partitions composed (POST /Systems) and decomposed (DELETE /Systems/{id}).

Shapes follow DMTF's public-bladed-partitions and public-composability mockups: one
ResourceZone per machine (``{machine}-zone``), blocks that link the partitions using them.
Modifying a partition (PATCH /Systems/{id}) is in systems.py's PATCH, which hands the
Links / Oem part to compose_body.modify_from_body.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.composition import decompose
from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.pool import (
    GIB_PER_BLOCK,
    Block,
    BlockKind,
    BlockState,
    block_state,
    find_block,
    listed_blocks,
    pooled,
    usage,
)
from kanri.lab.model.systems import PortKind
from kanri.lab.redfish.common import ROOT, body_of, collection, doc, lab_of, no_content, ref, reply
from kanri.lab.redfish.compose_body import compose_from_body
from kanri.lab.redfish.systems import system_doc

SERVICE = f"{ROOT}/CompositionService"
BLOCKS = f"{SERVICE}/ResourceBlocks"
ZONES = f"{SERVICE}/ResourceZones"
SYSTEMS = f"{ROOT}/Systems"
_TYPES = {BlockKind.CPU: "Processor", BlockKind.MEMORY: "Memory", BlockKind.PORT: "Network"}
_ZONE_SUFFIX = "-zone"


async def service(request: Request) -> Response:
    return reply(
        doc(
            SERVICE,
            "#CompositionService.v1_2_3.CompositionService",
            Name="Composition Service",
            Description="Partitions composed from hypervisor machines' resource pools",
            Status={"State": "Enabled", "Health": "OK"},
            ServiceEnabled=True,
            AllowOverprovisioning=False,
            # a client may name the host (its zone) a composition comes from
            AllowZoneAffinity=True,
            ResourceBlocks=ref(BLOCKS),
            ResourceZones=ref(ZONES),
        )
    )


async def blocks(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        members = [f"{BLOCKS}/{b.id}" for b in listed_blocks(lab)]
    return reply(collection(BLOCKS, "ResourceBlockCollection", "Resource Blocks", members))


def _block_name(lab: Lab, block: Block) -> str:
    if block.kind is BlockKind.CPU:
        return f"{block.host} core {block.key}"
    if block.kind is BlockKind.MEMORY:
        return f"{block.host} memory {block.key} ({GIB_PER_BLOCK} GiB)"
    kind = next(p.kind for p in lab.machine(block.host).ports if p.id == block.key)
    what = "Fibre Channel" if kind is PortKind.FIBRE_CHANNEL else "Ethernet"
    return f"{block.host} {what} port {block.key}"


def block_doc(lab: Lab, block: Block) -> dict[str, Any]:
    machine = lab.machine(block.host)
    users = usage(lab, block.host).get(block.id, [])
    state = block_state(lab, block, users)
    status: dict[str, Any] = {
        "Reserved": bool(users),
        "CompositionState": str(state),
        "SharingCapable": block.sharable > 1,
        "MaxCompositions": block.sharable,
        "NumberOfCompositions": len(users),
    }
    if block.sharable > 1:
        status["SharingEnabled"] = bool(users) and all(u.shared for u in users)
    return doc(
        f"{BLOCKS}/{block.id}",
        "#ResourceBlock.v1_4_3.ResourceBlock",
        Name=_block_name(lab, block),
        ResourceBlockType=[_TYPES[block.kind]],
        Status={
            "State": "Disabled" if state is BlockState.UNAVAILABLE else "Enabled",
            "Health": str(machine.health),
        },
        CompositionStatus=status,
        Links={
            "ComputerSystems": [ref(f"{SYSTEMS}/{u.partition.id}") for u in users],
            "Chassis": [ref(f"{ROOT}/Chassis/{block.host}")],
            "Zones": [ref(f"{ZONES}/{block.host}{_ZONE_SUFFIX}")],
        },
    )


async def block(request: Request) -> Response:
    lab = lab_of(request)
    block_id = request.path_params["block_id"]
    with lab.lock:
        found = find_block(lab, block_id)
        if found is None or not pooled(lab, lab.machine(found.host)):
            raise LabError(f"no resource block {block_id}", "Base.1.22.ResourceMissingAtURI", 404)
        return reply(block_doc(lab, found))


async def zones(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        members = [f"{ZONES}/{m.id}{_ZONE_SUFFIX}" for m in lab.machines.values() if pooled(lab, m)]
    return reply(collection(ZONES, "ZoneCollection", "Resource Zones", members))


async def zone(request: Request) -> Response:
    lab = lab_of(request)
    zone_id = request.path_params["zone_id"]
    host = zone_id.removesuffix(_ZONE_SUFFIX)
    with lab.lock:
        machine = lab.machines.get(host)
        if not zone_id.endswith(_ZONE_SUFFIX) or machine is None or not pooled(lab, machine):
            raise LabError(f"no resource zone {zone_id}", "Base.1.22.ResourceMissingAtURI", 404)
        members = [ref(f"{BLOCKS}/{b.id}") for b in listed_blocks(lab) if b.host == host]
        return reply(
            doc(
                f"{ZONES}/{zone_id}",
                "#Zone.v1_6_3.Zone",
                Name=f"{host} resource pool",
                Description=f"The blocks partitions of {host} are composed from",
                ZoneType="ZoneOfResourceBlocks",
                Status={"State": "Enabled", "Health": str(machine.health)},
                Links={"ResourceBlocks": members},
            )
        )


async def compose(request: Request) -> Response:
    lab = lab_of(request)
    body = await body_of(request)
    with lab.lock:
        partition = compose_from_body(lab, body)
        path = f"{SYSTEMS}/{partition.id}"
        return reply(system_doc(lab, partition), 201, {"Location": path})


async def delete(request: Request) -> Response:
    decompose(lab_of(request), request.path_params["system_id"])
    return no_content()


def routes() -> list[Route]:
    return [
        Route(SERVICE, service, methods=["GET"]),
        Route(BLOCKS, blocks, methods=["GET"]),
        Route(f"{BLOCKS}/{{block_id}}", block, methods=["GET"]),
        Route(ZONES, zones, methods=["GET"]),
        Route(f"{ZONES}/{{zone_id}}", zone, methods=["GET"]),
        Route(SYSTEMS, compose, methods=["POST"]),
        Route(f"{SYSTEMS}/{{system_id}}", delete, methods=["DELETE"]),
    ]
