"""ComputerSystems: machines and partitions alike, with Reset, boot override, Processors,
Memory and EthernetInterfaces."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.states import Boot, ResetType
from kanri.lab.model.systems import ComponentKind, Machine, Partition, PortKind, System
from kanri.lab.redfish.common import (
    ROOT,
    BadRequest,
    body_of,
    collection,
    doc,
    error,
    lab_error,
    lab_of,
    no_content,
    ref,
    reply,
)
from kanri.lab.redfish.compose_body import modify_from_body

SYSTEMS = f"{ROOT}/Systems"
MANAGER = f"{ROOT}/Managers/EnclosureManager"
BOOT_TARGETS = ["None", "Pxe", "Hdd", "Cd", "Usb", "BiosSetup", "UefiTarget"]
RESET_TYPES = [str(t) for t in ResetType]
BOOT_SETTABLE = {"BootSourceOverrideTarget", "BootSourceOverrideEnabled", "BootSourceOverrideMode"}


def _system(request: Request) -> tuple[Lab, System]:
    lab = lab_of(request)
    return lab, lab.system(request.path_params["system_id"])


def _health(lab: Lab, system: System) -> str:
    if isinstance(system, Machine):
        return str(system.health)
    if isinstance(system, Partition):
        host = lab.machines.get(system.host)
        return str(host.health) if host else "OK"
    return "OK"


def _state(system: System) -> str:
    return "Enabled" if system.power.value == "On" else "StandbyOffline"


def system_doc(lab: Lab, system: System) -> dict[str, Any]:
    path = f"{SYSTEMS}/{system.id}"
    health = _health(lab, system)
    boot_progress: dict[str, Any] = {"LastState": str(system.boot)}
    if system.boot is Boot.OEM and system.oem_boot is not None:
        boot_progress["OemLastState"] = str(system.oem_boot)
    body = doc(
        path,
        "#ComputerSystem.v1_27_0.ComputerSystem",
        Name=system.name,
        UUID=system.uuid,
        PowerState=str(system.power),
        Status={"State": _state(system), "Health": health, "HealthRollup": health},
        BootProgress=boot_progress,
        Boot={
            "BootSourceOverrideEnabled": system.boot_override_enabled,
            "BootSourceOverrideTarget": system.boot_override,
            "BootSourceOverrideTarget@Redfish.AllowableValues": BOOT_TARGETS,
            "BootSourceOverrideMode": "UEFI",
        },
        Processors=ref(f"{path}/Processors"),
        Memory=ref(f"{path}/Memory"),
        EthernetInterfaces=ref(f"{path}/EthernetInterfaces"),
        NetworkInterfaces=ref(f"{path}/NetworkInterfaces"),
        LogServices=ref(f"{path}/LogServices"),
        Actions={
            "#ComputerSystem.Reset": {
                "target": f"{path}/Actions/ComputerSystem.Reset",
                "@Redfish.ActionInfo": f"{path}/ResetActionInfo",
            }
        },
        Links={"ManagedBy": [ref(MANAGER)]},
        Oem={"KanriLab": _oem(system)},
    )
    if isinstance(system, Machine):
        body.update(
            SystemType="Physical",
            Manufacturer=system.manufacturer,
            Model=system.model,
            SerialNumber=system.serial,
            # Summary Status is deprecated since ComputerSystem 1.16: health lives on
            # the Processors and Memory members, rolled up in the system's Status.
            ProcessorSummary={"Count": 2, "CoreCount": system.cores},
            MemorySummary={"TotalSystemMemoryGiB": system.memory_gib},
        )
        body["Links"]["Chassis"] = [ref(f"{ROOT}/Chassis/{system.id}")]
        body["Bios"] = ref(f"{path}/Bios")
    elif isinstance(system, Partition):
        body.update(
            SystemType="VirtuallyPartitioned",
            Manufacturer="Kanri Lab",
            Model="Kanri Lab Partition",
            ProcessorSummary={"CoreCount": system.cores},
            MemorySummary={"TotalSystemMemoryGiB": system.memory_gib},
        )
        body["Links"]["Chassis"] = [ref(f"{ROOT}/Chassis/{system.host}")]
        body["Links"]["ResourceBlocks"] = [
            ref(f"{ROOT}/CompositionService/ResourceBlocks/{b}") for b in system.resource_blocks
        ]
    return body


def _oem(system: System) -> dict[str, Any]:
    """What the lab says beyond the standard: the OS heartbeat (which volume the running
    OS booted from, since when) and, for partitions, the host."""
    oem: dict[str, Any] = {
        "@odata.type": "#KanriLab.v1_0_0.System",
        "BootVolume": system.booted_volume,
        "OsRunningSince": system.os_since,
    }
    if isinstance(system, Machine):
        oem["Mode"] = str(system.mode)
        oem["PendingMode"] = str(system.pending_mode) if system.pending_mode else None
    if isinstance(system, Partition):
        oem["Host"] = system.host
        # the rest of its layout, in the shape a compose request takes (Oem.KanriLab)
        oem["CpuMode"] = str(system.cpu_mode)
        oem["SharedWeight"] = system.shared_weight
        oem["Ports"] = [{"Port": p.host_port, "Shared": p.shared} for p in system.assigned_ports]
    return oem


async def systems(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        members = [f"{SYSTEMS}/{s.id}" for s in lab.systems()]
    return reply(collection(SYSTEMS, "ComputerSystemCollection", "Computer Systems", members))


async def one(request: Request) -> Response:
    lab, system = _system(request)
    with lab.lock:
        return reply(system_doc(lab, system))


async def patch(request: Request) -> Response:
    lab, system = _system(request)
    data = await body_of(request)
    # a partition's Links.ResourceBlocks / Oem.KanriLab change its resources
    unknown = set(data) - {"Boot"} - ({"Links", "Oem"} if isinstance(system, Partition) else set())
    if unknown:
        return error(400, "PropertyUnknown", f"property {sorted(unknown)[0]} cannot be set")
    boot = data.get("Boot", {})
    if not isinstance(boot, dict):
        raise BadRequest("Boot must be an object")
    unknown = set(boot) - BOOT_SETTABLE
    if unknown:
        return error(
            400,
            "PropertyUnknown",
            f"Boot.{sorted(unknown)[0]} cannot be set "
            f"(settable: {', '.join(sorted(BOOT_SETTABLE))})",
        )
    if boot.get("BootSourceOverrideMode", "UEFI") != "UEFI":
        return error(
            400,
            "PropertyValueNotInList",
            f"BootSourceOverrideMode {boot['BootSourceOverrideMode']!r} is not supported: "
            "the lab's blades boot UEFI only",
        )
    target = boot.get("BootSourceOverrideTarget")
    enabled = boot.get("BootSourceOverrideEnabled")
    if target is not None and target not in BOOT_TARGETS:
        return error(
            400,
            "PropertyValueNotInList",
            f"BootSourceOverrideTarget {target!r} is not one of {', '.join(BOOT_TARGETS)}",
        )
    if enabled is not None and enabled not in ("Disabled", "Once", "Continuous"):
        return error(
            400,
            "PropertyValueNotInList",
            f"BootSourceOverrideEnabled {enabled!r} is not Disabled, Once or Continuous",
        )
    with lab.lock:
        if isinstance(system, Partition):
            modify_from_body(lab, system, data)
        if target is not None:
            system.boot_override = target
        if enabled is not None:
            system.boot_override_enabled = enabled
        lab.record(
            "boot.override",
            system=system.id,
            target=system.boot_override,
            enabled=system.boot_override_enabled,
        )
    return no_content()


async def reset(request: Request) -> Response:
    lab, system = _system(request)
    data = await body_of(request)
    value = data.get("ResetType", "On")
    try:
        reset_type = ResetType(value)
    except ValueError:
        return error(
            400,
            "ActionParameterNotSupported",
            f"ResetType {value!r} is not one of {', '.join(RESET_TYPES)}",
        )
    try:
        lab.reset(system.id, reset_type)
    except LabError as exc:
        return lab_error(exc)
    return no_content()


async def reset_info(request: Request) -> Response:
    _lab, system = _system(request)
    path = f"{SYSTEMS}/{system.id}/ResetActionInfo"
    return reply(
        doc(
            path,
            "#ActionInfo.v1_5_0.ActionInfo",
            Name="Reset Action Info",
            Parameters=[
                {
                    "Name": "ResetType",
                    "Required": True,
                    "DataType": "String",
                    "AllowableValues": RESET_TYPES,
                }
            ],
        )
    )


async def processors(request: Request) -> Response:
    _lab, system = _system(request)
    path = f"{SYSTEMS}/{system.id}/Processors"
    ids = (
        [c.id for c in system.components if c.kind is ComponentKind.CPU]
        if isinstance(system, Machine)
        else []
    )
    return reply(
        collection(path, "ProcessorCollection", "Processors", (f"{path}/{i}" for i in ids))
    )


async def processor(request: Request) -> Response:
    _lab, system = _system(request)
    component = _component(system, request.path_params["item"], ComponentKind.CPU)
    per_socket = system.cores // 2 if isinstance(system, Machine) else 0
    return reply(
        doc(
            f"{SYSTEMS}/{system.id}/Processors/{component.id}",
            "#Processor.v1_22_0.Processor",
            Name=component.id,
            ProcessorType="CPU",
            TotalCores=per_socket,
            TotalThreads=per_socket * 2,
            Model="Kanri Lab CPU",
            Status={"State": "Enabled", "Health": str(component.health)},
        )
    )


async def memory(request: Request) -> Response:
    _lab, system = _system(request)
    path = f"{SYSTEMS}/{system.id}/Memory"
    ids = (
        [c.id for c in system.components if c.kind is ComponentKind.DIMM]
        if isinstance(system, Machine)
        else []
    )
    return reply(collection(path, "MemoryCollection", "Memory", (f"{path}/{i}" for i in ids)))


async def dimm(request: Request) -> Response:
    _lab, system = _system(request)
    component = _component(system, request.path_params["item"], ComponentKind.DIMM)
    dimms = (
        sum(1 for c in system.components if c.kind is ComponentKind.DIMM)
        if isinstance(system, Machine)
        else 1
    )
    size = (system.memory_gib * 1024) // max(1, dimms) if isinstance(system, Machine) else 0
    return reply(
        doc(
            f"{SYSTEMS}/{system.id}/Memory/{component.id}",
            "#Memory.v1_23_0.Memory",
            Name=component.id,
            MemoryDeviceType="DDR4",
            CapacityMiB=size,
            Status={"State": "Enabled", "Health": str(component.health)},
        )
    )


def _component(system: System, item: str, kind: ComponentKind) -> Any:
    if isinstance(system, Machine):
        for component in system.components:
            if component.id == item and component.kind is kind:
                return component
    raise LabError(f"no {kind} {item} on {system.id}", "Base.1.22.ResourceMissingAtURI", 404)


async def ethernet_interfaces(request: Request) -> Response:
    _lab, system = _system(request)
    path = f"{SYSTEMS}/{system.id}/EthernetInterfaces"
    ids = [p.id for p in system.ports if p.kind is PortKind.ETHERNET]
    return reply(
        collection(
            path, "EthernetInterfaceCollection", "Ethernet Interfaces", (f"{path}/{i}" for i in ids)
        )
    )


async def ethernet_interface(request: Request) -> Response:
    _lab, system = _system(request)
    item = request.path_params["item"]
    for port in system.ports:
        if port.id == item and port.kind is PortKind.ETHERNET:
            return reply(
                doc(
                    f"{SYSTEMS}/{system.id}/EthernetInterfaces/{port.id}",
                    "#EthernetInterface.v1_12_4.EthernetInterface",
                    Name=port.id,
                    MACAddress=port.presented,
                    PermanentMACAddress=port.permanent,
                    Status={"State": "Enabled", "Health": "OK"},
                )
            )
    return error(404, "ResourceMissingAtURI", f"no Ethernet interface {item} on {system.id}")


def routes() -> list[Route]:
    s = f"{SYSTEMS}/{{system_id}}"
    return [
        Route(SYSTEMS, systems, methods=["GET"]),
        Route(s, one, methods=["GET"]),
        Route(s, patch, methods=["PATCH"]),
        Route(f"{s}/Actions/ComputerSystem.Reset", reset, methods=["POST"]),
        Route(f"{s}/ResetActionInfo", reset_info, methods=["GET"]),
        Route(f"{s}/Processors", processors, methods=["GET"]),
        Route(f"{s}/Processors/{{item}}", processor, methods=["GET"]),
        Route(f"{s}/Memory", memory, methods=["GET"]),
        Route(f"{s}/Memory/{{item}}", dimm, methods=["GET"]),
        Route(f"{s}/EthernetInterfaces", ethernet_interfaces, methods=["GET"]),
        Route(f"{s}/EthernetInterfaces/{{item}}", ethernet_interface, methods=["GET"]),
    ]
