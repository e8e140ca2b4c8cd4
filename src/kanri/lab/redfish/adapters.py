"""Adapter ports as Redfish sees them: NetworkAdapters under each blade's chassis (one
Ethernet adapter "NIC", one Fibre Channel adapter "HBA"), their NetworkDeviceFunctions,
and each system's NetworkInterfaces, which link the functions that system uses.

Function ids: a physical port's function is the port id (``fc0``); a partition's
virtual function on a shared port is ``{partition}-{port}`` (``app-1-fc0``), on the
host's adapter. A port dedicated to a partition is the host's physical function, listed
under both the host and the partition.

``FibreChannel.WWPN`` / ``Ethernet.MACAddress`` show the configured identity (a PATCH
sets it; ``null`` or the permanent value restores the permanent one); it is presented
from the owning system's next boot on, and ``Oem.KanriLab.Presented`` shows what the
port presents now. ``FibreChannel.BootTargets[0].LUNID`` is the LUN the owning system
boots from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.identities import checked_address, set_address, set_boot_lun
from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.san import MAX_LUN
from kanri.lab.model.systems import Machine, Partition, Port, PortKind, System
from kanri.lab.redfish.common import (
    ROOT,
    BadRequest,
    body_of,
    collection,
    doc,
    lab_of,
    ref,
    reply,
)

CHASSIS = f"{ROOT}/Chassis"
SYSTEMS = f"{ROOT}/Systems"
ADAPTERS = {"NIC": PortKind.ETHERNET, "HBA": PortKind.FIBRE_CHANNEL}
# The storage array's target port every FC function boots from (Hitachi's OUI, a nod
# to the paper kanri comes from).
ARRAY_WWPN = "50:06:0e:80:6b:00:00:01"


@dataclass(frozen=True)
class Function:
    id: str
    adapter: str  # NIC | HBA
    port: Port
    owner: System  # whose identity it is and whose boot target it holds
    virtual: bool

    def path(self, machine: str) -> str:
        return (
            f"{CHASSIS}/{machine}/NetworkAdapters/{self.adapter}/NetworkDeviceFunctions/{self.id}"
        )


def _adapter_of(kind: PortKind) -> str:
    return "HBA" if kind is PortKind.FIBRE_CHANNEL else "NIC"


def functions(lab: Lab, machine: Machine) -> list[Function]:
    """Every function on ``machine``'s adapters: physical ones, then partitions' virtual
    ones."""
    hosted = sorted(
        (p for p in lab.partitions.values() if p.host == machine.id), key=lambda p: p.id
    )
    dedicated: dict[str, Partition] = {
        pp.host_port: p for p in hosted for pp in p.assigned_ports if not pp.shared
    }
    found = [
        Function(port.id, _adapter_of(port.kind), port, dedicated.get(port.id, machine), False)
        for port in machine.ports
    ]
    for partition in hosted:
        for pp, port in zip(partition.assigned_ports, partition.ports, strict=False):
            if pp.shared:
                found.append(
                    Function(
                        f"{partition.id}-{port.id}", _adapter_of(port.kind), port, partition, True
                    )
                )
    return found


def _host_of(lab: Lab, system: System) -> Machine:
    return lab.machine(system.host) if isinstance(system, Partition) else lab.machine(system.id)


def system_functions(lab: Lab, system: System) -> list[Function]:
    """The functions whose ports ``system`` presents, in the order of its ports."""
    by_port = {id(f.port): f for f in functions(lab, _host_of(lab, system))}
    return [by_port[id(p)] for p in system.ports if id(p) in by_port]


def _adapter(request: Request) -> tuple[Lab, Machine, str]:
    lab = lab_of(request)
    machine = lab.machine(request.path_params["chassis_id"])
    adapter = request.path_params.get("adapter", "")
    if adapter and not any(p.kind is ADAPTERS.get(adapter) for p in machine.ports):
        raise LabError(
            f"{machine.id} has no network adapter {adapter}",
            "Base.1.22.ResourceMissingAtURI",
            404,
        )
    return lab, machine, adapter


async def adapters(request: Request) -> Response:
    lab, machine, _ = _adapter(request)
    path = f"{CHASSIS}/{machine.id}/NetworkAdapters"
    with lab.lock:
        names = [a for a, kind in ADAPTERS.items() if any(p.kind is kind for p in machine.ports)]
    return reply(
        collection(
            path, "NetworkAdapterCollection", "Network Adapters", (f"{path}/{a}" for a in names)
        )
    )


async def adapter(request: Request) -> Response:
    _lab, machine, name = _adapter(request)
    path = f"{CHASSIS}/{machine.id}/NetworkAdapters/{name}"
    fc = ADAPTERS[name] is PortKind.FIBRE_CHANNEL
    return reply(
        doc(
            path,
            "#NetworkAdapter.v1_14_0.NetworkAdapter",
            Name="Fibre Channel HBA" if fc else "Ethernet adapter",
            Manufacturer="Kanri Lab",
            Model="Kanri Lab HBA F2" if fc else "Kanri Lab NIC E2",
            Status={"State": "Enabled", "Health": "OK"},
            NetworkDeviceFunctions=ref(f"{path}/NetworkDeviceFunctions"),
        )
    )


async def adapter_functions(request: Request) -> Response:
    lab, machine, name = _adapter(request)
    path = f"{CHASSIS}/{machine.id}/NetworkAdapters/{name}/NetworkDeviceFunctions"
    with lab.lock:
        members = [f.path(machine.id) for f in functions(lab, machine) if f.adapter == name]
    return reply(
        collection(path, "NetworkDeviceFunctionCollection", "Network Device Functions", members)
    )


def _function(request: Request) -> tuple[Lab, Machine, Function]:
    lab, machine, name = _adapter(request)
    function_id = request.path_params["function_id"]
    for function in functions(lab, machine):
        if function.adapter == name and function.id == function_id:
            return lab, machine, function
    raise LabError(
        f"{machine.id} adapter {name} has no function {function_id}",
        "Base.1.22.ResourceMissingAtURI",
        404,
    )


def function_doc(machine: Machine, function: Function) -> dict[str, Any]:
    port, owner = function.port, function.owner
    fc = port.kind is PortKind.FIBRE_CHANNEL
    kind = "FibreChannel" if fc else "Ethernet"
    body = doc(
        function.path(machine.id),
        "#NetworkDeviceFunction.v1_11_1.NetworkDeviceFunction",
        Name=f"{owner.id} virtual {port.id}" if function.virtual else f"{machine.id} {port.id}",
        NetDevFuncType=kind,
        NetDevFuncCapabilities=[kind],
        DeviceEnabled=True,
        BootMode="FibreChannel" if fc else "Disabled",
        Status={"State": "Enabled", "Health": "OK"},
        Oem={
            "KanriLab": {
                "@odata.type": "#KanriLab.v1_0_0.NetworkDeviceFunction",
                "Presented": port.presented,
                "System": owner.id,
                "Virtual": function.virtual,
            }
        },
    )
    if fc:
        body["FibreChannel"] = {
            "PermanentWWPN": port.permanent,
            "WWPN": port.configured,
            "WWNSource": "ConfiguredLocally",
            "BootTargets": [{"WWPN": ARRAY_WWPN, "LUNID": str(owner.boot_lun), "BootPriority": 0}],
        }
    else:
        body["Ethernet"] = {"PermanentMACAddress": port.permanent, "MACAddress": port.configured}
        body["Links"] = {
            "EthernetInterfaces": [ref(f"{SYSTEMS}/{owner.id}/EthernetInterfaces/{port.id}")]
        }
    return body


async def function(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        _lab, machine, found = _function(request)
        return reply(function_doc(machine, found))


async def patch_function(request: Request) -> Response:
    data = await body_of(request)
    lab = lab_of(request)
    with lab.lock:
        _lab, machine, found = _function(request)
        fc = found.port.kind is PortKind.FIBRE_CHANNEL
        section = "FibreChannel" if fc else "Ethernet"
        address_key = "WWPN" if fc else "MACAddress"
        writable = {address_key, "BootTargets"} if fc else {address_key}
        unknown = set(data) - {section}
        if unknown:
            name = sorted(unknown)[0]
            raise BadRequest(
                f"{name} cannot be set on {section} function {found.id}"
                if name in ("FibreChannel", "Ethernet")
                else f"property {name} cannot be set (only {section})",
                "PropertyUnknown",
            )
        changes = data.get(section)
        if not isinstance(changes, dict):
            raise BadRequest(f"{section} must be an object")
        extra = set(changes) - writable
        if extra:
            raise BadRequest(
                f"{section}.{sorted(extra)[0]} cannot be set (settable: "
                f"{', '.join(sorted(writable))})",
                "PropertyNotWritable",
            )
        # everything is checked before anything changes
        lun = _boot_lun(changes["BootTargets"]) if "BootTargets" in changes else None
        value = changes.get(address_key)
        if value is not None:
            if not isinstance(value, str):
                raise BadRequest(f"{section}.{address_key} must be a text or null")
            checked_address(found.port.kind, value)
        if address_key in changes:
            set_address(lab, found.owner, found.port, value)
        if lun is not None:
            set_boot_lun(lab, found.owner, lun)
        return reply(function_doc(machine, found))


def _boot_lun(targets: Any) -> int:
    """The LUN of the first boot target by priority: the lab boots one volume."""
    if (
        not isinstance(targets, list)
        or not targets
        or not all(isinstance(t, dict) for t in targets)
    ):
        raise BadRequest('BootTargets must be a list like [{"LUNID": "0"}]')

    def priority(target: dict[str, Any]) -> int:
        value = target.get("BootPriority", 0)
        return value if isinstance(value, int) else 0

    text = min(targets, key=priority).get("LUNID")
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    # ASCII digits only: str.isdigit() takes "²", which int() refuses
    if not isinstance(text, str) or not re.fullmatch(r"\s*[0-9]+\s*", text) or int(text) > MAX_LUN:
        raise BadRequest(
            f'BootTargets LUNID must be a LUN number 0-{MAX_LUN} like "0", not {text!r}',
            "PropertyValueFormatError",
        )
    return int(text)


# a system's view ---------------------------------------------------------------------------
def _system(request: Request) -> tuple[Lab, System]:
    lab = lab_of(request)
    return lab, lab.system(request.path_params["system_id"])


def _interface_names(lab: Lab, system: System) -> list[str]:
    used = {f.adapter for f in system_functions(lab, system)}
    return [a for a in ADAPTERS if a in used]


async def interfaces(request: Request) -> Response:
    lab, system = _system(request)
    path = f"{SYSTEMS}/{system.id}/NetworkInterfaces"
    with lab.lock:
        names = _interface_names(lab, system)
    return reply(
        collection(
            path, "NetworkInterfaceCollection", "Network Interfaces", (f"{path}/{n}" for n in names)
        )
    )


def _interface(request: Request) -> tuple[Lab, System, str, Machine]:
    lab, system = _system(request)
    name = request.path_params["interface"]
    if name not in _interface_names(lab, system):
        raise LabError(
            f"{system.id} has no network interface {name}", "Base.1.22.ResourceMissingAtURI", 404
        )
    return lab, system, name, _host_of(lab, system)


async def interface(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        _lab, system, name, host = _interface(request)
        path = f"{SYSTEMS}/{system.id}/NetworkInterfaces/{name}"
        return reply(
            doc(
                path,
                "#NetworkInterface.v1_2_3.NetworkInterface",
                Name="Fibre Channel interface" if name == "HBA" else "Ethernet interface",
                Status={"State": "Enabled", "Health": "OK"},
                NetworkDeviceFunctions=ref(f"{path}/NetworkDeviceFunctions"),
                Links={"NetworkAdapter": ref(f"{CHASSIS}/{host.id}/NetworkAdapters/{name}")},
            )
        )


async def interface_functions(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        _lab, system, name, host = _interface(request)
        path = f"{SYSTEMS}/{system.id}/NetworkInterfaces/{name}/NetworkDeviceFunctions"
        members = [f.path(host.id) for f in system_functions(lab, system) if f.adapter == name]
    return reply(
        collection(path, "NetworkDeviceFunctionCollection", "Network Device Functions", members)
    )


def routes() -> list[Route]:
    a = f"{CHASSIS}/{{chassis_id}}/NetworkAdapters"
    i = f"{SYSTEMS}/{{system_id}}/NetworkInterfaces"
    return [
        Route(a, adapters, methods=["GET"]),
        Route(f"{a}/{{adapter}}", adapter, methods=["GET"]),
        Route(f"{a}/{{adapter}}/NetworkDeviceFunctions", adapter_functions, methods=["GET"]),
        Route(f"{a}/{{adapter}}/NetworkDeviceFunctions/{{function_id}}", function, methods=["GET"]),
        Route(
            f"{a}/{{adapter}}/NetworkDeviceFunctions/{{function_id}}",
            patch_function,
            methods=["PATCH"],
        ),
        Route(i, interfaces, methods=["GET"]),
        Route(f"{i}/{{interface}}", interface, methods=["GET"]),
        Route(f"{i}/{{interface}}/NetworkDeviceFunctions", interface_functions, methods=["GET"]),
    ]
