"""A KVM host's pool from what its domains hold, and what a running domain takes live. Pure.

libvirt checks no capacity (its test driver none at all, and qemu overcommits memory and
CPUs gladly), so the driver checks before it defines anything: with the domain's rules,
``kanri.domain.pools.place`` on the pool :func:`build_pool` reads from the domains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kanri.domain.errors import Conflict
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, Pool, PoolPort
from kanri.drivers.libvirt.domxml import KIB_PER_GIB, DomainFacts, foreign_spec
from kanri.drivers.libvirt.hostxml import HostPort

MAX_SHARED_PER_CORE = 4


@dataclass(frozen=True, slots=True)
class HostFacts:
    name: str
    cpus: int  # host logical CPUs: the "cores" partitions are pinned to
    memory_gib: int  # for partitions: the host's memory less the hypervisor's reserve
    ports: tuple[HostPort, ...]


def spec_of(facts: DomainFacts) -> PartitionSpec:
    return facts.spec if facts.spec is not None else foreign_spec(facts)


def _port_uses(facts: DomainFacts, ports: tuple[HostPort, ...]) -> list[tuple[str, bool]]:
    """(port id, shared) for each host port the domain uses."""
    if facts.spec is not None:
        return [(u.port, u.shared) for u in facts.spec.ports]
    by_pci = {p.pci: p.id for p in ports if p.pci}
    known = {p.id for p in ports}
    uses = []
    for dev in facts.devices:
        port = by_pci.get(dev.port, dev.port)
        if port in known:
            uses.append((port, not dev.dedicated))
    return uses


def build_pool(host: HostFacts, domains: Iterable[DomainFacts]) -> Pool:
    core_use: list[list[str]] = [[] for _ in range(host.cpus)]
    dedicated: set[int] = set()
    memory_used = 0
    dedicated_to: dict[str, str] = {}
    shared_by: dict[str, list[str]] = {}
    for facts in domains:
        spec = spec_of(facts)
        memory_used += -(-facts.memory_kib // KIB_PER_GIB)
        for cpu in sorted({c for pin in facts.pins for c in pin}):
            if 0 <= cpu < host.cpus and facts.name not in core_use[cpu]:
                core_use[cpu].append(facts.name)
                if spec.cpu_mode is CpuMode.DEDICATED:
                    dedicated.add(cpu)
        for port, shared in _port_uses(facts, host.ports):
            if shared:
                shared_by.setdefault(port, []).append(facts.name)
            else:
                dedicated_to[port] = facts.name
    return Pool(
        host=host.name,
        mode=MachineMode.HYPERVISOR,
        cores=host.cpus,
        memory_gib=host.memory_gib,
        memory_block_gib=1,
        max_shared_per_core=MAX_SHARED_PER_CORE,
        core_use=tuple(tuple(u) for u in core_use),
        dedicated_cores=frozenset(dedicated),
        memory_used_gib=memory_used,
        ports=tuple(
            PoolPort(
                id=p.id,
                kind=p.kind,
                identity=p.identity,
                dedicated_to=dedicated_to.get(p.id),
                shared_by=tuple(shared_by.get(p.id, ())),
                max_shared=p.max_shared,
            )
            for p in host.ports
        ),
    )


def require_live(current: DomainFacts, spec: PartitionSpec, now: tuple[int, ...]) -> None:
    """Refuse (Conflict) a change a running domain cannot take: all but more vCPUs within
    its maximum (pinned to new cores, the old ones kept) and the shared weight."""
    old = spec_of(current)
    changes = [
        words
        for words, changed in (
            (
                f"memory ({old.memory_gib} to {spec.memory_gib} GiB)",
                spec.memory_gib != old.memory_gib,
            ),
            (f"cpu mode ({old.cpu_mode} to {spec.cpu_mode})", spec.cpu_mode is not old.cpu_mode),
            ("ports", _plain_ports(spec) != _plain_ports(old)),
            (f"cores ({current.vcpus} to {spec.cores}: fewer)", spec.cores < current.vcpus),
            (
                f"cores ({current.vcpus} to {spec.cores}: beyond its maximum {current.max_vcpus})",
                spec.cores > current.max_vcpus,
            ),
            ("pinned cores", bool(spec.cpus) and not set(now) <= set(spec.cpus)),
        )
        if changed
    ]
    if changes:
        raise Conflict(
            f"partition {spec.name} is On: changing {', '.join(changes)} need it Off (adding "
            "cores and changing SharedWeight work while it runs); shut it down first"
        )


def _plain_ports(spec: PartitionSpec) -> tuple[tuple[str, bool], ...]:
    """The ports without identities: a changed identity is presented from the next boot
    (set_identity's rule), so it does not need the partition off."""
    return tuple((u.port, u.shared) for u in spec.ports)
