"""Partitions composed from a hypervisor machine's pool: compose, modify, decompose.

Two ways in, one code path: a client names the blocks (Redfish specific composition), or
gives a ``Layout`` (cores, memory, ports) and the lab picks the blocks. A lab.yaml
partition is composed like the second. Every refusal is a LabError that changes nothing.
"""

from __future__ import annotations

import re
import zlib

from kanri.lab.config import PartitionSpec, system_uuid
from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.pool import (
    GIB_PER_BLOCK,
    Block,
    BlockKind,
    Layout,
    find_block,
    host_port,
    take_blocks,
)
from kanri.lab.model.states import Mode, Power
from kanri.lab.model.systems import CpuMode, Machine, Partition, PartitionPort, Port, PortKind

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MAX_WEIGHT = 1000


def layout_of(partition: Partition) -> Layout:
    ports = [PartitionPort(p.host_port, p.shared) for p in partition.assigned_ports]
    return Layout(
        partition.host,
        partition.cores,
        partition.memory_gib,
        partition.cpu_mode,
        partition.shared_weight,
        ports,
    )


def layout_from_blocks(
    lab: Lab,
    block_ids: list[str],
    cpu_mode: CpuMode = CpuMode.DEDICATED,
    shared_weight: int = 100,
    shared_ports: frozenset[str] = frozenset(),
) -> Layout:
    """The layout a list of blocks makes; refuses unknown blocks and blocks that span
    hosts (each host is its own resource zone)."""
    if not block_ids:
        raise LabError("no resource blocks are given", "Base.1.22.PropertyValueError", 400)
    if len(set(block_ids)) != len(block_ids):
        raise LabError("a resource block is listed twice", "Base.1.22.PropertyValueError", 400)
    blocks: list[Block] = []
    for block_id in block_ids:
        block = find_block(lab, block_id)
        if block is None:
            raise LabError(
                f"no resource block {block_id}", "Composition.1.1.ResourceBlockNotFound", 400
            )
        blocks.append(block)
    hosts = sorted({b.host for b in blocks})
    if len(hosts) != 1:
        raise LabError(
            f"the resource blocks span several machines ({', '.join(hosts)}): "
            "a partition takes all its blocks from one host",
            "Composition.1.1.IncompatibleZone",
            400,
        )
    cores = sum(1 for b in blocks if b.kind is BlockKind.CPU)
    memory = sum(GIB_PER_BLOCK for b in blocks if b.kind is BlockKind.MEMORY)
    if not cores or not memory:
        raise LabError(
            "a partition needs at least one Processor block and one Memory block",
            "Base.1.22.PropertyValueError",
            400,
        )
    port_ids = [b.key for b in blocks if b.kind is BlockKind.PORT]
    unknown_shared = shared_ports - set(port_ids)
    if unknown_shared:
        raise LabError(
            f"SharedPorts names {sorted(unknown_shared)[0]}, which no listed block holds",
            "Base.1.22.PropertyValueError",
            400,
        )
    ports = [PartitionPort(p, p in shared_ports) for p in port_ids]
    return Layout(hosts[0], cores, memory, cpu_mode, shared_weight, ports)


def compose(
    lab: Lab, partition_id: str | None, name: str, layout: Layout, blocks: list[str] | None = None
) -> Partition:
    """A new partition on ``layout.host``; with ``blocks``, exactly those blocks."""
    with lab.lock:
        new_id = _new_id(lab, partition_id, name)
        machine = _pool_host(lab, layout.host)
        _check(layout)
        chosen = take_blocks(lab, machine, layout, None, [], blocks)
        partition = Partition(id=new_id, name=name, uuid=system_uuid(new_id), host=machine.id)
        _apply(lab, machine, partition, layout, chosen)
        lab.partitions[new_id] = partition
        lab.record("partition.composed", system=new_id, **_summary(partition))
        lab.emit(
            "ResourceAdded",
            "ResourceEvent.1.4.ResourceCreated",
            f"partition {new_id} composed on {machine.id}",
            "OK",
            f"/redfish/v1/Systems/{new_id}",
        )
        return partition


def modify(lab: Lab, partition: Partition, layout: Layout, blocks: list[str] | None = None) -> None:
    """Change a partition's resources. Adding cores and changing the shared weight work
    while it runs; everything else needs it Off, as a hypervisor re-creates the
    partition's hardware for that."""
    with lab.lock:
        if layout.host != partition.host:
            raise LabError(
                f"partition {partition.id} lives on {partition.host} and cannot move to "
                f"{layout.host}: delete it and compose it there",
                "Base.1.22.PropertyValueConflict",
                400,
            )
        machine = _pool_host(lab, partition.host)
        _check(layout)
        chosen = take_blocks(lab, machine, layout, partition.id, partition.resource_blocks, blocks)
        offline = _needs_off(partition, layout)
        if offline and partition.power is not Power.OFF:
            raise LabError(
                f"partition {partition.id} is {partition.power}: "
                + "; ".join(offline)
                + " need it Off (adding cores and changing SharedWeight work while it "
                "runs); shut it down first",
                "Base.1.22.PropertyValueResourceConflict",
                409,
            )
        _apply(lab, machine, partition, layout, chosen)
        lab.record("partition.modified", system=partition.id, **_summary(partition))
        lab.emit(
            "ResourceUpdated",
            "ResourceEvent.1.4.ResourceChanged",
            f"partition {partition.id} changed",
            "OK",
            f"/redfish/v1/Systems/{partition.id}",
        )


def decompose(lab: Lab, partition_id: str) -> None:
    """Delete an Off partition and free its blocks."""
    with lab.lock:
        partition = lab.partitions.get(partition_id)
        if partition is None:
            if partition_id in lab.machines:
                raise LabError(
                    f"{partition_id} is a machine: only partitions can be deleted",
                    "Base.1.22.OperationNotAllowed",
                    405,
                )
            raise LabError(f"no system {partition_id}", "Base.1.22.ResourceMissingAtURI", 404)
        if partition.power is not Power.OFF:
            raise LabError(
                f"partition {partition_id} is {partition.power}: power it off before deleting it",
                "Base.1.22.ResourceInUse",
                409,
            )
        del lab.partitions[partition_id]
        lab.record(
            "partition.decomposed",
            system=partition_id,
            host=partition.host,
            blocks=list(partition.resource_blocks),
        )
        lab.emit(
            "ResourceRemoved",
            "ResourceEvent.1.4.ResourceRemoved",
            f"partition {partition_id} deleted from {partition.host}",
            "OK",
            f"/redfish/v1/Systems/{partition_id}",
        )


def compose_from_spec(lab: Lab, spec: PartitionSpec) -> None:
    """A lab.yaml partition, composed as a client's OEM-form request would be."""
    try:
        cpu_mode = CpuMode(spec.cpu_mode)
    except ValueError:
        raise LabError(
            f"partition {spec.id}: cpu_mode must be Dedicated or Shared, not {spec.cpu_mode!r}",
            "Base.1.22.PropertyValueNotInList",
            400,
        ) from None
    ports: list[PartitionPort] = []
    for text in spec.ports:
        port_id, _, how = text.partition(":")
        if how not in ("", "shared", "dedicated"):
            raise LabError(
                f"partition {spec.id}: port {text!r} must be PORT, PORT:shared or PORT:dedicated",
                "Base.1.22.PropertyValueError",
                400,
            )
        ports.append(PartitionPort(port_id, how == "shared"))
    layout = Layout(spec.host, spec.cores, spec.memory_gib, cpu_mode, spec.shared_weight, ports)
    try:
        compose(lab, spec.id, spec.id, layout)
    except LabError as exc:
        raise LabError(f"partition {spec.id}: {exc}", exc.message_id, exc.status) from None


# helpers ---------------------------------------------------------------------------------
def _new_id(lab: Lab, given: str | None, name: str) -> str:
    if not name.strip():
        raise LabError(
            "a partition needs a Name", "Base.1.22.CreateFailedMissingReqProperties", 400
        )
    new_id = given if given is not None else re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
    if not _ID.match(new_id):
        raise LabError(
            f"partition Id {new_id!r} must be 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            "Base.1.22.PropertyValueFormatError",
            400,
        )
    if new_id in lab.machines or new_id in lab.partitions:
        raise LabError(
            f"a system with Id {new_id} exists already",
            "Base.1.22.ResourceAlreadyExists",
            409,
        )
    return new_id


def _pool_host(lab: Lab, host: str) -> Machine:
    machine = lab.machines.get(host)
    if machine is None:
        raise LabError(f"no machine {host}", "Base.1.22.PropertyValueNotInList", 400)
    if machine.mode is not Mode.HYPERVISOR:
        pending = (
            " (hypervisor mode is pending: it takes effect at the next boot)"
            if machine.pending_mode is Mode.HYPERVISOR
            else " (set its BIOS SystemMode to Hypervisor and reboot it)"
        )
        raise LabError(
            f"{host} is in bare mode: it has no resource pool to compose from{pending}",
            "Composition.1.1.NoResourceMatch",
            409,
        )
    return machine


def _check(layout: Layout) -> None:
    if layout.cores < 1:
        raise LabError(
            f"Cores {layout.cores}: a partition needs at least one core",
            "Base.1.22.PropertyValueOutOfRange",
            400,
        )
    if layout.memory_gib < GIB_PER_BLOCK or layout.memory_gib % GIB_PER_BLOCK:
        raise LabError(
            f"MemoryGiB {layout.memory_gib}: memory comes in blocks of {GIB_PER_BLOCK} GiB, "
            f"so it must be a multiple of {GIB_PER_BLOCK} (at least {GIB_PER_BLOCK})",
            "Base.1.22.PropertyValueOutOfRange",
            400,
        )
    if not 1 <= layout.shared_weight <= MAX_WEIGHT:
        raise LabError(
            f"SharedWeight {layout.shared_weight} is outside 1-{MAX_WEIGHT}",
            "Base.1.22.PropertyValueOutOfRange",
            400,
        )
    seen = [p.host_port for p in layout.ports]
    twice = sorted({p for p in seen if seen.count(p) > 1})
    if twice:
        raise LabError(f"port {twice[0]} is asked for twice", "Base.1.22.PropertyValueError", 400)


def _needs_off(partition: Partition, layout: Layout) -> list[str]:
    changes: list[str] = []
    if layout.cpu_mode is not partition.cpu_mode:
        changes.append(f"changing CpuMode ({partition.cpu_mode} to {layout.cpu_mode})")
    if layout.cores < partition.cores:
        changes.append(f"removing cores ({partition.cores} to {layout.cores})")
    if layout.memory_gib != partition.memory_gib:
        changes.append(f"changing memory ({partition.memory_gib} to {layout.memory_gib} GiB)")
    before = [(p.host_port, p.shared) for p in partition.assigned_ports]
    after = [(p.host_port, p.shared) for p in layout.ports]
    if sorted(before) != sorted(after):
        changes.append(f"changing ports ({_ports_text(before)} to {_ports_text(after)})")
    return changes


def _ports_text(ports: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{p}{':shared' if shared else ''}" for p, shared in ports) or "none"


def _apply(
    lab: Lab, machine: Machine, partition: Partition, layout: Layout, chosen: list[str]
) -> None:
    old = {
        pp.host_port: port
        for pp, port in zip(partition.assigned_ports, partition.ports, strict=False)
        if pp.shared
    }
    ports: list[Port] = []
    for pp in layout.ports:
        physical = host_port(machine, pp.host_port)
        if not pp.shared:
            ports.append(physical)  # a dedicated port is the host's port, identity and all
        elif pp.host_port in old:
            ports.append(old[pp.host_port])  # keeps a virtual identity a manager set
        else:
            address = virtual_address(lab, machine, partition.id, physical)
            ports.append(Port(physical.id, physical.kind, address))
    partition.resource_blocks = chosen
    partition.cores = layout.cores
    partition.memory_gib = layout.memory_gib
    partition.cpu_mode = layout.cpu_mode
    partition.shared_weight = layout.shared_weight
    partition.assigned_ports = [PartitionPort(p.host_port, p.shared) for p in layout.ports]
    partition.ports = ports


def virtual_address(lab: Lab, machine: Machine, partition_id: str, port: Port) -> str:
    """A virtual WWPN or MAC for a partition's shared port: the same for the same host
    slot, partition and port (a rebuilt lab agrees with a manager's records), and unique
    in the lab. Locally administered MACs (06:..) and WWPNs 2a:.. never clash with the
    lab's burnt-in ones (02:6b:.., 20:00:..)."""
    taken = {a for s in lab.systems() for p in s.ports for a in (p.permanent, p.configured)}
    index = [p.id for p in machine.ports].index(port.id)
    seed = zlib.crc32(f"{partition_id}/{port.id}".encode())
    for bump in range(1 << 24):
        h = (seed + bump) & 0xFFFFFF
        tail = f"{h >> 16:02x}:{(h >> 8) & 0xFF:02x}:{h & 0xFF:02x}"
        if port.kind is PortKind.FIBRE_CHANNEL:
            address = f"2a:{index:02x}:00:6b:{machine.slot & 0xFF:02x}:{tail}"
        else:
            address = f"06:{machine.slot & 0xFF:02x}:{index:02x}:{tail}"
        if address not in taken:
            return address
    raise LabError("no virtual address left", "Base.1.22.ResourceExhaustion", 409)


def _summary(partition: Partition) -> dict[str, object]:
    return {
        "host": partition.host,
        "cores": partition.cores,
        "cpu_mode": str(partition.cpu_mode),
        "shared_weight": partition.shared_weight,
        "memory_gib": partition.memory_gib,
        "ports": {p.id: p.configured for p in partition.ports},
        "blocks": list(partition.resource_blocks),
    }
