"""The state behind the fake partitions driver (drivers/fake/partitions.py): hosts with
pools and modes, partitions, port identities, and boots. Tests reach it through
``partitions_world_of(drivers.context)``: ``add_host``, ``boot``, ``presented``."""

from __future__ import annotations

from dataclasses import dataclass, field

from kanri.domain.errors import NotFound
from kanri.domain.partitions import MachineMode, PartitionSpec, PortKind
from kanri.domain.states import PowerState
from kanri.drivers.fake.world import FakeSystem, FakeWorld, world_of
from kanri.drivers.registry import DriverContext

_BOOTS = {"on", "restart", "reset"}


@dataclass
class FakePort:
    id: str
    kind: PortKind
    permanent: str
    configured: str | None = None  # None: the permanent one
    presented: str = ""

    def __post_init__(self) -> None:
        self.presented = self.presented or self.permanent


@dataclass
class FakeHost:
    cores: int
    memory_gib: int
    ports: dict[str, FakePort]
    mode: MachineMode = MachineMode.BARE
    pending: MachineMode | None = None
    seen: int = 0  # commands of its system already looked at


@dataclass
class FakePartition:
    host: str
    spec: PartitionSpec
    cpus: tuple[int, ...]
    ports: dict[str, FakePort] = field(default_factory=dict)  # shared ports' virtual ones
    seen: int = 0
    killed_by_host: bool = False


class FakePartitionsWorld:
    """Hosts and partitions of the fake BMCs, keyed by (BMC URL, system id). Guarded by
    the fake world's lock."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.lock = world.lock
        self.hosts: dict[tuple[str, str], FakeHost] = {}
        self.partitions: dict[tuple[str, str], FakePartition] = {}

    def host(self, url: str, system_id: str) -> FakeHost:
        """The host record of a fake machine, made on first use from its inventory."""
        with self.lock:
            key = (url, system_id)
            if key not in self.hosts:
                system = (
                    self.world.bmcs[url].systems.get(system_id) if url in self.world.bmcs else None
                )
                if system is None or key in self.partitions:
                    raise NotFound(f"no machine {system_id} on {url}")
                inv = system.inventory
                ports = {n.name: FakePort(n.name, PortKind.NIC, n.mac) for n in inv.nics}
                ports |= {f.name: FakePort(f.name, PortKind.FC, f.wwpn) for f in inv.fc_ports}
                self.hosts[key] = FakeHost(inv.cpu_cores or 0, (inv.memory_mib or 0) // 1024, ports)
            return self.hosts[key]

    def add_host(
        self,
        url: str,
        system_id: str,
        *,
        cores: int = 16,
        memory_gib: int = 64,
        mode: MachineMode = MachineMode.HYPERVISOR,
        nics: int = 2,
        fc_ports: int = 2,
    ) -> FakeHost:
        """Make (or remake) a fake machine's host record, with ports nic0.. and fc0.."""
        with self.lock:
            bmc = self.world.bmcs.get(url)
            if bmc is None or system_id not in bmc.systems:
                raise NotFound(f"no machine {system_id} on {url} (add_bmc first)")
            slot = int(system_id) if system_id.isdigit() else 0
            ports = {
                f"nic{i}": FakePort(f"nic{i}", PortKind.NIC, f"02:6b:{slot:02x}:00:00:{i:02x}")
                for i in range(nics)
            } | {
                f"fc{i}": FakePort(f"fc{i}", PortKind.FC, f"20:00:00:6b:{slot:02x}:{i:02x}:00:00")
                for i in range(fc_ports)
            }
            self.hosts[(url, system_id)] = FakeHost(cores, memory_gib, ports, mode)
            return self.hosts[(url, system_id)]

    def boot(self, url: str, system_id: str) -> None:
        """Power ``system_id`` through a boot: it is on, and what waited for it applies."""
        with self.lock:
            system = self.world.bmcs[url].systems[system_id]
            system.commands.append("restart")
            system.power = PowerState.ON
            self.settle(url)

    def settle(self, url: str) -> None:
        """Apply the boots the fake power driver did since the last look, and stop the
        partitions of hosts that are off."""
        with self.lock:
            systems = self.world.bmcs[url].systems
            for (u, sid), host in self.hosts.items():
                if u == url and sid in systems and _booted(systems[sid], host.seen):
                    if host.pending is not None:
                        host.mode, host.pending = host.pending, None
                    for port in host.ports.values():
                        port.presented = port.configured or port.permanent
                if u == url and sid in systems:
                    host.seen = len(systems[sid].commands)
            for (u, pid), part in self.partitions.items():
                system = systems.get(pid) if u == url else None
                if system is None:
                    continue
                if _booted(system, part.seen):
                    part.killed_by_host = False
                    for port in part.ports.values():
                        port.presented = port.configured or port.permanent
                part.seen = len(system.commands)
                host_system = systems.get(part.host)
                if system.power is not PowerState.OFF and (
                    host_system is None or host_system.power is PowerState.OFF
                ):
                    system.power = PowerState.OFF
                    part.killed_by_host = True

    def presented(self, url: str, system_id: str, port: str) -> str:
        """What ``system_id``'s ``port`` presents now (since its last boot)."""
        with self.lock:
            self.settle(url)
            found = self.partitions.get((url, system_id))
            ports = found.ports if found else self.host(url, system_id).ports
            if port not in ports:
                raise NotFound(f"{system_id} has no port {port} of its own")
            return ports[port].presented


def _booted(system: FakeSystem, seen: int) -> bool:
    return any(c in _BOOTS for c in system.commands[seen:])


def partitions_world_of(context: DriverContext) -> FakePartitionsWorld:
    world = world_of(context)  # first: the context's lock is not re-entrant
    return context.shared("fake.partitions", lambda: FakePartitionsWorld(world))
