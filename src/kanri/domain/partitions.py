"""Partitions and the pools they are carved from: the values partition drivers return and
the engine reasons about (issue 5; docs/partitions.md). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kanri.domain.states import PowerState


class MachineMode(StrEnum):
    BARE = "bare"  # one server on the machine
    HYPERVISOR = "hypervisor"  # the machine is carved into partitions


class CpuMode(StrEnum):
    DEDICATED = "dedicated"  # whole cores, this partition's alone
    SHARED = "shared"  # cores shared with other shared partitions, by weight


class PortKind(StrEnum):
    FC = "fc"
    NIC = "nic"


@dataclass(frozen=True, slots=True)
class PortUse:
    """One adapter port a partition uses: alone (dedicated, the port's own identity) or
    shared (a virtual port with a virtual WWPN/MAC of its own)."""

    port: str  # the host's port id: "fc0", "nic1"
    shared: bool = False
    identity: str | None = None  # the virtual WWPN/MAC when shared; None: the driver's


@dataclass(frozen=True, slots=True)
class PartitionSpec:
    """What a partition is made of: what `partition create` asks and a layout keeps."""

    name: str
    cores: int
    memory_gib: int
    cpu_mode: CpuMode = CpuMode.DEDICATED
    shared_weight: int = 100  # 1-1000: relative share of the cores it shares
    ports: tuple[PortUse, ...] = ()
    # Explicit core indexes to pin to (a layout may name them); empty: the driver picks.
    cpus: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Partition:
    """A partition as its host's driver reports it."""

    id: str  # the system id behind the BMC (the driver's name for it)
    host: str  # the host machine's system id
    spec: PartitionSpec
    power: PowerState = PowerState.UNKNOWN


@dataclass(frozen=True, slots=True)
class PoolPort:
    id: str  # "fc0"
    kind: PortKind
    identity: str  # the physical WWPN/MAC
    dedicated_to: str | None = None  # a partition id
    shared_by: tuple[str, ...] = ()  # partition ids using it shared
    max_shared: int = 16


@dataclass(frozen=True, slots=True)
class Pool:
    """A hypervisor machine's resources and who holds them."""

    host: str  # system id
    mode: MachineMode
    cores: int
    memory_gib: int  # what partitions can get (the hypervisor's own share excluded)
    memory_block_gib: int = 1  # memory is given in multiples of this
    max_shared_per_core: int = 4
    # Per core index: the partition ids on it (one dedicated, or up to max_shared shared).
    core_use: tuple[tuple[str, ...], ...] = ()
    dedicated_cores: frozenset[int] = frozenset()  # core indexes held by a dedicated one
    memory_used_gib: int = 0
    ports: tuple[PoolPort, ...] = ()
