"""Redfish JSON documents to domain values. Pure: no I/O except through ``fetch``.

Inventory is read from the JSON documents themselves rather than from sushy's resource
classes: sushy models neither ``ProcessorSummary.CoreCount`` nor the Fibre Channel
functions behind a system's ``NetworkInterfaces``; its processor summary counts threads,
not cores; and its NIC summary keys by MAC and drops the names. Working on plain
documents also lets the unit tests feed captured payloads straight in.

``fetch(path)`` returns the document at ``path``, or ``None`` when the BMC does not offer
it (404, 501: sushy-tools answers 501 for Processors and 404 for Memory; real BMCs leave
out whole subtrees). Missing parts of an inventory become ``None`` or empty, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kanri.domain.model import (
    MAX_PORT_NAME,
    MAX_SYSTEM_ID,
    MAX_UUID,
    MAX_VENDOR_TEXT,
    FcPort,
    Nic,
    SystemInventory,
)
from kanri.domain.states import Health, PowerState, SystemKind

JsonDoc = dict[str, Any]
Fetch = Callable[[str], JsonDoc | None]

# Redfish paged collections: a BMC that never ends its nextLink chain must not hang us.
_MAX_PAGES = 50

_POWER: dict[str, PowerState] = {
    "On": PowerState.ON,
    "Off": PowerState.OFF,
    "PoweringOn": PowerState.POWERING_ON,
    "PoweringOff": PowerState.POWERING_OFF,
    # Paused: the OS is halted but the machine has power; fencing must not think it is off.
    "Paused": PowerState.ON,
}

_HEALTH: dict[str, Health] = {
    "OK": Health.OK,
    "Warning": Health.WARNING,
    "Critical": Health.CRITICAL,
}

_HEX_PAIRS = re.compile(r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2})+$")


class MalformedAnswer(ValueError):
    """A document lacks something the protocol requires (an ``Id``, a ``Members`` list)."""


def link(doc: JsonDoc, *keys: str) -> str | None:
    """The ``@odata.id`` found under ``doc[keys[0]][keys[1]]...``, if any."""
    node: Any = doc
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    if isinstance(node, dict) and isinstance(node.get("@odata.id"), str):
        return str(node["@odata.id"])
    return None


def member_paths(collection: JsonDoc, fetch: Fetch | None = None) -> list[str]:
    """The member links of a collection, following ``Members@odata.nextLink`` pages."""
    paths: list[str] = []
    page: JsonDoc | None = collection
    for _ in range(_MAX_PAGES):
        if page is None:
            break
        members = page.get("Members")
        if not isinstance(members, list):
            raise MalformedAnswer(f"collection {page.get('@odata.id', '?')} has no Members list")
        paths.extend(m["@odata.id"] for m in members if isinstance(m, dict) and "@odata.id" in m)
        next_link = page.get("Members@odata.nextLink")
        if not isinstance(next_link, str) or fetch is None:
            break
        page = fetch(next_link)
    return paths


def _members(doc: JsonDoc, key: str, fetch: Fetch) -> list[JsonDoc]:
    """The member documents of the collection ``doc`` links to under ``key``; [] if absent."""
    path = link(doc, key)
    collection = fetch(path) if path else None
    if collection is None:
        return []
    found = (fetch(p) for p in member_paths(collection, fetch))
    return [d for d in found if d is not None]


def system_id_of(doc: JsonDoc) -> str:
    system_id = doc.get("Id")
    if not isinstance(system_id, str) or not system_id:
        raise MalformedAnswer(f"system {doc.get('@odata.id', '?')} has no Id")
    return system_id


def power_state_of(doc: JsonDoc) -> PowerState:
    return _POWER.get(str(doc.get("PowerState")), PowerState.UNKNOWN)


def health_of(doc: JsonDoc) -> Health:
    """The rollup (this system and everything in it) if given, else the system's own."""
    status = doc.get("Status")
    if not isinstance(status, dict):
        return Health.UNKNOWN
    # sushy-tools spells it "HealthRollUp"; the schema says "HealthRollup".
    value = status.get("HealthRollup") or status.get("HealthRollUp") or status.get("Health")
    return _HEALTH.get(str(value), Health.UNKNOWN)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    return None


def cpu_cores(system: JsonDoc, fetch: Fetch) -> int | None:
    """Physical cores: what partitions are carved from.

    ``ProcessorSummary.CoreCount`` when the BMC gives it (schema 1.14+); else the sum of
    ``TotalCores`` over the CPU members of Processors; else None. Not derived from
    ``LogicalProcessorCount``: threads per core differ by model, and a wrong count is
    worse than an unknown one when placing partitions. (``ProcessorSummary.Count`` is
    sockets, not cores.)
    """
    summary = system.get("ProcessorSummary")
    if isinstance(summary, dict) and (cores := _int(summary.get("CoreCount"))) is not None:
        return cores
    processors = _members(system, "Processors", fetch)
    counts = [
        _int(p.get("TotalCores"))
        for p in processors
        if p.get("ProcessorType") in (None, "CPU")  # not GPUs, FPGAs, accelerators
    ]
    known = [c for c in counts if c is not None]
    return sum(known) if known else None


def memory_mib(system: JsonDoc, fetch: Fetch) -> int | None:
    """``MemorySummary.TotalSystemMemoryGiB`` x 1024, else the sum of DIMMs' ``CapacityMiB``."""
    summary = system.get("MemorySummary")
    if isinstance(summary, dict):
        gib = summary.get("TotalSystemMemoryGiB")
        if isinstance(gib, int | float) and not isinstance(gib, bool) and gib >= 0:
            return round(gib * 1024)
    dimms = [_int(m.get("CapacityMiB")) for m in _members(system, "Memory", fetch)]
    known = [d for d in dimms if d is not None]
    return sum(known) if known else None


def normalise_address(value: Any) -> str | None:
    """A MAC or WWPN as lower-case colon pairs, or None when it is not one."""
    if not isinstance(value, str) or not _HEX_PAIRS.match(value):
        return None
    digits = re.sub(r"[:-]", "", value).lower()
    if set(digits) == {"0"}:  # all zeros: "not assigned" on several vendors' BMCs
        return None
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def nics(system: JsonDoc, fetch: Fetch) -> tuple[Nic, ...]:
    """Every EthernetInterface with a MAC; the effective MAC wins over the permanent one
    because that is what DHCP, PXE and the switches see (a failover may have moved it)."""
    found: list[Nic] = []
    for interface in _members(system, "EthernetInterfaces", fetch):
        mac = normalise_address(interface.get("MACAddress")) or normalise_address(
            interface.get("PermanentMACAddress")
        )
        if mac is not None:  # interfaces without an address (disabled ports) identify nothing
            name = clean_text(interface.get("Id"), MAX_PORT_NAME) or mac
            found.append(Nic(name=name, mac=mac))
    return tuple(found)


def _device_functions(interface: JsonDoc, fetch: Fetch) -> list[JsonDoc]:
    """NetworkDeviceFunctions of one NetworkInterface: its own link (schema v1.2+) or,
    on older BMCs, the ones of the NetworkAdapter (under Chassis) it links to."""
    if link(interface, "NetworkDeviceFunctions"):
        return _members(interface, "NetworkDeviceFunctions", fetch)
    adapter_path = link(interface, "Links", "NetworkAdapter")
    adapter = fetch(adapter_path) if adapter_path else None
    return _members(adapter, "NetworkDeviceFunctions", fetch) if adapter else []


def fc_ports(system: JsonDoc, fetch: Fetch) -> tuple[FcPort, ...]:
    """Fibre Channel functions reached through the system's NetworkInterfaces.

    The effective ``WWPN`` wins over ``PermanentWWPN``: LUN masking and zoning see the
    effective one, and N+1 standby moves a virtual WWPN from one machine to another.
    """
    found: list[FcPort] = []
    seen: set[str] = set()
    for interface in _members(system, "NetworkInterfaces", fetch):
        for function in _device_functions(interface, fetch):
            path = str(function.get("@odata.id", ""))
            fc = function.get("FibreChannel")
            if path in seen or not isinstance(fc, dict):
                continue
            seen.add(path)
            wwpn = normalise_address(fc.get("WWPN")) or normalise_address(fc.get("PermanentWWPN"))
            if wwpn is not None:
                name = f"{interface.get('Id', '?')}/{function.get('Id', '?')}"
                found.append(FcPort(name=clean_text(name, MAX_PORT_NAME) or wwpn, wwpn=wwpn))
    return tuple(found)


# SystemType values that mean "carved from a physical machine". "Composed" is left out:
# a composed system may span blades (DMTF's bladed-partitions mockup) and has no one host.
_PARTITION_TYPES = {"VirtuallyPartitioned", "PhysicallyPartitioned", "Virtual"}


def kind_of(system: JsonDoc) -> SystemKind:
    if system.get("SystemType") in _PARTITION_TYPES:
        return SystemKind.PARTITION
    return SystemKind.MACHINE


def host_of(system: JsonDoc, fetch: Fetch) -> str | None:
    """A partition's host: the other system of the chassis it lives in (Links.Chassis ->
    the chassis' Links.ComputerSystems), which is how the Redfish model ties them."""
    own = system.get("@odata.id")
    links = system.get("Links")
    chassis_links = links.get("Chassis") if isinstance(links, dict) else None
    for chassis_ref in chassis_links if isinstance(chassis_links, list) else []:
        path = chassis_ref.get("@odata.id") if isinstance(chassis_ref, dict) else None
        chassis = fetch(path) if isinstance(path, str) else None
        chassis_systems = (chassis or {}).get("Links", {}).get("ComputerSystems", [])
        for candidate in chassis_systems if isinstance(chassis_systems, list) else []:
            other = candidate.get("@odata.id") if isinstance(candidate, dict) else None
            if isinstance(other, str) and other != own:
                host_id = other.rstrip("/").rsplit("/", 1)[-1]
                return clean_text(host_id, MAX_SYSTEM_ID)
    return None


def clean_text(value: Any, limit: int) -> str | None:
    """BMC text as kanri keeps it: at most ``limit`` characters (the store's column size:
    a longer value would fail the write on PostgreSQL), without NUL characters (which
    PostgreSQL cannot store), trimmed; None when nothing is left. Numbers (some BMCs send
    an integer ``Id``) become text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).replace("\x00", "").strip()[:limit].rstrip()
    return text or None  # "" means "not known" on several BMCs


def _text(doc: JsonDoc, key: str, limit: int) -> str | None:
    value = doc.get(key)
    return clean_text(value, limit) if isinstance(value, str) else None


def system_inventory(system: JsonDoc, fetch: Fetch) -> SystemInventory:
    """The full inventory of one ComputerSystem document.

    Text is cut to the sizes in :mod:`kanri.domain.model`, except the ``Id``: it is how
    kanri finds the system again, so one too long to keep is an error, not a cut.
    """
    system_id = system_id_of(system)
    if len(system_id) > MAX_SYSTEM_ID:
        raise MalformedAnswer(
            f"system {system.get('@odata.id', '?')} has an Id longer than "
            f"{MAX_SYSTEM_ID} characters"
        )
    return SystemInventory(
        system_id=system_id,
        manufacturer=_text(system, "Manufacturer", MAX_VENDOR_TEXT),
        model=_text(system, "Model", MAX_VENDOR_TEXT),
        serial=_text(system, "SerialNumber", MAX_VENDOR_TEXT),
        uuid=_text(system, "UUID", MAX_UUID),
        cpu_cores=cpu_cores(system, fetch),
        memory_mib=memory_mib(system, fetch),
        nics=nics(system, fetch),
        fc_ports=fc_ports(system, fetch),
        health=health_of(system),
        power=power_state_of(system),
        kind=(kind := kind_of(system)),
        host_system_id=host_of(system, fetch) if kind is SystemKind.PARTITION else None,
    )
