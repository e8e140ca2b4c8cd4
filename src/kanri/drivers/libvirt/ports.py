"""Adapter ports of a partition as libvirt devices: what kanri chose and why. Pure.

- NIC, dedicated: ``<interface type='direct'>`` on the host device in macvtap
  ``passthrough`` mode: the device is the guest's alone. Its MAC is the port's own
  (the host device's) unless kanri gave it another.
- NIC, shared: ``<interface type='direct'>`` in macvtap ``bridge`` mode: a virtual port
  with its own MAC beside the other guests' on the same host device.
- FC, dedicated: the HBA's PCI function as a ``<hostdev type='pci' managed='yes'>``; the
  guest drives the HBA and presents its burnt-in WWPN (no virtual identity is possible).
- FC, shared: an NPIV vHBA with a virtual WWPN, kept as a persistent libvirt ``scsi``
  storage pool on an ``fc_host`` adapter (libvirt's documented way to make a vHBA that
  survives a host reboot). The SAN masks LUNs to that WWPN; a boot LUN reaches the guest
  as a ``<disk type='volume' device='lun'>`` from the pool, added when a server is placed.
  A vHBA is not a PCI device a guest could drive, so the domain XML holds no device for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from kanri.domain.errors import Invalid, NotFound
from kanri.domain.partitions import PartitionSpec, PortKind, PortUse
from kanri.drivers.libvirt.domxml import NicDevice, PciDevice
from kanri.drivers.libvirt.hostxml import HostPort

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_WWN = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){7}$")


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def virtual_mac(host: str, partition: str, port: str) -> str:
    """A stable MAC for a shared NIC port: qemu's locally administered 52:54:00 prefix."""
    tail = _digest(host, partition, port)[:3]
    return "52:54:00:" + ":".join(f"{b:02x}" for b in tail)


def virtual_wwpn(host: str, partition: str, port: str) -> str:
    """A stable WWPN for a shared FC port (NAA 2, "21:00" then six bytes of a hash)."""
    tail = _digest(host, partition, port)[:6]
    return "21:00:" + ":".join(f"{b:02x}" for b in tail)


def wwnn_for(wwpn: str) -> str:
    """The vHBA's node name, made from its port name (NPIV needs both)."""
    return "20:00:" + wwpn[6:]


def pool_name(partition: str, port: str) -> str:
    """The storage pool that holds a partition's vHBA on ``port``."""
    return f"kanri-{partition}-{port}"


def check_identity(kind: PortKind, identity: str) -> str:
    text = identity.strip().lower()
    if kind is PortKind.NIC and not _MAC.match(text):
        raise Invalid(f"{identity!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    if kind is PortKind.FC and not _WWN.match(text):
        raise Invalid(f"{identity!r} is not a WWPN (eight bytes, aa:bb:...:hh)")
    return text


@dataclass(frozen=True, slots=True)
class Vhba:
    pool: str
    parent: tuple[str, str]  # the physical HBA's (WWNN, WWPN)
    wwpn: str
    wwnn: str


@dataclass(frozen=True, slots=True)
class PortPlan:
    """The devices and vHBAs that give a partition its ports, and its spec with the
    identities of its shared ports filled in (the ones asked, or the driver's)."""

    devices: tuple[NicDevice | PciDevice, ...]
    vhbas: tuple[Vhba, ...]
    spec: PartitionSpec


def _pci_parts(name: str) -> tuple[int, int, int, int]:
    # "pci:0000:05:00.0"
    _, domain, bus, rest = name.split(":")
    slot, function = rest.split(".")
    return int(domain, 16), int(bus, 16), int(slot, 16), int(function, 16)


def plan_ports(host: str, host_ports: tuple[HostPort, ...], spec: PartitionSpec) -> PortPlan:
    """What gives ``spec`` its ports on ``host``; Invalid for what libvirt cannot express."""
    by_id = {p.id: p for p in host_ports}
    devices: list[NicDevice | PciDevice] = []
    vhbas: list[Vhba] = []
    uses: list[PortUse] = []
    for use in spec.ports:
        port = by_id.get(use.port)
        if port is None:
            known = ", ".join(by_id) or "none"
            raise NotFound(f"{host} has no port {use.port} (its ports: {known})")
        identity = check_identity(port.kind, use.identity) if use.identity else None
        if port.kind is PortKind.NIC:
            default = virtual_mac(host, spec.name, use.port) if use.shared else port.identity
            mac = identity or default
            devices.append(NicDevice(use.port, mac, dedicated=not use.shared))
            shown = identity or (mac if use.shared else None)
        elif use.shared:
            wwpn = identity or virtual_wwpn(host, spec.name, use.port)
            parent = (port.wwnn or "", port.identity)
            vhbas.append(Vhba(pool_name(spec.name, use.port), parent, wwpn, wwnn_for(wwpn)))
            shown = wwpn
        else:
            if identity is not None and identity != port.identity:
                raise Invalid(
                    f"port {use.port} of {host} dedicated to {spec.name} presents its HBA's "
                    f"own WWPN {port.identity}: use it shared for a virtual WWPN"
                )
            if port.pci is None:
                raise Invalid(
                    f"port {use.port} of {host} cannot be dedicated to {spec.name}: libvirt "
                    "shows no PCI function for its HBA to pass through"
                )
            devices.append(PciDevice(use.port, *_pci_parts(port.pci)))
            shown = identity
        uses.append(replace(use, identity=shown))
    return PortPlan(tuple(devices), tuple(vhbas), replace(spec, ports=tuple(uses)))


def with_identity(spec: PartitionSpec, port: str, identity: str | None) -> PartitionSpec:
    ports = tuple(replace(u, identity=identity) if u.port == port else u for u in spec.ports)
    return replace(spec, ports=ports)
