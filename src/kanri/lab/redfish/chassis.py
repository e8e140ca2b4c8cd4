"""Chassis: the enclosure and one chassis per blade, with power supplies and fans."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.systems import ComponentKind, Machine
from kanri.lab.redfish.common import ROOT, collection, doc, error, lab_of, ref, reply

CHASSIS = f"{ROOT}/Chassis"
ENCLOSURE = f"{CHASSIS}/Enclosure"
MANAGER = f"{ROOT}/Managers/EnclosureManager"


def _machine(request: Request) -> Machine:
    return lab_of(request).machine(request.path_params["chassis_id"])


async def chassis_list(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        members = [ENCLOSURE, *(f"{CHASSIS}/{m}" for m in lab.machines)]
    return reply(collection(CHASSIS, "ChassisCollection", "Chassis", members))


async def enclosure(request: Request) -> Response:
    lab = lab_of(request)
    with lab.lock:
        blades = [ref(f"{CHASSIS}/{m}") for m in lab.machines]
    return reply(
        doc(
            ENCLOSURE,
            "#Chassis.v1_28_0.Chassis",
            Name="Kanri Lab blade enclosure",
            ChassisType="Enclosure",
            Manufacturer="Kanri Lab",
            Model="Kanri Lab E10",
            Status={"State": "Enabled", "Health": "OK"},
            Links={"Contains": blades, "ManagedBy": [ref(MANAGER)]},
        )
    )


async def blade(request: Request) -> Response:
    lab = lab_of(request)
    if request.path_params["chassis_id"] == "Enclosure":
        return await enclosure(request)
    machine = _machine(request)
    path = f"{CHASSIS}/{machine.id}"
    with lab.lock:
        return reply(
            doc(
                path,
                "#Chassis.v1_28_0.Chassis",
                Name=f"Blade {machine.slot}",
                ChassisType="Blade",
                Manufacturer=machine.manufacturer,
                Model=machine.model,
                SerialNumber=machine.serial,
                PowerState=str(machine.power),
                Location={
                    "PartLocation": {
                        "LocationType": "Slot",
                        "LocationOrdinalValue": machine.slot,
                        "ServiceLabel": f"Slot {machine.slot}",
                    }
                },
                Status={"State": "Enabled", "Health": str(machine.health)},
                PowerSubsystem=ref(f"{path}/PowerSubsystem"),
                ThermalSubsystem=ref(f"{path}/ThermalSubsystem"),
                NetworkAdapters=ref(f"{path}/NetworkAdapters"),
                Links={
                    "ComputerSystems": [ref(f"{ROOT}/Systems/{machine.id}")],
                    "ContainedBy": ref(ENCLOSURE),
                    "ManagedBy": [ref(MANAGER)],
                },
            )
        )


def _worst(machine: Machine, kind: ComponentKind) -> str:
    states = {str(c.health) for c in machine.components if c.kind is kind}
    return next((s for s in ("Critical", "Warning") if s in states), "OK")


async def power_subsystem(request: Request) -> Response:
    machine = _machine(request)
    path = f"{CHASSIS}/{machine.id}/PowerSubsystem"
    return reply(
        doc(
            path,
            "#PowerSubsystem.v1_1_3.PowerSubsystem",
            Name="Power subsystem",
            Status={"State": "Enabled", "Health": _worst(machine, ComponentKind.PSU)},
            PowerSupplies=ref(f"{path}/PowerSupplies"),
        )
    )


async def thermal_subsystem(request: Request) -> Response:
    machine = _machine(request)
    path = f"{CHASSIS}/{machine.id}/ThermalSubsystem"
    return reply(
        doc(
            path,
            "#ThermalSubsystem.v1_5_0.ThermalSubsystem",
            Name="Thermal subsystem",
            Status={"State": "Enabled", "Health": _worst(machine, ComponentKind.FAN)},
            Fans=ref(f"{path}/Fans"),
        )
    )


async def power_supplies(request: Request) -> Response:
    machine = _machine(request)
    path = f"{CHASSIS}/{machine.id}/PowerSubsystem/PowerSupplies"
    ids = [c.id for c in machine.components if c.kind is ComponentKind.PSU]
    return reply(
        collection(path, "PowerSupplyCollection", "Power supplies", (f"{path}/{i}" for i in ids))
    )


async def fans(request: Request) -> Response:
    machine = _machine(request)
    path = f"{CHASSIS}/{machine.id}/ThermalSubsystem/Fans"
    ids = [c.id for c in machine.components if c.kind is ComponentKind.FAN]
    return reply(collection(path, "FanCollection", "Fans", (f"{path}/{i}" for i in ids)))


async def power_supply(request: Request) -> Response:
    machine = _machine(request)
    item = request.path_params["item"]
    for c in machine.components:
        if c.kind is ComponentKind.PSU and c.id == item:
            return reply(
                doc(
                    f"{CHASSIS}/{machine.id}/PowerSubsystem/PowerSupplies/{c.id}",
                    "#PowerSupply.v1_6_0.PowerSupply",
                    Name=c.id,
                    Status={"State": "Enabled", "Health": str(c.health)},
                )
            )
    return error(404, "ResourceMissingAtURI", f"no power supply {item} in {machine.id}")


async def fan(request: Request) -> Response:
    machine = _machine(request)
    item = request.path_params["item"]
    for c in machine.components:
        if c.kind is ComponentKind.FAN and c.id == item:
            return reply(
                doc(
                    f"{CHASSIS}/{machine.id}/ThermalSubsystem/Fans/{c.id}",
                    "#Fan.v1_6_0.Fan",
                    Name=c.id,
                    Status={"State": "Enabled", "Health": str(c.health)},
                )
            )
    return error(404, "ResourceMissingAtURI", f"no fan {item} in {machine.id}")


def routes() -> list[Route]:
    c = f"{CHASSIS}/{{chassis_id}}"
    return [
        Route(CHASSIS, chassis_list, methods=["GET"]),
        Route(c, blade, methods=["GET"]),
        Route(f"{c}/PowerSubsystem", power_subsystem, methods=["GET"]),
        Route(f"{c}/PowerSubsystem/PowerSupplies", power_supplies, methods=["GET"]),
        Route(f"{c}/PowerSubsystem/PowerSupplies/{{item}}", power_supply, methods=["GET"]),
        Route(f"{c}/ThermalSubsystem", thermal_subsystem, methods=["GET"]),
        Route(f"{c}/ThermalSubsystem/Fans", fans, methods=["GET"]),
        Route(f"{c}/ThermalSubsystem/Fans/{{item}}", fan, methods=["GET"]),
    ]
