"""Fake partitions driver over the :class:`FakeWorld`: machine modes, pools, partitions
and port identities in memory, refusing what the lab refuses (docs/partitions.md,
"Drivers: Redfish composition and the fake"): a pool's refusals in the domain's words
(``kanri.domain.pools.place``, the rules the lab keeps), the rest in the lab's.

Each fake system gets a host record on first use: bare, with its inventory's cores,
memory and ports (8 GiB memory blocks, up to 4 shared partitions per core and 16 per
port, as the lab). Partitions are fake systems too, so the fake power driver powers them.
A boot applies what waits for it (a pending mode, configured identities): either
:meth:`FakePartitionsWorld.boot`, or any on/restart/reset the fake power driver was
sent since the last look (read from the system's ``commands``). A host found off has
no running partitions: they went off with it (``killed_by_host``).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.partitions import (
    CpuMode,
    MachineMode,
    Partition,
    PartitionSpec,
    Pool,
    PoolPort,
    PortKind,
)
from kanri.domain.pools import place, require_valid
from kanri.domain.servers import IDENTITY_NAMES, IDENTITY_PAIRS
from kanri.domain.states import PowerState, SystemKind
from kanri.drivers.fake.partitions_world import (
    FakeHost,
    FakePartition,
    FakePort,
    partitions_world_of,
)
from kanri.drivers.fake.world import FakeSystem
from kanri.drivers.redfish.partitions_mapping import LAB_MEMORY_BLOCK_GIB
from kanri.drivers.registry import DriverContext

MAX_SHARED_PER_CORE = 4
MAX_SHARED_PER_PORT = 16
_ADDRESS = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})*$")


class FakePartitions:
    """:class:`kanri.drivers.base.PartitionDriver` in memory."""

    def __init__(self, context: DriverContext) -> None:
        self.state = partitions_world_of(context)
        self.world = self.state.world

    def close(self) -> None:
        """Nothing to log out of."""

    # -- plumbing ------------------------------------------------------------------------
    def _enter(self, bmc: Bmc) -> None:
        """One request's worth of checks (call with the lock held)."""
        self.world.contact(bmc.url, bmc.username, bmc.password)
        self.state.settle(bmc.url)

    def _partition(self, bmc: Bmc, partition_id: str) -> FakePartition:
        found = self.state.partitions.get((bmc.url, partition_id))
        if found is None:
            raise NotFound(f"no partition {partition_id} on {bmc.url}")
        return found

    def _power(self, bmc: Bmc, system_id: str) -> PowerState:
        return self.world.bmcs[bmc.url].systems[system_id].power

    def _users(self, bmc: Bmc, host: str, exclude: str | None = None) -> dict[str, FakePartition]:
        return {
            pid: p
            for (u, pid), p in self.state.partitions.items()
            if u == bmc.url and p.host == host and pid != exclude
        }

    # -- mode ----------------------------------------------------------------------------
    def mode(self, bmc: Bmc, system_id: str) -> tuple[MachineMode, MachineMode | None]:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            host = self.state.host(bmc.url, system_id)
            return host.mode, host.pending

    def set_mode(self, bmc: Bmc, system_id: str, mode: MachineMode) -> None:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            host = self.state.host(bmc.url, system_id)
            host.pending = None if mode is host.mode else mode

    # -- pool and partitions -------------------------------------------------------------
    def pool(self, bmc: Bmc, host_id: str) -> Pool:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            host = self.state.host(bmc.url, host_id)
            users = self._users(bmc, host_id)
            if host.mode is MachineMode.BARE and not users:
                return Pool(host_id, MachineMode.BARE, cores=0, memory_gib=0)
            return _pool_of(host_id, host, users, host.mode)

    def partitions(self, bmc: Bmc, host_id: str) -> list[Partition]:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            self.state.host(bmc.url, host_id)
            return [self._snapshot(bmc, pid) for pid in sorted(self._users(bmc, host_id))]

    def _snapshot(self, bmc: Bmc, partition_id: str) -> Partition:
        part = self._partition(bmc, partition_id)
        ports = tuple(
            replace(u, identity=_identity(part.ports[u.port]) if u.shared else None)
            for u in part.spec.ports
        )
        spec = replace(part.spec, ports=ports, cpus=part.cpus)
        return Partition(partition_id, part.host, spec, self._power(bmc, partition_id))

    def create(self, bmc: Bmc, host_id: str, spec: PartitionSpec) -> Partition:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            host = self.state.host(bmc.url, host_id)
            systems = self.world.bmcs[bmc.url].systems
            new_id = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec.name).strip("-.")
            if not new_id:
                raise Invalid(f"partition name {spec.name!r} makes no system id")
            if new_id in systems:
                raise Conflict(f"a system with Id {new_id} exists already")
            if host.mode is not MachineMode.HYPERVISOR:
                pending = " (hypervisor mode is pending: it takes effect at the next boot)"
                raise Conflict(
                    f"{host_id} is in bare mode: it has no resource pool to compose from"
                    + (pending if host.pending is MachineMode.HYPERVISOR else "")
                )
            cpus = self._fit(bmc, host_id, host, spec, None, ())
            part = FakePartition(host_id, replace(spec, cpus=()), cpus)
            part.ports = self._virtual_ports(bmc, host, new_id, spec, {})
            inventory = SystemInventory(
                system_id=new_id,
                manufacturer="Kanri Fake",
                model="FK-1 partition",
                cpu_cores=spec.cores,
                memory_mib=spec.memory_gib * 1024,
                kind=SystemKind.PARTITION,
                host_system_id=host_id,
            )
            systems[new_id] = FakeSystem(inventory=inventory)
            self.state.partitions[(bmc.url, new_id)] = part
            return self._snapshot(bmc, new_id)

    def modify(self, bmc: Bmc, partition_id: str, spec: PartitionSpec) -> Partition:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            part = self._partition(bmc, partition_id)
            if spec.name != part.spec.name:
                raise Invalid(
                    f"partition {partition_id} is named {part.spec.name!r}: the BMC cannot "
                    f"rename it to {spec.name!r}"
                )
            host = self.state.host(bmc.url, part.host)
            cpus = self._fit(bmc, part.host, host, spec, partition_id, part.cpus)
            offline = _needs_off(part.spec, spec)
            power = self._power(bmc, partition_id)
            if offline and power is not PowerState.OFF:
                raise Conflict(
                    f"partition {partition_id} is {_said(power)}: " + "; ".join(offline)
                    + " need it Off (adding cores and changing SharedWeight work while it "
                    "runs); shut it down first"
                )  # fmt: skip
            part.ports = self._virtual_ports(bmc, host, partition_id, spec, part.ports)
            part.spec, part.cpus = replace(spec, cpus=()), cpus
            inventory = self.world.bmcs[bmc.url].systems[partition_id].inventory
            self.world.bmcs[bmc.url].systems[partition_id].inventory = replace(
                inventory, cpu_cores=spec.cores, memory_mib=spec.memory_gib * 1024
            )
            return self._snapshot(bmc, partition_id)

    def delete(self, bmc: Bmc, partition_id: str) -> None:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            if partition_id in self.world.bmcs[bmc.url].systems and (
                (bmc.url, partition_id) not in self.state.partitions
            ):
                raise Invalid(f"{partition_id} is a machine: only partitions can be deleted")
            self._partition(bmc, partition_id)
            power = self._power(bmc, partition_id)
            if power is not PowerState.OFF:
                raise Conflict(
                    f"partition {partition_id} is {_said(power)}: power it off before deleting it"
                )
            del self.state.partitions[(bmc.url, partition_id)]
            del self.world.bmcs[bmc.url].systems[partition_id]

    def set_identity(self, bmc: Bmc, system_id: str, port: str, identity: str | None) -> None:
        self.world.latency(bmc.url)
        with self.state.lock:
            self._enter(bmc)
            part = self.state.partitions.get((bmc.url, system_id))
            ports = part.ports if part else self.state.host(bmc.url, system_id).ports
            if port not in ports:
                names = ", ".join(sorted(ports)) or "none"
                raise NotFound(f"{system_id} has no port {port} (its ports: {names})")
            target = ports[port]
            target.configured = _checked(identity, target.kind, f"{system_id} port {port}")

    # -- the pool's rules ----------------------------------------------------------------
    def _fit(
        self,
        bmc: Bmc,
        host_id: str,
        host: FakeHost,
        spec: PartitionSpec,
        exclude: str | None,
        own: tuple[int, ...],
    ) -> tuple[int, ...]:
        """The cores ``spec`` gets on ``host`` (as the lab picks them), or the refusal: the
        domain's check on the pool the other partitions leave (``exclude`` is the one being
        modified, ``own`` its cores now)."""
        require_valid(spec)
        _check_identities(spec)
        users = self._users(bmc, host_id, exclude)
        # The pool's rules hold for the partitions a host has even when it went bare.
        pool = _pool_of(host_id, host, users, MachineMode.HYPERVISOR)
        return tuple(sorted(place(pool, spec, prefer=own)))

    def _virtual_ports(
        self,
        bmc: Bmc,
        host: FakeHost,
        partition_id: str,
        spec: PartitionSpec,
        old: dict[str, FakePort],
    ) -> dict[str, FakePort]:
        """A virtual port per shared port: kept if it was shared before, else new."""
        ports: dict[str, FakePort] = {}
        for use in spec.ports:
            if not use.shared:
                continue
            physical = host.ports[use.port]
            port = old.get(use.port) or FakePort(
                use.port, physical.kind, _virtual(bmc.url, partition_id, physical)
            )
            if use.identity is not None:
                port.configured = _checked(use.identity, port.kind, f"{partition_id} {use.port}")
            ports[use.port] = port
        return ports


# helpers -----------------------------------------------------------------------------------
def _said(power: PowerState) -> str:
    """A power state as a BMC says it (the lab's messages: "is On")."""
    return "".join(word.capitalize() for word in power.value.split("_"))


def _pool_of(
    host_id: str, host: FakeHost, users: dict[str, FakePartition], mode: MachineMode
) -> Pool:
    """``host``'s pool with what ``users`` hold (as the lab: memory in whole 8 GiB blocks)."""
    core_use = tuple(
        tuple(sorted(pid for pid, p in users.items() if core in p.cpus))
        for core in range(host.cores)
    )
    dedicated = frozenset(
        c for p in users.values() if p.spec.cpu_mode is CpuMode.DEDICATED for c in p.cpus
    )
    return Pool(
        host_id,
        mode,
        cores=host.cores,
        memory_gib=host.memory_gib // LAB_MEMORY_BLOCK_GIB * LAB_MEMORY_BLOCK_GIB,
        memory_block_gib=LAB_MEMORY_BLOCK_GIB,
        max_shared_per_core=MAX_SHARED_PER_CORE,
        core_use=core_use,
        dedicated_cores=dedicated,
        memory_used_gib=sum(p.spec.memory_gib for p in users.values()),
        ports=tuple(_pool_port(port, users) for port in host.ports.values()),
    )


def _pool_port(port: FakePort, users: dict[str, FakePartition]) -> PoolPort:
    held = [(pid, u) for pid, p in users.items() for u in p.spec.ports if u.port == port.id]
    return PoolPort(
        port.id,
        port.kind,
        port.permanent,
        dedicated_to=next((pid for pid, u in held if not u.shared), None),
        shared_by=tuple(sorted(pid for pid, u in held if u.shared)),
        max_shared=MAX_SHARED_PER_PORT,
    )


def _identity(port: FakePort) -> str:
    return port.configured or port.permanent


def _virtual(url: str, partition_id: str, physical: FakePort) -> str:
    """A virtual identity, stable for the same BMC, partition and port."""
    h = zlib.crc32(f"{url}/{partition_id}/{physical.id}".encode()) & 0xFFFFFF
    tail = f"{h >> 16:02x}:{(h >> 8) & 0xFF:02x}:{h & 0xFF:02x}"
    index = int(re.sub(r"\D", "", physical.id) or 0)
    if physical.kind is PortKind.FC:
        return f"2a:{index:02x}:00:6b:00:{tail}"
    return f"06:00:{index:02x}:{tail}"


def _checked(identity: str | None, kind: PortKind, where: str) -> str | None:
    if identity is None:
        return None
    text = identity.replace("-", ":").lower()
    pairs = text.count(":") + 1
    if not _ADDRESS.match(text) or pairs not in IDENTITY_PAIRS[kind] or set(text) <= {"0", ":"}:
        raise Invalid(f"{where}: identity {identity!r} is not {IDENTITY_NAMES[kind]}")
    return text


def _check_identities(spec: PartitionSpec) -> None:
    """As the lab: a dedicated port presents the host port's own identity."""
    for use in spec.ports:
        if use.identity is not None and not use.shared:
            raise Invalid(
                f"partition {spec.name}: port {use.port} is dedicated and presents the host "
                "port's own identity; only a shared port takes a virtual one"
            )


def _needs_off(before: PartitionSpec, after: PartitionSpec) -> list[str]:
    """What a running partition cannot take (as the lab: adding cores and the weight can)."""
    changes: list[str] = []
    if after.cpu_mode is not before.cpu_mode:
        changes.append(f"changing CpuMode ({before.cpu_mode.value} to {after.cpu_mode.value})")
    if after.cores < before.cores:
        changes.append(f"removing cores ({before.cores} to {after.cores})")
    if after.memory_gib != before.memory_gib:
        changes.append(f"changing memory ({before.memory_gib} to {after.memory_gib} GiB)")
    old = sorted((u.port, u.shared) for u in before.ports)
    new = sorted((u.port, u.shared) for u in after.ports)
    if old != new:
        changes.append(f"changing ports ({_ports_text(old)} to {_ports_text(new)})")
    return changes


def _ports_text(ports: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{p}{':shared' if shared else ''}" for p, shared in ports) or "none"
