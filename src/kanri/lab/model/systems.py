"""Machines (blades) and partitions: the systems the lab's Redfish service exposes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kanri.lab.model.states import Boot, Mode, OemBoot, Power


class PortKind(StrEnum):
    ETHERNET = "ethernet"
    FIBRE_CHANNEL = "fc"


class Health(StrEnum):
    OK = "OK"
    WARNING = "Warning"
    CRITICAL = "Critical"


class ComponentKind(StrEnum):
    CPU = "cpu"
    DIMM = "dimm"
    PSU = "psu"
    FAN = "fan"


@dataclass
class Port:
    """An adapter port. ``address`` is what it presents: the permanent one unless the
    manager set a virtual identity (MAC or WWPN), which takes effect at the next boot."""

    id: str  # "nic0", "fc0" ...
    kind: PortKind
    permanent: str  # MAC aa:bb:.. or WWPN 20:00:..
    address: str | None = None  # virtual identity set through Redfish, or None
    presented: str = ""  # what the port presents since the last boot

    def __post_init__(self) -> None:
        if not self.presented:
            self.presented = self.address or self.permanent

    @property
    def configured(self) -> str:
        return self.address or self.permanent


@dataclass
class Component:
    id: str  # "CPU1", "DIMM3", "PSU1", "Fan2"
    kind: ComponentKind
    health: Health = Health.OK


@dataclass
class SelEntry:
    id: int
    created: str  # ISO 8601, lab wall time
    severity: str  # OK | Warning | Critical
    message: str
    message_id: str  # registry key, e.g. "KanriLab.1.0.PowerLost"
    sensor: str = ""


@dataclass
class System:
    """What machines and partitions share: power, boot, identity ports, health log."""

    id: str
    name: str
    uuid: str
    power: Power = Power.OFF
    boot: Boot = Boot.NONE
    oem_boot: OemBoot | None = None
    boot_lun: int = 0  # the LUN of the boot volume (FibreChannel BootTargets)
    boot_override: str = "None"  # BootSourceOverrideTarget
    boot_override_enabled: str = "Disabled"  # Disabled | Once | Continuous
    ports: list[Port] = field(default_factory=list)
    booted_volume: str | None = None  # the SAN volume the OS runs from
    os_since: str | None = None  # lab wall time the OS came up
    sel: list[SelEntry] = field(default_factory=list)

    @property
    def os_running(self) -> bool:
        return self.power is Power.ON and self.boot is Boot.OS_RUNNING

    def identities(self) -> set[str]:
        """The initiator identities this system presents now (since its last boot)."""
        return {p.presented for p in self.ports}


@dataclass
class Machine(System):
    slot: int = 0
    serial: str = ""
    model: str = "Kanri Lab Blade B1"
    manufacturer: str = "Kanri Lab"
    cores: int = 16
    memory_gib: int = 128
    mode: Mode = Mode.BARE  # in effect since the last boot
    pending_mode: Mode | None = None  # BIOS setting waiting for the next boot
    components: list[Component] = field(default_factory=list)

    @property
    def health(self) -> Health:
        worst = Health.OK
        for c in self.components:
            if c.health is Health.CRITICAL:
                return Health.CRITICAL
            if c.health is Health.WARNING:
                worst = Health.WARNING
        return worst


class CpuMode(StrEnum):
    DEDICATED = "Dedicated"
    SHARED = "Shared"


@dataclass
class PartitionPort:
    """A partition's use of a host adapter port: dedicated (the partition owns it) or
    shared (a virtual port with its own virtual WWPN/MAC)."""

    host_port: str
    shared: bool = False


@dataclass
class Partition(System):
    host: str = ""  # machine id
    cores: int = 1
    cpu_mode: CpuMode = CpuMode.DEDICATED
    shared_weight: int = 100
    memory_gib: int = 1
    assigned_ports: list[PartitionPort] = field(default_factory=list)
    resource_blocks: list[str] = field(default_factory=list)
    # True when the host's death (not an operator) stopped it: the state a manager restores
    killed_by_host: bool = False
