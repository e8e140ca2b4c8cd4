"""A KVM host's XML (capabilities, host interfaces, node devices) to plain facts. Pure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from kanri.domain.partitions import PortKind
from kanri.drivers.libvirt.domxml import parse, pci_name

# A port that can be shared when its NPIV limit is unknown (and every NIC): as the lab.
DEFAULT_MAX_SHARED = 16


@dataclass(frozen=True, slots=True)
class GuestKind:
    """What ``<domain type=...>`` and ``<os><type arch=...>`` a new domain gets."""

    domain_type: str  # "kvm" on a KVM host; "test" on libvirt's test driver
    arch: str


def guest_kind(capabilities: str) -> GuestKind:
    """The hardware-accelerated guest for the host's own architecture when offered
    (kvm on x86_64), else the first HVM guest the host offers."""
    root = parse(capabilities)
    host_arch = root.findtext("./host/cpu/arch", "")
    offers: list[tuple[str, str]] = []
    for guest in root.findall("guest"):
        if guest.findtext("os_type") != "hvm":
            continue
        arch = guest.find("arch")
        if arch is None:
            continue
        offers.extend((d.get("type", ""), arch.get("name", "")) for d in arch.findall("domain"))
    if not offers:
        raise ValueError("the host offers no HVM guests")
    ranked = sorted(offers, key=lambda o: (o[0] != "kvm", o[1] != host_arch))
    return GuestKind(*ranked[0])


@dataclass(frozen=True, slots=True)
class HostPort:
    """An adapter port of the host, as kanri's pool shows it."""

    # NIC: the host interface's name ("eno1"). FC: "fc0", "fc1", ... in the order of the
    # HBAs' PCI addresses: scsi_hostN numbers change between boots, PCI slots do not.
    id: str
    kind: PortKind
    identity: str  # MAC, or WWPN as aa:bb:...
    max_shared: int = DEFAULT_MAX_SHARED
    pci: str | None = None  # pci_name() of the port's PCI function (FC passthrough)
    wwnn: str | None = None


def nic_port(interface_xml: str) -> HostPort | None:
    """A host interface as a NIC port: only physical ones (type ethernet) with a MAC;
    bridges, bonds, VLANs and loopback are not ports a partition is given."""
    root = parse(interface_xml)
    mac = root.find("mac")
    if root.get("type") != "ethernet" or mac is None or not mac.get("address"):
        return None
    if root.get("name") == "lo":
        return None
    return HostPort(root.get("name", ""), PortKind.NIC, mac.get("address", "").lower())


def colon_wwn(hex16: str) -> str:
    """``1000000012341234`` (how sysfs and libvirt write it) as ``10:00:...:34``."""
    text = hex16.lower().removeprefix("0x")
    return ":".join(text[i : i + 2] for i in range(0, len(text), 2))


def plain_wwn(wwn: str) -> str:
    """``10:00:...`` as libvirt's 16 hex digits."""
    return wwn.replace(":", "").lower()


@dataclass(frozen=True, slots=True)
class FcHost:
    name: str
    parent: str
    wwpn: str
    wwnn: str
    npiv: bool  # the HBA can make virtual ports
    max_vports: int


def fc_host(device_xml: str) -> FcHost | None:
    """A scsi_host node device with Fibre Channel, or None."""
    root = parse(device_xml)
    fc = root.find("./capability[@type='scsi_host']/capability[@type='fc_host']")
    if fc is None:
        return None
    vport = root.find("./capability[@type='scsi_host']/capability[@type='vport_ops']")
    return FcHost(
        name=root.findtext("name", ""),
        parent=root.findtext("parent", ""),
        wwpn=colon_wwn(fc.findtext("wwpn", "")),
        wwnn=colon_wwn(fc.findtext("wwnn", "")),
        npiv=vport is not None,
        max_vports=int(vport.findtext("max_vports", "0")) if vport is not None else 0,
    )


def pci_address(device_xml: str) -> str | None:
    """The pci_name() of a PCI node device, or None for another kind of device."""
    root = parse(device_xml)
    cap = root.find("./capability[@type='pci']")
    if cap is None:
        return None
    return pci_name(
        int(cap.findtext("domain", "0"), 0),
        int(cap.findtext("bus", "0"), 0),
        int(cap.findtext("slot", "0"), 0),
        int(cap.findtext("function", "0"), 0),
    )


def fc_port(host: FcHost, parent_pci: str | None) -> HostPort | None:
    """An FC HBA port as a pool port; None for a vHBA (an NPIV port of another HBA,
    whose parent is that HBA's scsi_host)."""
    if host.parent.startswith("scsi_host"):
        return None
    if not host.npiv:
        max_shared = 0  # no vport_ops: the HBA cannot make virtual ports
    elif host.max_vports > 0:
        max_shared = host.max_vports
    else:
        # libvirt's test driver reports max_vports 0 whatever its host file says (libvirt
        # 9.0). An NPIV HBA that says no limit gets the lab's; a full one still refuses
        # the vHBA when its pool starts.
        max_shared = DEFAULT_MAX_SHARED
    return HostPort(
        host.name, PortKind.FC, host.wwpn, max_shared=max_shared, pci=parent_pci, wwnn=host.wwnn
    )


def number_fc_ports(ports: list[HostPort]) -> list[HostPort]:
    """FC ports named fc0, fc1, ... by PCI address (then WWPN)."""
    ordered = sorted(ports, key=lambda p: (p.pci or "~", p.identity))
    return [replace(p, id=f"fc{i}") for i, p in enumerate(ordered)]


def pool_xml(
    name: str, parent: tuple[str, str], wwnn: str, wwpn: str, uuid: str | None = None
) -> str:
    """A persistent NPIV vHBA: libvirt's ``scsi`` storage pool on an ``fc_host`` adapter.
    Starting the pool makes the vHBA with this WWPN; its LUNs are the pool's volumes.
    The physical HBA is named by its ``parent`` (WWNN, WWPN), which survive reboots where
    scsi_hostN does not. Redefining a pool needs its ``uuid`` (libvirt refuses a
    same-named pool without it)."""
    root = ET.Element("pool", {"type": "scsi"})
    ET.SubElement(root, "name").text = name
    if uuid is not None:
        ET.SubElement(root, "uuid").text = uuid
    source = ET.SubElement(root, "source")
    ET.SubElement(
        source,
        "adapter",
        {
            "type": "fc_host",
            "parent_wwnn": plain_wwn(parent[0]),
            "parent_wwpn": plain_wwn(parent[1]),
            "wwnn": plain_wwn(wwnn),
            "wwpn": plain_wwn(wwpn),
        },
    )
    ET.SubElement(ET.SubElement(root, "target"), "path").text = "/dev/disk/by-path"
    return ET.tostring(root, encoding="unicode")


def pool_wwpn(pool_xml_text: str) -> str | None:
    root = parse(pool_xml_text)
    adapter = root.find("./source/adapter[@type='fc_host']")
    if adapter is None or not adapter.get("wwpn"):
        return None
    return colon_wwn(adapter.get("wwpn", ""))
