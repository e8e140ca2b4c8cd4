"""Servers placed on bare machines or partitions (docs/partitions.md, "Servers").

Placing a server sets its port identities (WWPNs, MACs) on the target's ports through the
partitions driver's ``set_identity``: the target presents them from its next boot, and the
SAN mapping of the server's boot volume follows its identity, so nothing on the array
changes. ``place`` and ``unplace`` are journaled direct calls under the target's lock (a
few PATCHes an operator waits for), not jobs: the placement is written, with a
``server.place`` event, *before* any identity is sent, and the real state (the target's
power, mode and ports) is read back first. A manager killed half way leaves the placement
recorded; ``place`` again on the same target sends the same identities again (setting an
identity is idempotent), and ``unplace`` restores the permanent ones first and forgets the
placement last.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from kanri.domain.cascade import host_names
from kanri.domain.errors import Conflict, Invalid, KanriError, NotFound
from kanri.domain.jobs import Job
from kanri.domain.model import Bmc, Machine
from kanri.domain.partitions import MachineMode, PortKind
from kanri.domain.servers import (
    Server,
    check_volume,
    fit_machine,
    fit_partition,
    make_identity,
    normalize,
)
from kanri.domain.states import PowerAction, PowerState, SystemKind
from kanri.drivers.base import PartitionDriver
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.engine.jobs import JobService
from kanri.engine.locks import TargetLocks
from kanri.store.repo import Repository
from kanri.store.servers_repo import ServersRepository

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"fc0": PortKind.FC, "nic0": PortKind.NIC}  # generated when none is named
_ON = frozenset({PowerAction.ON, PowerAction.RESTART, PowerAction.RESET})


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """A server and where it is: the machine, its kind, a partition's host, its power."""

    server: Server
    kind: SystemKind | None = None
    host: str | None = None
    power: PowerState | None = None  # the placement's power as last read


def resolve_target(repo: Repository, name: str) -> str:
    """A power target: a machine's name as is, a server's name as its placement.
    :class:`Conflict` for a server placed nowhere; else the machine's NotFound."""
    try:
        repo.get_machine(name)
        return name
    except NotFound:
        server = ServersRepository(repo.db).find(name)
        if server is None:
            raise
    if server.placed_on is None:
        raise Conflict(
            f"server {name} is placed nowhere: place it first (kanri server place {name} TARGET)"
        )
    return server.placed_on


class ServerService:
    def __init__(
        self,
        store: ServersRepository,
        repo: Repository,
        drivers: Drivers,
        calls: DriverCalls,
        locks: TargetLocks,
        jobs: JobService,
    ) -> None:
        self.store = store
        self.repo = repo
        self.drivers = drivers
        self.calls = calls
        self.locks = locks
        self.jobs = jobs
        # Called ``(host, reason, by)`` after a placement on a host's partition changes:
        # the layouts service records the host's layout (its servers are part of it).
        self._listeners: builtins.list[Callable[[str, str, str], None]] = []

    def listen(self, callback: Callable[[str, str, str], None]) -> None:
        self._listeners.append(callback)

    def _changed(self, target: str, reason: str, by: str) -> None:
        host = host_names(self.repo.list_machines()).get(target)
        if host is None:
            return  # a bare machine: no layout
        for callback in self._listeners:
            try:
                callback(host, reason, by)
            except Exception:  # a listener's failure must not undo a change that happened
                log.exception("server change listener failed for %s (%s)", host, reason)

    # registry ---------------------------------------------------------------------------

    def add(
        self,
        name: str,
        boot_volume: str | None = None,
        cores: int | None = None,
        memory_gib: int | None = None,
        wwpns: dict[str, str | None] | None = None,
        macs: dict[str, str | None] | None = None,
        uuid: str | None = None,
    ) -> Server:
        """A new server. A port given None gets a generated identity; with no port named,
        fc0 and nic0 do. :class:`Conflict` when another server presents an identity."""
        wwpns, macs = dict(wwpns or {}), dict(macs or {})
        both = sorted(set(wwpns) & set(macs))
        if both:
            raise Invalid(f"server {name}: port {both[0]} is named as FC and as NIC")
        for what, amount in (("cores", cores), ("memory", memory_gib)):
            if amount is not None and amount < 1:
                raise Invalid(f"server {name}: {what} must be 1 or more, got {amount}")
        given = {p: v for p, v in (wwpns | macs).items() if v is not None}
        generated = {p: PortKind.FC for p, v in wwpns.items() if v is None}
        generated |= {p: PortKind.NIC for p, v in macs.items() if v is None}
        if not given and not generated:
            generated = dict(DEFAULT_PORTS)
        for port, value in given.items():
            # a WWPN given as --mac (or the other way) is refused by its shape
            kind = PortKind.FC if port in wwpns else PortKind.NIC
            given[port] = normalize(value, kind, f"server {name} port {port}")
        taken = [v for s in self.store.list() for v in s.identity.ports.values()]
        identity = make_identity(name, given, generated, taken, uuid)
        server = Server(
            name,
            identity,
            check_volume(boot_volume, f"server {name}"),
            cores,
            memory_gib,
        )
        made = self.store.add(server)
        self.repo.add_event("server.added", "info", None, f"server {name} added", {"server": name})
        return made

    def list(self) -> list[Server]:
        return self.store.list()

    def show(self, name: str) -> ServerStatus:
        server = self.store.get(name)
        if server.placed_on is None:
            return ServerStatus(server)
        machines = self.repo.list_machines()
        machine = next((m for m in machines if m.name == server.placed_on), None)
        if machine is None:
            return ServerStatus(server)
        host = host_names(machines).get(machine.name)
        return ServerStatus(server, machine.inventory.kind, host, machine.power)

    def placement(self, name: str) -> str | None:
        return self.store.get(name).placed_on

    def servers_on(self, machine: str) -> builtins.list[str]:
        """The server placed on ``machine``, and on a host, those on its partitions."""
        machines = self.repo.list_machines()
        hosts = host_names(machines)
        on = {machine} | {p for p, h in hosts.items() if h == machine}
        return sorted(s.name for s in self.store.list() if s.placed_on in on)

    def remove(self, name: str, by: str = "operator") -> None:
        """Forget a server; a placed one is unplaced first (refused unless its target is
        off: its identities are the permanent ones again from the next boot)."""
        with self._held(name, "remove"):
            server = self.store.get(name)
            if server.placed_on is not None:
                self._unplace(server, by)
            self.store.remove(name)
        self.repo.add_event("server.removed", "info", None, f"{by} removed server {name}", {})

    # placement ---------------------------------------------------------------------------

    def place(self, name: str, target: str, by: str = "operator") -> Server:
        """Place ``name`` on ``target`` (a bare machine or a partition), which must be off
        and hold no other server; a partition must have the server's cores, memory and
        ports. Placing a server again where it is sends its identities again."""
        with self._held(name, "place", target):
            server = self.store.get(name)
            if server.placed_on not in (None, target):
                raise Conflict(f"server {name} is placed on {server.placed_on}: unplace it first")
            other = self.store.on_machine(target)
            if other is not None and other.name != name:
                raise Conflict(f"{target} holds server {other.name} already")
            machine, bmc = self.repo.bmc_of(target)
            driver = self._partitions(machine)
            self._check_target(server, machine, bmc, driver)
            self._require_off(machine, bmc, f"place server {name} on it")
            # Journaled before acting: the placement and why.
            self.store.place(name, target)
            ports = dict(server.identity.ports)
            self.repo.add_event(
                "server.place",
                "info",
                target,
                f"{by} placed server {name} on {target}",
                {"server": name, "by": by, "ports": ports},
            )
            done: list[str] = []
            try:
                for port, identity in sorted(ports.items()):
                    self.calls.run(driver.set_identity, bmc, machine.system_id, port, identity)
                    done.append(port)
            except KanriError as exc:
                self._restore(driver, bmc, machine.system_id, done)
                self.store.place(name, None)
                self.repo.add_event(
                    "server.place_failed",
                    "error",
                    target,
                    f"placing server {name} on {target} failed: {exc}",
                    {"server": name, "by": by},
                )
                raise
            log.info("server %s placed on %s", name, target)
        self._changed(target, f"server place {name} on {target}", by)
        return self.store.get(name)

    def unplace(self, name: str, by: str = "operator") -> Server:
        """Give the ports of the server's target their permanent identities back (from
        its next boot) and forget the placement; refused unless the target is off."""
        with self._held(name, "unplace"):
            server = self.store.get(name)
            if server.placed_on is None:
                raise Conflict(f"server {name} is placed nowhere")
            self._unplace(server, by)
            return self.store.get(name)

    def _unplace(self, server: Server, by: str) -> None:
        target = server.placed_on
        assert target is not None
        with self.locks.hold(target, f"unplace server {server.name}"):
            machine, bmc = self.repo.bmc_of(target)
            self._require_off(machine, bmc, f"unplace server {server.name} from it")
            self.repo.add_event(
                "server.unplace",
                "info",
                target,
                f"{by} unplaced server {server.name} from {target}",
                {"server": server.name, "by": by},
            )
            driver = self._partitions(machine)
            for port in sorted(server.identity.ports):
                self.calls.run(driver.set_identity, bmc, machine.system_id, port, None)
            self.store.place(server.name, None)  # last: a crash before leaves it to redo
        self._changed(target, f"server unplace {server.name} from {target}", by)

    # power -------------------------------------------------------------------------------

    def power(
        self,
        name: str,
        action: PowerAction,
        wait: bool = False,
        timeout: float = 300,
        by: str = "operator",
    ) -> Job:
        """A ``power`` job on the server's placement (its hierarchy as for a machine)."""
        server = self.store.get(name)
        resolve_target(self.repo, name)  # Conflict when placed nowhere
        self.store.set_desired_power(name, PowerState.ON if action in _ON else PowerState.OFF)
        params: dict[str, object] = {"action": action.value, "wait": wait, "timeout": timeout}
        log.info("%s: power %s of server %s", by, action.value, server.name)
        return self.jobs.submit("power", [name], params)

    # helpers -----------------------------------------------------------------------------

    @contextmanager
    def _held(self, name: str, purpose: str, target: str | None = None) -> Iterator[None]:
        """The server (and the target) held in this manager and by no job."""
        with ExitStack() as stack:
            for held in filter(None, (name, target)):
                stack.enter_context(self.locks.hold(held, f"{purpose} server {name}"))
                job = self.jobs.repo.holder(held)
                if job is not None:
                    raise Conflict(f"{held} is busy (held by job {job}); try again when that ends")
            yield

    def _partitions(self, machine: Machine) -> PartitionDriver:
        try:
            return self.drivers.partitions(machine.driver)
        except (Invalid, NotFound):
            raise Conflict(
                f"{machine.name}: driver {machine.driver} cannot set port identities"
            ) from None

    def _check_target(
        self, server: Server, machine: Machine, bmc: Bmc, driver: PartitionDriver
    ) -> None:
        inv = machine.inventory
        if inv.kind is SystemKind.PARTITION:
            host = inv.host_system_id or ""
            found = next(
                (p for p in self.calls.run(driver.partitions, bmc, host)
                 if p.id == machine.system_id),
                None,
            )  # fmt: skip
            if found is None:
                raise NotFound(f"{machine.name}: its host {host} has no partition {inv.system_id}")
            lacks = fit_partition(server, found.spec)
        else:
            mode, _ = self.calls.run(driver.mode, bmc, machine.system_id)
            if mode is MachineMode.HYPERVISOR:
                raise Conflict(
                    f"{machine.name} is in hypervisor mode: place server {server.name} on one "
                    "of its partitions"
                )
            memory = inv.memory_mib // 1024 if inv.memory_mib else None
            lacks = fit_machine(server, inv.cpu_cores, memory)
        if lacks:
            raise Conflict(f"{machine.name} cannot take server {server.name}: " + "; ".join(lacks))

    def _require_off(self, machine: Machine, bmc: Bmc, what: str) -> None:
        power = self.calls.run(self.drivers.power(machine.driver).get_power, bmc, machine.system_id)
        self.repo.record_power(machine.name, power, reachable=True)
        if power is not PowerState.OFF:
            raise Conflict(
                f"{machine.name} is {power.value}: power it off to {what} (an identity is "
                "presented from the next boot)"
            )

    def _restore(
        self, driver: PartitionDriver, bmc: Bmc, system_id: str, ports: builtins.list[str]
    ) -> None:
        for port in ports:
            try:
                self.calls.run(driver.set_identity, bmc, system_id, port, None)
            except KanriError:
                log.exception("could not restore %s port %s", system_id, port)
