"""What a KVM host holds, through libvirt: :class:`kanri.drivers.base.InventoryDriver`.

The host is one machine (its system id is its name, ``getHostname()``, as
:class:`~kanri.drivers.libvirt.partitions.LibvirtPartitions` names it), and every domain
on it a partition of it (system id: the domain's name). The connection is the one the
other libvirt drivers of the manager use (``connection``).
"""

from __future__ import annotations

import libvirt

from kanri.domain.model import Bmc, FcPort, Nic, SystemInventory
from kanri.domain.partitions import PortKind
from kanri.domain.states import Health, PowerState, SystemKind
from kanri.drivers.base import SystemNotFound
from kanri.drivers.libvirt import domxml
from kanri.drivers.libvirt.connection import SHARED_KEY, Connections
from kanri.drivers.libvirt.partitions import host_ports
from kanri.drivers.libvirt.power import power_of
from kanri.drivers.registry import DriverContext


def _sysinfo(conn: libvirt.virConnect) -> dict[str, str]:
    """The host's SMBIOS system entries (manufacturer, product, serial, uuid); none
    when the host does not say (libvirt's test driver, a host without dmidecode)."""
    try:
        root = domxml.parse(conn.getSysinfo(0))
    except libvirt.libvirtError:
        return {}
    return {
        e.get("name", ""): (e.text or "").strip()
        for e in root.findall("./system/entry")
        if (e.text or "").strip()
    }


def _host(conn: libvirt.virConnect) -> SystemInventory:
    info = conn.getInfo()  # [model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
    smbios = _sysinfo(conn)
    uuid = smbios.get("uuid") or domxml.parse(conn.getCapabilities()).findtext("./host/uuid")
    ports = host_ports(conn)
    return SystemInventory(
        system_id=conn.getHostname(),
        manufacturer=smbios.get("manufacturer"),
        model=smbios.get("product"),
        serial=smbios.get("serial"),
        uuid=uuid or None,
        cpu_cores=int(info[2]),
        memory_mib=int(info[1]),
        nics=tuple(Nic(p.id, p.identity) for p in ports if p.kind is PortKind.NIC),
        fc_ports=tuple(FcPort(p.id, p.identity) for p in ports if p.kind is PortKind.FC),
        health=Health.OK,  # it answers; its hardware's health is its BMC's to tell
        power=PowerState.ON,
        kind=SystemKind.MACHINE,
    )


def _nics(xml: str) -> tuple[Nic, ...]:
    """The domain's interfaces with a MAC, named by the host port they use (kanri's
    partitions' port ids), else their alias or guest-side device."""
    found: list[Nic] = []
    for i, iface in enumerate(domxml.parse(xml).findall("./devices/interface")):
        mac = iface.find("mac")
        if mac is None or not mac.get("address"):
            continue
        source, alias, target = iface.find("source"), iface.find("alias"), iface.find("target")
        name = (
            (source.get("dev") if source is not None else None)
            or (alias.get("name") if alias is not None else None)
            or (target.get("dev") if target is not None else None)
            or f"net{i}"
        )
        found.append(Nic(name, mac.get("address", "").lower()))
    return tuple(found)


def _domain(dom: libvirt.virDomain, host: str) -> SystemInventory:
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    facts = domxml.domain_facts(xml)
    power = power_of(dom)
    return SystemInventory(
        system_id=dom.name(),
        uuid=dom.UUIDString(),
        cpu_cores=facts.vcpus,
        memory_mib=facts.memory_kib // 1024,
        nics=_nics(xml),
        health=Health.UNKNOWN if power is PowerState.UNKNOWN else Health.OK,
        power=power,
        kind=SystemKind.PARTITION,
        host_system_id=host,
    )


class LibvirtInventory:
    def __init__(self, context: DriverContext) -> None:
        self.connections: Connections = context.shared(SHARED_KEY, Connections)

    def _lookup(self, conn: libvirt.virConnect, bmc: Bmc, system_id: str) -> libvirt.virDomain:
        try:
            return conn.lookupByName(system_id)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise SystemNotFound(bmc.url, f"no system {system_id}") from None
            raise

    def discover(self, bmc: Bmc) -> list[SystemInventory]:
        """The host, then its domains by name."""
        with self.connections.calling(bmc, "discover the host") as conn:
            host = _host(conn)
            domains = sorted(conn.listAllDomains(), key=lambda d: str(d.name()))
            return [host] + [_domain(d, host.system_id) for d in domains]

    def inventory(self, bmc: Bmc, system_id: str) -> SystemInventory:
        with self.connections.calling(bmc, f"read the inventory of {system_id}") as conn:
            hostname = conn.getHostname()
            if system_id == hostname:
                return _host(conn)
            return _domain(self._lookup(conn, bmc, system_id), hostname)

    def health(self, bmc: Bmc, system_id: str) -> Health:
        with self.connections.calling(bmc, f"read the health of {system_id}") as conn:
            if system_id == conn.getHostname():
                return Health.OK
            power = power_of(self._lookup(conn, bmc, system_id))
            return Health.UNKNOWN if power is PowerState.UNKNOWN else Health.OK

    def close(self) -> None:
        self.connections.close()
