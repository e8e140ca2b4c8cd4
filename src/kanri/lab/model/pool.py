"""A hypervisor machine's resource pool as Redfish resource blocks, and who uses them.

Block ids name their host and what they hold, so a block id alone says where it lives:

    {machine}-cpu-{n}      one core (n from 0)                       ResourceBlockType Processor
    {machine}-mem-{n}      8 GiB of memory (n from 0)                ResourceBlockType Memory
    {machine}-port-{port}  one adapter port: nic0, fc0 ...           ResourceBlockType Network

A partition's ``resource_blocks`` is the truth about what it holds; its cores, memory and
ports are derived from them when it is composed. A core is used by one Dedicated
partition, or by up to ``MAX_SHARED_PER_CORE`` Shared ones (their virtual CPUs are pinned
to cores, so shared partitions compete on the cores they share). Memory is never shared.
A port is used by one partition as a dedicated port (the host port itself), or by up to
``MAX_VIRTUAL_PER_PORT`` partitions, each with its own virtual WWPN or MAC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.states import Mode
from kanri.lab.model.systems import CpuMode, Machine, Partition, PartitionPort, Port

GIB_PER_BLOCK = 8
MAX_SHARED_PER_CORE = 4
MAX_VIRTUAL_PER_PORT = 16
IN_USE = "Composition.1.1.ResourceBlockInUse"
EXHAUSTED = "Base.1.22.ResourceExhaustion"


@dataclass
class Layout:
    """What a partition holds, as a manager asks for it."""

    host: str
    cores: int
    memory_gib: int
    cpu_mode: CpuMode = CpuMode.DEDICATED
    shared_weight: int = 100
    ports: list[PartitionPort] = field(default_factory=list)


class BlockKind(StrEnum):
    CPU = "cpu"
    MEMORY = "mem"
    PORT = "port"


class BlockState(StrEnum):
    """ResourceBlock CompositionState values the lab uses."""

    UNUSED = "Unused"
    COMPOSED = "Composed"
    COMPOSED_AND_AVAILABLE = "ComposedAndAvailable"  # shared, room for more
    UNAVAILABLE = "Unavailable"  # the host is not in hypervisor mode


@dataclass(frozen=True)
class Block:
    host: str
    kind: BlockKind
    key: str  # "0", "1" ... for cores and memory; the port id for ports

    @property
    def id(self) -> str:
        return f"{self.host}-{self.kind}-{self.key}"

    @property
    def sharable(self) -> int:
        """How many compositions may use it at once (Redfish MaxCompositions)."""
        if self.kind is BlockKind.CPU:
            return MAX_SHARED_PER_CORE
        if self.kind is BlockKind.PORT:
            return MAX_VIRTUAL_PER_PORT
        return 1


@dataclass(frozen=True)
class Use:
    partition: Partition
    shared: bool


def host_blocks(machine: Machine) -> list[Block]:
    """Every block of a machine's pool. Memory short of a whole block stays with the
    hypervisor, as a real one keeps memory for itself."""
    return [
        *(Block(machine.id, BlockKind.CPU, str(n)) for n in range(machine.cores)),
        *(
            Block(machine.id, BlockKind.MEMORY, str(n))
            for n in range(machine.memory_gib // GIB_PER_BLOCK)
        ),
        *(Block(machine.id, BlockKind.PORT, p.id) for p in machine.ports),
    ]


def pooled(lab: Lab, machine: Machine) -> bool:
    """Whether the machine's blocks are listed: in hypervisor mode, or while partitions
    still hold them (a host switched to bare keeps its partitions, which cannot start)."""
    return machine.mode is Mode.HYPERVISOR or any(
        p.host == machine.id for p in lab.partitions.values()
    )


def listed_blocks(lab: Lab) -> list[Block]:
    return [b for m in lab.machines.values() if pooled(lab, m) for b in host_blocks(m)]


def find_block(lab: Lab, block_id: str) -> Block | None:
    """The block ``block_id`` names, on any machine (listed or not)."""
    for machine in lab.machines.values():
        if block_id.startswith(f"{machine.id}-"):
            for block in host_blocks(machine):
                if block.id == block_id:
                    return block
    return None


def parse_block_id(block_id: str) -> tuple[BlockKind, str]:
    """The kind and key of a block id the lab made (host ids may hold dashes)."""
    host_and_kind, _, key = block_id.rpartition("-")
    return BlockKind(host_and_kind.rpartition("-")[2]), key


def usage(lab: Lab, host: str, exclude: str | None = None) -> dict[str, list[Use]]:
    """Block id -> the partitions using it (leaving out ``exclude``)."""
    found: dict[str, list[Use]] = {}
    for partition in lab.partitions.values():
        if partition.host != host or partition.id == exclude:
            continue
        shared_ports = {p.host_port for p in partition.assigned_ports if p.shared}
        for block_id in partition.resource_blocks:
            kind, key = parse_block_id(block_id)
            shared = (kind is BlockKind.CPU and partition.cpu_mode is CpuMode.SHARED) or (
                kind is BlockKind.PORT and key in shared_ports
            )
            found.setdefault(block_id, []).append(Use(partition, shared))
    return found


def block_state(lab: Lab, block: Block, users: list[Use]) -> BlockState:
    machine = lab.machine(block.host)
    if machine.mode is not Mode.HYPERVISOR:
        return BlockState.UNAVAILABLE
    if not users:
        return BlockState.UNUSED
    if all(u.shared for u in users) and len(users) < block.sharable:
        return BlockState.COMPOSED_AND_AVAILABLE
    return BlockState.COMPOSED


def can_take(block: Block, users: list[Use], shared: bool) -> str | None:
    """Why ``block`` cannot join one more composition (None when it can)."""
    if not users:
        return None
    names = ", ".join(f"{u.partition.id} ({'shared' if u.shared else 'dedicated'})" for u in users)
    if not shared or not all(u.shared for u in users) or block.kind is BlockKind.MEMORY:
        return f"resource block {block.id} is in use by {names}"
    if len(users) >= block.sharable:
        return f"resource block {block.id} is shared by {block.sharable} partitions already"
    return None


def host_port(machine: Machine, port_id: str) -> Port:
    for port in machine.ports:
        if port.id == port_id:
            return port
    names = ", ".join(p.id for p in machine.ports) or "none"
    raise LabError(
        f"{machine.id} has no port {port_id} (its ports: {names})",
        "Base.1.22.PropertyValueNotInList",
        400,
    )


def take_blocks(
    lab: Lab,
    machine: Machine,
    layout: Layout,
    exclude: str | None,
    keep: list[str],
    explicit: list[str] | None,
) -> list[str]:
    """The block ids the layout gets: ``explicit`` checked one by one, or picked from
    what is free, preferring the blocks in ``keep`` (a modified partition's own)."""
    used = usage(lab, machine.id, exclude)
    shared_cpu = layout.cpu_mode is CpuMode.SHARED
    for pp in layout.ports:
        host_port(machine, pp.host_port)  # names the host's ports when one is unknown
    if explicit is not None:
        shared_ports = {p.host_port for p in layout.ports if p.shared}
        for block_id in explicit:
            block = find_block(lab, block_id)
            assert block is not None  # layout_from_blocks found them all
            shared = (block.kind is BlockKind.CPU and shared_cpu) or (
                block.kind is BlockKind.PORT and block.key in shared_ports
            )
            reason = can_take(block, used.get(block.id, []), shared)
            if reason:
                raise LabError(reason, IN_USE, 409)
        return list(explicit)

    blocks = host_blocks(machine)
    first = set(keep)

    def free(kind: BlockKind, shared: bool) -> list[Block]:
        found = [
            b for b in blocks if b.kind is kind and can_take(b, used.get(b.id, []), shared) is None
        ]
        # own blocks first; shared cores pack onto cores already shared, so that
        # whole cores stay free for dedicated partitions
        return sorted(found, key=lambda b: (b.id not in first, not used.get(b.id), int(b.key)))

    cpus = free(BlockKind.CPU, shared_cpu)
    if len(cpus) < layout.cores:
        raise LabError(_short_cores(machine, layout, cpus, used), EXHAUSTED, 409)
    memory = free(BlockKind.MEMORY, False)
    wanted_blocks = layout.memory_gib // GIB_PER_BLOCK
    if len(memory) < wanted_blocks:
        pool = sum(1 for b in blocks if b.kind is BlockKind.MEMORY) * GIB_PER_BLOCK
        raise LabError(
            f"{machine.id} cannot give {layout.memory_gib} GiB of memory: "
            f"{len(memory) * GIB_PER_BLOCK} GiB of its {pool} GiB pool is free",
            EXHAUSTED,
            409,
        )
    ports: list[str] = []
    for pp in layout.ports:
        block = Block(machine.id, BlockKind.PORT, pp.host_port)
        reason = can_take(block, used.get(block.id, []), pp.shared)
        if reason:
            how = "shared" if pp.shared else "dedicated"
            raise LabError(f"port {pp.host_port} cannot be {how}: {reason}", IN_USE, 409)
        ports.append(block.id)
    return [
        *(b.id for b in sorted(cpus[: layout.cores], key=lambda b: int(b.key))),
        *(b.id for b in sorted(memory[:wanted_blocks], key=lambda b: int(b.key))),
        *ports,
    ]


def _short_cores(
    machine: Machine, layout: Layout, fit: list[Block], used: dict[str, list[Use]]
) -> str:
    if layout.cpu_mode is CpuMode.SHARED:
        return (
            f"{machine.id} cannot give {layout.cores} shared cores: {len(fit)} of its "
            f"{machine.cores} cores can take another shared partition (a core holds one "
            f"dedicated partition or up to {MAX_SHARED_PER_CORE} shared ones)"
        )
    cores = [used.get(b.id, []) for b in host_blocks(machine) if b.kind is BlockKind.CPU]
    dedicated = sum(1 for users in cores if any(not u.shared for u in users))
    shared = sum(1 for users in cores if users and all(u.shared for u in users))
    return (
        f"{machine.id} cannot give {layout.cores} dedicated cores: {len(fit)} of its "
        f"{machine.cores} cores are free ({dedicated} dedicated to other partitions, "
        f"{shared} used by shared partitions)"
    )
