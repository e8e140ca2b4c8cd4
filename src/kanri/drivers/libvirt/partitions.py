"""KVM hosts' partitions through libvirt: :class:`kanri.drivers.base.PartitionDriver`.

The BMC URL of a KVM host is its libvirt URI; its system id is the host's name
(``getHostname()``). A partition is a persistent domain named like the partition. What
maps to what is in ``domxml`` (cores, memory, the spec in ``<metadata>``) and ``ports``
(adapter ports); docs/partitions.md, "Drivers: libvirt (KVM hosts)", says it for
operators.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import libvirt

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.model import Bmc
from kanri.domain.partitions import CpuMode, MachineMode, Partition, PartitionSpec, Pool
from kanri.domain.pools import place, require_valid
from kanri.drivers.libvirt import domxml, hostxml, vhba
from kanri.drivers.libvirt.connection import SHARED_KEY, Connections
from kanri.drivers.libvirt.fit import HostFacts, build_pool, require_live, spec_of
from kanri.drivers.libvirt.ports import (
    check_identity,
    plan_ports,
    pool_name,
    with_identity,
)
from kanri.drivers.libvirt.power import power_of
from kanri.drivers.registry import DriverContext

LOG = logging.getLogger(__name__)

# The hypervisor's own memory (host kernel, libvirtd, qemu's per-guest overhead) that no
# partition gets: 4 GiB, or DriverOptions.extra[RESERVE_OPTION] (a whole number of GiB).
RESERVE_OPTION = "libvirt.memory_reserve_gib"
DEFAULT_RESERVE_GIB = 4

_INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE  # the persistent config: what the next boot gets


def memory_reserve_gib(option: str | None) -> int:
    if option is None:
        return DEFAULT_RESERVE_GIB
    try:
        return int(option)
    except ValueError:
        raise Invalid(f"{RESERVE_OPTION} must be a whole number of GiB, not {option!r}") from None


class LibvirtPartitions:
    def __init__(self, context: DriverContext) -> None:
        self.connections: Connections = context.shared(SHARED_KEY, Connections)
        self.reserve_option = context.options.extra.get(RESERVE_OPTION)

    # --- reading ---------------------------------------------------------------------

    def _host(self, conn: libvirt.virConnect, bmc: Bmc, expected: str | None) -> HostFacts:
        name = conn.getHostname()
        if expected is not None and expected != name:
            raise NotFound(f"{bmc.url} is the KVM host {name}, not {expected}")
        info = conn.getInfo()  # [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
        total_gib = int(info[1]) // 1024
        reserve = memory_reserve_gib(self.reserve_option)
        ports = host_ports(conn)
        return HostFacts(name, int(info[2]), max(total_gib - reserve, 0), ports)

    def _domains(
        self, conn: libvirt.virConnect
    ) -> list[tuple[libvirt.virDomain, domxml.DomainFacts]]:
        return [(d, domxml.domain_facts(d.XMLDesc(_INACTIVE))) for d in conn.listAllDomains()]

    def _lookup(self, conn: libvirt.virConnect, bmc: Bmc, partition_id: str) -> libvirt.virDomain:
        try:
            return conn.lookupByName(partition_id)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise NotFound(f"{bmc.url} has no partition {partition_id}") from None
            raise

    def mode(self, bmc: Bmc, system_id: str) -> tuple[MachineMode, MachineMode | None]:
        with self.connections.calling(bmc, f"read the mode of {system_id}") as conn:
            self._host(conn, bmc, system_id)
        return MachineMode.HYPERVISOR, None

    def set_mode(self, bmc: Bmc, system_id: str, mode: MachineMode) -> None:
        if mode is not MachineMode.HYPERVISOR:
            raise Invalid(
                f"{system_id} is a KVM host reached through libvirt: it is always a "
                f"hypervisor and cannot be made {mode.value} (use its BMC and reinstall it)"
            )
        self.mode(bmc, system_id)

    def pool(self, bmc: Bmc, host: str) -> Pool:
        with self.connections.calling(bmc, f"read the pool of {host}") as conn:
            facts = self._host(conn, bmc, host)
            return build_pool(facts, [f for _, f in self._domains(conn)])

    def partitions(self, bmc: Bmc, host: str) -> list[Partition]:
        with self.connections.calling(bmc, f"list the partitions of {host}") as conn:
            self._host(conn, bmc, host)
            return [
                Partition(f.name, host, spec_of(f), power_of(d))
                for d, f in sorted(self._domains(conn), key=lambda df: df[1].name)
            ]

    # --- changing --------------------------------------------------------------------

    def create(self, bmc: Bmc, host: str, spec: PartitionSpec) -> Partition:
        require_valid(spec)
        what = f"create partition {spec.name} on {host}"
        with (
            self.connections.host_lock(bmc.url),
            self.connections.calling(bmc, what) as conn,
        ):
            facts = self._host(conn, bmc, host)
            domains = self._domains(conn)
            if any(f.name == spec.name for _, f in domains):
                raise Conflict(f"{host} has a partition named {spec.name} already")
            cpus = place(build_pool(facts, [f for _, f in domains]), spec)
            plan = plan_ports(host, facts.ports, spec)
            made = replace(plan.spec, cpus=tuple(sorted(cpus)))
            kind = hostxml.guest_kind(conn.getCapabilities())
            root = domxml.skeleton(spec.name, kind.domain_type, kind.arch)
            domxml.apply_spec(root, made, cpus, plan.devices, facts.cpus)
            dom = conn.defineXML(domxml.to_text(root))
            try:
                vhba.define(conn, plan.vhbas)
            except BaseException:
                dom.undefine()  # nothing is changed by a refused call
                raise
            return Partition(spec.name, host, made, power_of(dom))

    def modify(self, bmc: Bmc, partition_id: str, spec: PartitionSpec) -> Partition:
        require_valid(spec)
        if spec.name != partition_id:
            raise Invalid(f"partition {partition_id} keeps its name: it cannot become {spec.name}")
        what = f"modify partition {partition_id}"
        with (
            self.connections.host_lock(bmc.url),
            self.connections.calling(bmc, what) as conn,
        ):
            dom = self._lookup(conn, bmc, partition_id)
            facts = self._host(conn, bmc, None)
            domains = self._domains(conn)
            current = next(f for _, f in domains if f.name == partition_id)
            others = [f for _, f in domains if f.name != partition_id]
            pool = build_pool(facts, others)
            now = tuple(min(p) for p in current.pins if p)
            cpus = place(pool, spec, prefer=now)
            plan = plan_ports(facts.name, facts.ports, spec)
            if dom.isActive():
                cpus = self._modify_live(dom, current, plan.spec, cpus, now)
            made = replace(plan.spec, cpus=tuple(sorted(cpus)))
            root = domxml.parse(dom.XMLDesc(_INACTIVE))
            domxml.apply_spec(root, made, cpus, plan.devices, facts.cpus)
            conn.defineXML(domxml.to_text(root))
            vhba.define(conn, plan.vhbas)
            keep = {v.pool for v in plan.vhbas}
            vhba.remove(conn, [n for n in _vhba_pools(spec_of(current)) if n not in keep])
            return Partition(partition_id, facts.name, made, power_of(dom))

    def _modify_live(
        self,
        dom: libvirt.virDomain,
        current: domxml.DomainFacts,
        spec: PartitionSpec,
        cpus: tuple[int, ...],
        now: tuple[int, ...],
    ) -> tuple[int, ...]:
        """Apply what a running domain takes live (more vCPUs within its maximum, its CPU
        weight); Conflict naming what needs it off. The per-vCPU cores to keep."""
        old = spec_of(current)
        require_live(current, spec, now)
        weight_key = None
        if spec.cpu_mode is CpuMode.SHARED and spec.shared_weight != old.shared_weight:
            params = dom.schedulerParameters()
            # qemu's scheduler takes cpu_shares; libvirt's test driver only Xen's credit
            # 'weight' (libvirt 9.0), the same relative weight under another name.
            weight_key = next((k for k in ("cpu_shares", "weight") if k in params), None)
            if weight_key is None:
                raise Conflict(
                    f"partition {spec.name} is On: changing its shared weight needs it Off "
                    f"(its hypervisor's scheduler takes only {', '.join(params) or 'nothing'})"
                )
        added = tuple(c for c in cpus if c not in now)[: spec.cores - len(now)]
        mapping = now + added
        if spec.cores > current.vcpus:
            dom.setVcpusFlags(spec.cores, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            for vcpu in range(len(now), spec.cores):
                cpumap = tuple(i == mapping[vcpu] for i in range(max(mapping) + 1))
                dom.pinVcpu(vcpu, cpumap)  # flags 0: the running domain
        if weight_key is not None:
            dom.setSchedulerParameters({weight_key: spec.shared_weight})
        return mapping

    def delete(self, bmc: Bmc, partition_id: str) -> None:
        with (
            self.connections.host_lock(bmc.url),
            self.connections.calling(bmc, f"delete partition {partition_id}") as conn,
        ):
            dom = self._lookup(conn, bmc, partition_id)
            if dom.isActive():
                # libvirt would undefine a running domain (it goes on, transient): refuse.
                raise Conflict(f"partition {partition_id} is On: power it off before deleting it")
            root = domxml.parse(dom.XMLDesc(_INACTIVE))
            facts = domxml.domain_facts(dom.XMLDesc(_INACTIVE))
            flags = (
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            )
            if root.find("./os/nvram") is not None:
                flags |= libvirt.VIR_DOMAIN_UNDEFINE_NVRAM  # UEFI vars (test driver lacks it)
            dom.undefineFlags(flags)
            vhba.remove(conn, _vhba_pools(spec_of(facts)))

    def set_identity(self, bmc: Bmc, system_id: str, port: str, identity: str | None) -> None:
        what = f"set the identity of {system_id} port {port}"
        with (
            self.connections.host_lock(bmc.url),
            self.connections.calling(bmc, what) as conn,
        ):
            dom = self._lookup(conn, bmc, system_id)
            facts = domxml.domain_facts(dom.XMLDesc(_INACTIVE))
            if facts.spec is None:
                raise Invalid(f"partition {system_id} was not made by kanri: its ports are unknown")
            uses = {u.port: u for u in facts.spec.ports}
            if port not in uses:
                known = ", ".join(uses) or "none"
                raise NotFound(f"partition {system_id} has no port {port} (its ports: {known})")
            host = self._host(conn, bmc, None)
            kinds = {p.id: p.kind for p in host.ports}
            if port not in kinds:
                raise NotFound(f"{host.name} has no port {port} any more (partition {system_id})")
            kind = kinds[port]
            value = check_identity(kind, identity) if identity is not None else None
            # plan_ports refuses a dedicated FC WWPN, and fills in the driver's identity
            # when the port's own is asked back (None).
            plan = plan_ports(host.name, host.ports, with_identity(facts.spec, port, value))
            spec = plan.spec
            root = domxml.parse(dom.XMLDesc(_INACTIVE))
            for device in plan.devices:
                if isinstance(device, domxml.NicDevice) and device.port == port:
                    domxml.set_mac(root, port, device.mac)
            domxml.set_spec(root, spec)
            # The persistent config: the running domain keeps its MAC until it boots again.
            conn.defineXML(domxml.to_text(root))
            vhba.define(conn, plan.vhbas)
            if not dom.isActive():
                # An off partition's vHBA can take its new WWPN now (the pool restarts).
                vhba.refresh(conn, [pool_name(system_id, port)])

    def close(self) -> None:
        self.connections.close()


def host_ports(conn: libvirt.virConnect) -> tuple[hostxml.HostPort, ...]:
    """The host's NIC ports (physical interfaces, by name), then its FC HBA ports
    (fc0, fc1, ... by PCI address)."""
    nics: list[hostxml.HostPort] = []
    for iface in _optional(conn.listAllInterfaces, "host interfaces"):
        port = hostxml.nic_port(iface.XMLDesc(0))
        if port is not None:
            nics.append(port)
    fcs: list[hostxml.HostPort] = []
    fc_cap = libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST
    for dev in _optional(lambda: conn.listAllDevices(fc_cap), "node devices"):
        fc = hostxml.fc_host(dev.XMLDesc(0))
        if fc is None:
            continue
        pci = None
        if fc.parent.startswith("pci_"):
            pci = hostxml.pci_address(conn.nodeDeviceLookupByName(fc.parent).XMLDesc(0))
        port = hostxml.fc_port(fc, pci)
        if port is not None:
            fcs.append(port)
    return tuple(sorted(nics, key=lambda p: p.id) + hostxml.number_fc_ports(fcs))


def _vhba_pools(spec: PartitionSpec) -> tuple[str, ...]:
    """The vHBA pools ``spec``'s shared ports may have (a shared NIC's name has none:
    removing a pool that is not there changes nothing)."""
    return tuple(pool_name(spec.name, u.port) for u in spec.ports if u.shared and u.port)


def _optional(listing: Callable[[], list[Any]], what: str) -> list[Any]:
    """A listing a host may not offer: with libvirt's modular daemons, virtinterfaced or
    virtnodedevd may not run ("this function is not supported by the connection driver").
    Such a host has no ports of that kind for kanri, said in the log."""
    try:
        return listing()
    except libvirt.libvirtError as e:
        if e.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise
        LOG.warning("the host lists no %s (%s): no ports from them", what, e.get_error_message())
        return []
