"""Domain XML: kanri's partition spec to libvirt's domain XML and back. Pure.

A partition is a libvirt domain. Its :class:`PartitionSpec` is kept as it was asked in
the domain's ``<metadata>`` under kanri's own namespace, so ``partitions()`` reads it back
exactly; what the host really holds (pinned cores, memory, devices) is read from the rest
of the XML. Devices kanri manages carry a user alias ``ua-kanri-<port>`` so an edit
replaces them and leaves every other device (disks added later, consoles) alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from kanri.domain.partitions import CpuMode, PartitionSpec, PortUse

NS = "urn:kanri:partition:1"
PREFIX = "kanri"
KIB_PER_GIB = 1024 * 1024
ALIAS_PREFIX = "ua-kanri-"

ET.register_namespace(PREFIX, NS)


def parse(text: str) -> ET.Element:
    """libvirt's own XML answer. It comes from the operator's libvirtd; expat resolves no
    external entities, so ElementTree is safe for it."""
    return ET.fromstring(text)  # noqa: S314 - see the docstring


def to_text(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


# --- the spec in <metadata> --------------------------------------------------------------


def spec_element(spec: PartitionSpec) -> ET.Element:
    """``<kanri:partition>`` holding ``spec`` exactly."""
    el = ET.Element(
        _q("partition"),
        {
            "name": spec.name,
            "cores": str(spec.cores),
            "memory-gib": str(spec.memory_gib),
            "cpu-mode": spec.cpu_mode.value,
            "shared-weight": str(spec.shared_weight),
            "cpus": ",".join(str(c) for c in spec.cpus),
        },
    )
    for use in spec.ports:
        attrs = {"id": use.port, "shared": "true" if use.shared else "false"}
        if use.identity is not None:
            attrs["identity"] = use.identity
        ET.SubElement(el, _q("port"), attrs)
    return el


def spec_of_element(el: ET.Element) -> PartitionSpec:
    """The spec back from ``<kanri:partition>``; ValueError when it is not one."""
    cpus = el.get("cpus", "")
    ports = tuple(
        PortUse(
            port=p.get("id", ""),
            shared=p.get("shared") == "true",
            identity=p.get("identity"),
        )
        for p in el.findall(_q("port"))
    )
    return PartitionSpec(
        name=el.get("name", ""),
        cores=int(el.get("cores", "")),
        memory_gib=int(el.get("memory-gib", "")),
        cpu_mode=CpuMode(el.get("cpu-mode", "")),
        shared_weight=int(el.get("shared-weight", "")),
        ports=ports,
        cpus=tuple(int(c) for c in cpus.split(",") if c),
    )


# --- reading a domain --------------------------------------------------------------------


def parse_cpuset(text: str) -> frozenset[int]:
    """libvirt's cpuset syntax: ``0-3,^2,8``."""
    cpus: set[int] = set()
    excluded: set[int] = set()
    for raw in (p.strip() for p in text.split(",")):
        if not raw:
            continue
        target = excluded if raw.startswith("^") else cpus
        part = raw.lstrip("^")
        if "-" in part:
            low, high = part.split("-", 1)
            target.update(range(int(low), int(high) + 1))
        else:
            target.add(int(part))
    return frozenset(cpus - excluded)


@dataclass(frozen=True, slots=True)
class DeviceUse:
    """A host port a domain's device uses, as its XML says."""

    port: str  # host interface name, or "pci:DDDD:BB:SS.F" for a PCI host device
    dedicated: bool
    identity: str | None = None  # the MAC the guest sees; None for a PCI device


@dataclass(frozen=True, slots=True)
class DomainFacts:
    """What a domain holds on its host, from its XML."""

    name: str
    spec: PartitionSpec | None  # kanri's metadata; None: a domain kanri did not make
    vcpus: int  # current
    max_vcpus: int
    pins: tuple[frozenset[int], ...]  # per vCPU; empty: floats over every host CPU
    shares: int | None
    memory_kib: int
    devices: tuple[DeviceUse, ...]


def pci_name(domain: int, bus: int, slot: int, function: int) -> str:
    return f"pci:{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"


def _int(text: str | None) -> int:
    return int(text or "0", 0)


def _devices(root: ET.Element) -> tuple[DeviceUse, ...]:
    found: list[DeviceUse] = []
    for iface in root.findall("./devices/interface[@type='direct']"):
        source = iface.find("source")
        mac = iface.find("mac")
        if source is None or not source.get("dev"):
            continue
        found.append(
            DeviceUse(
                port=source.get("dev", ""),
                # macvtap passthrough hands the host device to one guest alone
                dedicated=source.get("mode") == "passthrough",
                identity=mac.get("address") if mac is not None else None,
            )
        )
    for dev in root.findall("./devices/hostdev[@type='pci']"):
        addr = dev.find("./source/address")
        if addr is None:
            continue
        name = pci_name(
            _int(addr.get("domain")),
            _int(addr.get("bus")),
            _int(addr.get("slot")),
            _int(addr.get("function")),
        )
        found.append(DeviceUse(port=name, dedicated=True))
    return tuple(found)


def domain_facts(text: str) -> DomainFacts:
    root = parse(text)
    vcpu = root.find("vcpu")
    max_vcpus = int(vcpu.text or "1") if vcpu is not None else 1
    current = int(vcpu.get("current", max_vcpus)) if vcpu is not None else max_vcpus
    by_vcpu = {
        int(p.get("vcpu", "0")): parse_cpuset(p.get("cpuset", ""))
        for p in root.findall("./cputune/vcpupin")
    }
    cpuset = vcpu.get("cpuset") if vcpu is not None else None
    default = parse_cpuset(cpuset) if cpuset else frozenset()
    # A vCPU with no pin and no domain-wide cpuset floats: an empty set says so.
    pins = tuple(by_vcpu.get(i, default) for i in range(current)) if by_vcpu or default else ()
    shares_el = root.find("./cputune/shares")
    memory = root.find("memory")
    meta = root.find(f"./metadata/{_q('partition')}")
    spec = None
    if meta is not None:
        try:
            spec = spec_of_element(meta)
        except ValueError:
            spec = None  # someone else's edit broke it: treat the domain as foreign
    return DomainFacts(
        name=root.findtext("name", ""),
        spec=spec,
        vcpus=current,
        max_vcpus=max_vcpus,
        pins=pins,
        shares=int(shares_el.text or "0") if shares_el is not None else None,
        memory_kib=_kib(memory),
        devices=_devices(root),
    )


_UNITS = {"b": 1 / 1024, "bytes": 1 / 1024, "k": 1, "kib": 1, "kb": 1000 / 1024}
_UNITS |= {"m": 1024, "mib": 1024, "mb": 1000**2 / 1024, "g": 1024**2, "gib": 1024**2}
_UNITS |= {"gb": 1000**3 / 1024, "t": 1024**3, "tib": 1024**3}


def _kib(el: ET.Element | None) -> int:
    if el is None:
        return 0
    return round(int(el.text or "0") * _UNITS[el.get("unit", "KiB").lower()])


def foreign_spec(facts: DomainFacts) -> PartitionSpec:
    """A spec describing a domain kanri did not make, from what it holds."""
    pinned = sorted({c for pin in facts.pins for c in pin})
    one_each = len(pinned) == facts.vcpus and all(len(p) == 1 for p in facts.pins)
    return PartitionSpec(
        name=facts.name,
        cores=facts.vcpus,
        memory_gib=-(-facts.memory_kib // KIB_PER_GIB),
        # Pinned one vCPU per core with no shares: it holds its cores like a dedicated one.
        cpu_mode=CpuMode.DEDICATED if one_each and facts.shares is None else CpuMode.SHARED,
        shared_weight=min(max(facts.shares or 100, 1), 1000),
        cpus=tuple(pinned) if one_each else (),
    )


# --- writing a domain --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NicDevice:
    port: str  # host interface
    mac: str
    dedicated: bool


@dataclass(frozen=True, slots=True)
class PciDevice:
    port: str  # kanri's port id (the FC HBA's scsi_host)
    domain: int
    bus: int
    slot: int
    function: int


def alias_of(port: str) -> str:
    """A user alias for a port's device (libvirt allows ``ua-`` and [A-Za-z0-9_-])."""
    return ALIAS_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", port)


def skeleton(name: str, domain_type: str, arch: str) -> ET.Element:
    """A domain with nothing in it yet but what every domain needs."""
    root = ET.Element("domain", {"type": domain_type})
    ET.SubElement(root, "name").text = name
    os_el = ET.SubElement(root, "os")
    ET.SubElement(os_el, "type", {"arch": arch}).text = "hvm"
    ET.SubElement(root, "devices")
    return root


def _child(root: ET.Element, tag: str, before: str | None = None) -> ET.Element:
    el = root.find(tag)
    if el is None:
        el = ET.Element(tag)
        index = len(root)
        if before is not None:
            names = [c.tag for c in root]
            index = names.index(before) if before in names else index
        root.insert(index, el)
    return el


def apply_spec(
    root: ET.Element,
    spec: PartitionSpec,
    cpus: tuple[int, ...],
    devices: tuple[NicDevice | PciDevice, ...],
    max_vcpus: int,
) -> ET.Element:
    """Make the domain XML ``root`` hold ``spec`` with its vCPUs pinned to ``cpus`` (one
    each) and kanri's port devices ``devices``; every other part stays. ``max_vcpus``
    (the host's CPU count) leaves room to add vCPUs while it runs. Returns ``root``."""
    metadata = _child(root, "metadata", before="os")
    for old in metadata.findall(_q("partition")):
        metadata.remove(old)
    metadata.append(spec_element(spec))

    memory_kib = str(spec.memory_gib * KIB_PER_GIB)
    for tag in ("memory", "currentMemory"):
        el = _child(root, tag, before="os")
        el.attrib = {"unit": "KiB"}
        el.text = memory_kib
    vcpu = _child(root, "vcpu", before="os")
    vcpu.attrib = {"placement": "static", "current": str(spec.cores)}
    vcpu.text = str(max(max_vcpus, spec.cores))

    cputune = _child(root, "cputune", before="os")
    for old in cputune.findall("vcpupin") + cputune.findall("shares"):
        cputune.remove(old)
    if spec.cpu_mode is CpuMode.SHARED:
        # <shares> is cgroup v1 cpu.shares / v2 cpu.weight: only the ratio between the
        # shared partitions on a core matters, so kanri's weight (1-1000) goes as it is.
        cputune.insert(0, _shares_el(spec.shared_weight))
    for index, cpu in enumerate(cpus):
        ET.SubElement(cputune, "vcpupin", {"vcpu": str(index), "cpuset": str(cpu)})

    devs = _child(root, "devices")
    for dev in list(devs):
        alias = dev.find("alias")
        if alias is not None and alias.get("name", "").startswith(ALIAS_PREFIX):
            devs.remove(dev)
    for device in devices:
        devs.append(_device_el(device))
    return root


def _shares_el(weight: int) -> ET.Element:
    el = ET.Element("shares")
    el.text = str(weight)
    return el


def _device_el(device: NicDevice | PciDevice) -> ET.Element:
    if isinstance(device, NicDevice):
        el = ET.Element("interface", {"type": "direct"})
        ET.SubElement(el, "mac", {"address": device.mac})
        # passthrough: the host device is the guest's alone; bridge: a macvtap port of its
        # own (its own MAC) beside other guests' on the same device.
        mode = "passthrough" if device.dedicated else "bridge"
        ET.SubElement(el, "source", {"dev": device.port, "mode": mode})
    else:
        el = ET.Element("hostdev", {"mode": "subsystem", "type": "pci", "managed": "yes"})
        source = ET.SubElement(el, "source")
        ET.SubElement(
            source,
            "address",
            {
                "domain": f"0x{device.domain:04x}",
                "bus": f"0x{device.bus:02x}",
                "slot": f"0x{device.slot:02x}",
                "function": f"0x{device.function:x}",
            },
        )
    ET.SubElement(el, "alias", {"name": alias_of(device.port)})
    return el


def set_mac(root: ET.Element, port: str, mac: str) -> bool:
    """Give the kanri interface of ``port`` the MAC ``mac``; False when there is none."""
    for iface in root.findall("./devices/interface"):
        alias = iface.find("alias")
        if alias is not None and alias.get("name") == alias_of(port):
            _child(iface, "mac").attrib = {"address": mac}
            return True
    return False


def set_spec(root: ET.Element, spec: PartitionSpec) -> None:
    """Replace the metadata spec only."""
    metadata = _child(root, "metadata", before="os")
    for old in metadata.findall(_q("partition")):
        metadata.remove(old)
    metadata.append(spec_element(spec))


def set_boot(root: ET.Element, dev: str | None) -> None:
    """Boot from ``dev`` ("hd", "network", "cdrom"); None: drop the override."""
    os_el = _child(root, "os")
    for old in os_el.findall("boot"):
        os_el.remove(old)
    if dev is not None:
        ET.SubElement(os_el, "boot", {"dev": dev})
