"""Whether a layout fits onto a machine's pool (``kanri layout apply LAYOUT --to MACHINE``),
and how its port ids map onto that machine's ports. Pure; docs/partitions.md.

The fit counts what is free now on the target: cores (dedicated ones whole, shared ones
one per core with room), memory (in the target's blocks) and ports. A layout's port ids
are the source host's; each may land on any free port of the same kind on the target (the
same id when it can), one layout port to one target port, so multipath pairs stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from kanri.domain.layouts import HostPort, Layout, LayoutHost, Placement
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, Pool, PoolPort, PortKind
from kanri.domain.pools import core_uses


def fits(layout: Layout, pool: Pool) -> list[str]:
    """Everything ``pool`` lacks to take ``layout``, one line each; [] when it fits."""
    if pool.mode is not MachineMode.HYPERVISOR:
        return [
            f"mode: {pool.host} is in {pool.mode} mode, it has no pool to carve the layout "
            "from (switch it to hypervisor mode first)"
        ]
    lines = _core_lines(layout.partitions, pool) + _memory_lines(layout.partitions, pool)
    mapped = port_map(layout, pool)
    if isinstance(mapped, list):
        lines += mapped
    return lines


class _Cores:
    """The target's cores as the layout's partitions take them, one after another."""

    def __init__(self, pool: Pool) -> None:
        uses = core_uses(pool)
        self.max = pool.max_shared_per_core
        self.held = [u.dedicated_to is not None for u in uses]
        self.shared = [len(u.shared_by) for u in uses]
        self.held_before = sum(self.held)
        self.full_before = sum(1 for n in self.shared if n >= self.max)

    def free(self) -> list[int]:
        return [i for i, held in enumerate(self.held) if not held and not self.shared[i]]

    def room(self) -> list[int]:
        return [i for i, held in enumerate(self.held) if not held and self.shared[i] < self.max]

    def before(self) -> str:
        return (
            f"{self.held_before} dedicated to its partitions, {self.full_before} full "
            f"with {self.max} shared partitions"
        )


def _core_lines(specs: tuple[PartitionSpec, ...], pool: Pool) -> list[str]:
    cores = _Cores(pool)
    lines: list[str] = []
    for spec in (s for s in specs if s.cpus):
        lines += [line for core in spec.cpus if (line := _take_named(cores, spec, core, pool))]
    dedicated = [s for s in specs if not s.cpus and s.cpu_mode is CpuMode.DEDICATED]
    asked = sum(s.cores for s in dedicated)
    free = cores.free()
    if asked > len(free):
        names = ", ".join(s.name for s in dedicated)
        lines.append(
            f"cores: {asked} dedicated asked by {names}, {pool.host} has {len(free)} free "
            f"({cores.before()})"
        )
    for index in free[:asked]:
        cores.held[index] = True
    shared = [s for s in specs if not s.cpus and s.cpu_mode is CpuMode.SHARED]
    # Largest first onto the cores with the most room: fits whenever any assignment does.
    for spec in sorted(shared, key=lambda s: -s.cores):
        room = sorted(cores.room(), key=lambda i: (cores.shared[i], i))
        if spec.cores > len(room):
            lines.append(
                f"cores: shared partition {spec.name} needs {spec.cores} cores with room, "
                f"{pool.host} has {len(room)} left after the layout's other partitions "
                f"({cores.before()} before)"
            )
            continue
        for index in room[: spec.cores]:
            cores.shared[index] += 1
    return lines


def _take_named(cores: _Cores, spec: PartitionSpec, core: int, pool: Pool) -> str | None:
    where = f"cores: partition {spec.name} names core {core}"
    if not 0 <= core < len(cores.held):
        return f"{where}, {pool.host} has cores 0-{len(cores.held) - 1}"
    if cores.held[core]:
        return f"{where}, it is dedicated to another partition"
    if spec.cpu_mode is CpuMode.DEDICATED:
        if cores.shared[core]:
            n = cores.shared[core]
            return f"{where} dedicated, it is shared by {n} partition{'s' if n > 1 else ''}"
        cores.held[core] = True
        return None
    if cores.shared[core] >= cores.max:
        return f"{where} shared, it is full with {cores.shared[core]} shared partitions"
    cores.shared[core] += 1
    return None


def _memory_lines(specs: tuple[PartitionSpec, ...], pool: Pool) -> list[str]:
    block = pool.memory_block_gib
    lines = [
        f"memory: partition {s.name} asks {s.memory_gib} GiB, {pool.host} gives memory in "
        f"blocks of {block} GiB"
        for s in specs
        if block > 1 and s.memory_gib % block
    ]
    asked = sum(s.memory_gib for s in specs)
    free = max(pool.memory_gib - pool.memory_used_gib, 0)
    if asked > free:
        lines.append(f"memory: {asked} GiB asked by the layout, {pool.host} has {free} GiB free")
    return lines


@dataclass(frozen=True, slots=True)
class _Demand:
    port: str
    kind: PortKind
    dedicated: bool
    sharers: int  # partitions using it (1 when dedicated)

    def text(self) -> str:
        return (
            f"{self.port} dedicated" if self.dedicated else f"{self.port} shared by {self.sharers}"
        )

    def takes(self, port: PoolPort) -> bool:
        if port.kind is not self.kind or port.dedicated_to is not None:
            return False
        if self.dedicated:
            return not port.shared_by
        return port.max_shared - len(port.shared_by) >= self.sharers


def _demands(layout: Layout) -> list[_Demand]:
    users: dict[str, list[bool]] = {}
    for spec in layout.partitions:
        for use in spec.ports:
            users.setdefault(use.port, []).append(use.shared)
    demands: list[_Demand] = []
    for port, shared in users.items():
        kind = layout.host.kind_of(port)
        if kind is not None:  # a port without a kind is check_layout's to report
            demands.append(_Demand(port, kind, not all(shared), len(shared)))
    return demands


def port_map(layout: Layout, pool: Pool) -> dict[str, str] | list[str]:
    """Layout port id -> ``pool``'s port id for every port the layout's partitions use, or
    the shortfall (one line per port kind) when no such mapping exists."""
    demands = _demands(layout)
    takes = {d.port: [p.id for p in pool.ports if d.takes(p)] for d in demands}
    for demand in demands:  # the same id first, so a layout moved to a twin keeps its ids
        options = takes[demand.port]
        if demand.port in options:
            options.remove(demand.port)
            options.insert(0, demand.port)
    owner: dict[str, str] = {}  # pool port -> layout port
    for demand in demands:
        if demand.port in takes[demand.port] and demand.port not in owner:
            owner[demand.port] = demand.port
    for demand in demands:
        if demand.port not in owner.values():
            _augment(demand.port, takes, owner, set())
    mapping = {layout_port: pool_port for pool_port, layout_port in owner.items()}
    if len(mapping) == len(demands):
        return {d.port: mapping[d.port] for d in demands}
    return [_port_line(kind, demands, mapping, pool) for kind in _short_kinds(demands, mapping)]


def _augment(
    port: str, takes: Mapping[str, list[str]], owner: dict[str, str], seen: set[str]
) -> bool:
    """Kuhn's augmenting path: give ``port`` a pool port, a free one if there is one, else
    one whose layout port can move elsewhere (so kept ids are moved only when needed)."""
    for option in takes[port]:
        if option not in owner and option not in seen:
            seen.add(option)
            owner[option] = port
            return True
    for option in takes[port]:
        if option in seen:
            continue
        seen.add(option)
        if _augment(owner[option], takes, owner, seen):
            owner[option] = port
            return True
    return False


def _short_kinds(demands: list[_Demand], mapping: Mapping[str, str]) -> list[PortKind]:
    return sorted({d.kind for d in demands if d.port not in mapping})


def _port_line(
    kind: PortKind, demands: list[_Demand], mapping: Mapping[str, str], pool: Pool
) -> str:
    mine = [d for d in demands if d.kind is kind]
    given = sum(1 for d in mine if d.port in mapping)
    ports = [p for p in pool.ports if p.kind is kind]
    return (
        f"ports {kind}: the layout uses {len(mine)} ({', '.join(d.text() for d in mine)}), "
        f"{pool.host} can give {given} of them "
        f"({', '.join(_pool_port_text(p) for p in ports) or f'no {kind} ports'})"
    )


def _pool_port_text(port: PoolPort) -> str:
    if port.dedicated_to is not None:
        return f"{port.id} dedicated to {port.dedicated_to}"
    if port.shared_by:
        return f"{port.id} shared by {len(port.shared_by)} of {port.max_shared}"
    return f"{port.id} free"


def remap_ports(layout: Layout, mapping: Mapping[str, str]) -> Layout:
    """``layout`` with its port ids renamed by ``mapping`` (from :func:`port_map`): in the
    partitions, the host's port kinds and the placed servers' identities by port."""

    def rename(port: str) -> str:
        return mapping.get(port, port)

    # A host port nothing maps, but that a mapped one now lands on, is dropped: one id, one port.
    ports = [HostPort(mapping[p.id], p.kind) for p in layout.host.ports if p.id in mapping]
    ports += [p for p in layout.host.ports if p.id not in mapping and p.id not in mapping.values()]
    return replace(
        layout,
        host=LayoutHost(layout.host.name, tuple(ports)),
        partitions=tuple(
            replace(s, ports=tuple(replace(u, port=rename(u.port)) for u in s.ports))
            for s in layout.partitions
        ),
        servers=tuple(
            Placement(s.server, s.partition, {rename(k): v for k, v in s.identity.items()})
            for s in layout.servers
        ),
    )
