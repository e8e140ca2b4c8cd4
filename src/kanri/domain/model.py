"""The things kanri manages, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kanri.domain.partitions import MachineMode
from kanri.domain.states import Health, PowerState, SystemKind

# The longest inventory text kanri keeps, in characters (the store's column sizes).
# Drivers cut what a BMC sends to these, so a 300-character Model cannot fail a write.
MAX_SYSTEM_ID = 255
MAX_VENDOR_TEXT = 255  # manufacturer, model, serial number
MAX_UUID = 64
MAX_PORT_NAME = 128  # NIC and Fibre Channel port names


@dataclass(frozen=True, slots=True)
class Nic:
    name: str
    mac: str


@dataclass(frozen=True, slots=True)
class FcPort:
    name: str
    wwpn: str


@dataclass(frozen=True, slots=True)
class SystemInventory:
    """What a BMC says about one system it manages."""

    system_id: str
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    uuid: str | None = None
    cpu_cores: int | None = None
    memory_mib: int | None = None
    nics: tuple[Nic, ...] = ()
    fc_ports: tuple[FcPort, ...] = ()
    health: Health = Health.UNKNOWN
    power: PowerState = PowerState.UNKNOWN
    kind: SystemKind = SystemKind.MACHINE
    host_system_id: str | None = None  # a partition's machine, behind the same BMC


@dataclass(frozen=True, slots=True)
class Bmc:
    """How to reach a management controller. One BMC may manage many machines."""

    url: str
    username: str
    password: str = field(repr=False)
    verify_tls: bool = True


@dataclass(frozen=True, slots=True)
class Machine:
    """A physical server with a BMC, as kanri remembers it."""

    name: str
    bmc_url: str
    system_id: str
    driver: str
    inventory: SystemInventory
    power: PowerState = PowerState.UNKNOWN
    power_checked_at: datetime | None = None
    desired_power: PowerState | None = None
    power_commanded_at: datetime | None = None
    health: Health = Health.UNKNOWN
    reachable: bool = True
    mode: MachineMode | None = None  # bare/hypervisor as last read; None: not known
    pending_mode: MachineMode | None = None  # waiting for the next boot
