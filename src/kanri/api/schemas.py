"""Request and response bodies. BMC passwords go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from kanri.domain.model import Machine
from kanri.domain.naming import NAME_PATTERN
from kanri.domain.partitions import MachineMode
from kanri.domain.states import BootTarget, Health, PowerAction, PowerState, SystemKind
from kanri.engine.power import PowerReading, PowerResult


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Names are checked by the engine (kanri.domain.naming.check_name), whose message says
# what a name may be; the pattern here only documents it in the OpenAPI schema.
_NAME: JsonDict = {"pattern": NAME_PATTERN}


class MachineIn(_In):
    name: str = Field(
        json_schema_extra=_NAME,
        description="Machine name; with several systems behind the BMC, the prefix of each.",
    )
    bmc_url: str = Field(min_length=1, max_length=512, examples=["https://10.0.0.5"])
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024, json_schema_extra={"writeOnly": True})
    verify_tls: bool = True
    driver: str = "redfish"
    system_id: str | None = Field(None, description="Register only this system of the BMC.")


class RenameIn(_In):
    name: str = Field(json_schema_extra=_NAME)


class PowerIn(_In):
    action: PowerAction


class BootIn(_In):
    target: BootTarget = Field(description="none clears the override")
    once: bool = Field(True, description="only the next boot; false: until cleared")


class NicOut(BaseModel):
    name: str
    mac: str


class FcPortOut(BaseModel):
    name: str
    wwpn: str


class MachineOut(BaseModel):
    name: str
    bmc_url: str
    system_id: str
    driver: str
    manufacturer: str | None
    model: str | None
    serial: str | None
    uuid: str | None
    cpu_cores: int | None
    memory_mib: int | None
    nics: list[NicOut]
    fc_ports: list[FcPortOut]
    kind: SystemKind
    host_system_id: str | None
    health: Health
    power: PowerState
    power_checked_at: datetime | None
    desired_power: PowerState | None
    reachable: bool
    mode: MachineMode | None = None  # bare/hypervisor as last read (docs/partitions.md)
    pending_mode: MachineMode | None = None  # waiting for the next boot

    @classmethod
    def of(cls, m: Machine) -> MachineOut:
        inv = m.inventory
        return cls(
            name=m.name,
            bmc_url=m.bmc_url,
            system_id=m.system_id,
            driver=m.driver,
            manufacturer=inv.manufacturer,
            model=inv.model,
            serial=inv.serial,
            uuid=inv.uuid,
            cpu_cores=inv.cpu_cores,
            memory_mib=inv.memory_mib,
            nics=[NicOut(name=n.name, mac=n.mac) for n in inv.nics],
            fc_ports=[FcPortOut(name=p.name, wwpn=p.wwpn) for p in inv.fc_ports],
            kind=inv.kind,
            host_system_id=inv.host_system_id,
            health=m.health,
            power=m.power,
            power_checked_at=m.power_checked_at,
            desired_power=m.desired_power,
            reachable=m.reachable,
            mode=m.mode,
            pending_mode=m.pending_mode,
        )


class PowerOut(BaseModel):
    machine: str
    power: PowerState
    desired: PowerState | None
    reachable: bool

    @classmethod
    def of(cls, r: PowerReading) -> PowerOut:
        return cls(machine=r.machine, power=r.power, desired=r.desired, reachable=r.reachable)


class PowerActionOut(BaseModel):
    machine: str
    action: PowerAction
    previous: PowerState
    sent: bool
    target: PowerState

    @classmethod
    def of(cls, r: PowerResult) -> PowerActionOut:
        return cls(
            machine=r.machine, action=r.action, previous=r.previous, sent=r.sent, target=r.target
        )


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    severity: str
    target: str | None
    message: str
    details: dict[str, Any]
