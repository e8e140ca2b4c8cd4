"""Redfish documents to health values: components, sensor readings and SEL entries.

Pure, like ``mapping``: documents come in through ``fetch`` (None when the BMC does not
offer a part), domain values go out. Component ids come from the resource's URI by
:func:`component_ref`, the same function that maps a pushed event's OriginOfCondition,
so a part polled and a part pushed about are one key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from kanri.domain.health import ComponentHealth, SelEntry, SensorReading
from kanri.domain.states import Health
from kanri.drivers.redfish.mapping import Fetch, JsonDoc, link

MAX_PAGES = 50  # of one collection: a BMC that never ends its nextLink chain must not hang us

_HEALTH = {"OK": Health.OK, "Warning": Health.WARNING, "Critical": Health.CRITICAL}

# The collection a part is a member of -> its kind (ComponentHealth.kind).
KINDS = {
    "Processors": "cpu",
    "Memory": "dimm",
    "PowerSupplies": "psu",
    "Fans": "fan",
    "Drives": "drive",
    "EthernetInterfaces": "nic",
    "NetworkAdapters": "nic",
    "NetworkInterfaces": "nic",
    "Temperatures": "sensor",
    "Voltages": "sensor",
}

# DMTF ResourceEvent messages whose first argument names the resource: "The health of
# resource '%1' has changed to %2." A SEL line that carries no MessageArgs (the lab's, and
# several BMCs') still names its part in the text.
_RESOURCE_MESSAGES = re.compile(r"ResourceStatusChanged|ResourceErrors|ResourceWarning")
_QUOTED_RESOURCE = re.compile(r"resource '([^']+)'")


def to_health(value: Any) -> Health:
    return _HEALTH.get(str(value), Health.UNKNOWN)


def status_health(doc: JsonDoc, rollup: bool = False) -> Health:
    status = doc.get("Status")
    if not isinstance(status, dict):
        return Health.UNKNOWN
    value = status.get("Health")
    if rollup:  # sushy-tools spells it "HealthRollUp"; the schema says "HealthRollup"
        value = status.get("HealthRollup") or status.get("HealthRollUp") or value
    return to_health(value)


def absent(doc: JsonDoc) -> bool:
    """An empty slot (a DIMM socket with no DIMM): listed by most BMCs, never a fault."""
    status = doc.get("Status")
    return isinstance(status, dict) and status.get("State") == "Absent"


def component_ref(uri: str) -> tuple[str, str] | None:
    """(kind, id) of the part at ``uri``; None when the URI is no part (a system, a
    chassis, a log entry).

    ``/Systems/1/Memory/DIMM3`` -> ("dimm", "DIMM3"); members of the deprecated inline
    arrays, ``/Chassis/1/Power#/PowerSupplies/0`` -> ("psu", "PowerSupplies/0"), keep the
    array's name: their member ids are bare numbers shared by fans and supplies.
    """
    path, _, fragment = uri.partition("#")
    if fragment:
        parts = [p for p in fragment.split("/") if p]
        if len(parts) >= 2 and parts[-2] in KINDS:
            return KINDS[parts[-2]], f"{parts[-2]}/{parts[-1]}"
        return None
    parts = [unquote(p) for p in urlsplit(path).path.split("/") if p]
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] in KINDS:
            return KINDS[parts[index]], parts[index + 1]
    return None


def members(collection: JsonDoc | None, fetch: Fetch) -> Iterator[JsonDoc]:
    """The member documents of a collection, following nextLink pages; members the BMC
    expanded inline ($expand, or AutoExpand as LogEntry collections are) cost nothing."""
    page = collection
    for _ in range(MAX_PAGES):
        if page is None:
            return
        items = page.get("Members")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if set(item) - {"@odata.id"}:
                yield item
            elif isinstance(item.get("@odata.id"), str):
                found = fetch(item["@odata.id"])
                if found is not None:
                    yield found
        next_link = page.get("Members@odata.nextLink")
        page = fetch(next_link) if isinstance(next_link, str) else None


def _component(doc: JsonDoc, uri: str | None = None) -> ComponentHealth | None:
    ref = component_ref(uri or str(doc.get("@odata.id", "")))
    if ref is None or absent(doc):
        return None
    kind, part_id = ref
    if kind == "sensor":
        return None
    name = doc.get("Name")
    return ComponentHealth(
        id=part_id,
        kind=kind,
        health=status_health(doc),
        name=name if isinstance(name, str) else "",
    )


def linked_parts(doc: JsonDoc, key: str, fetch: Fetch) -> list[ComponentHealth]:
    """The parts in the collection ``doc`` links to under ``key``."""
    path = link(doc, key)
    if path is None:
        return []
    found = (_component(member) for member in members(fetch(path), fetch))
    return [part for part in found if part is not None]


def system_parts(system: JsonDoc, fetch: Fetch) -> list[ComponentHealth]:
    """Processors and memory: the parts a system document links to itself."""
    return linked_parts(system, "Processors", fetch) + linked_parts(system, "Memory", fetch)


def _reading(doc: JsonDoc, key: str, units: str) -> SensorReading | None:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    name = doc.get("Name") or doc.get("MemberId") or "?"
    return SensorReading(str(name), float(value), units, status_health(doc))


def chassis_parts(
    chassis: JsonDoc, fetch: Fetch
) -> tuple[list[ComponentHealth], list[SensorReading]]:
    """Power supplies and fans with their health, and the temperature and fan readings
    that come with them at no extra request.

    ``PowerSubsystem``/``ThermalSubsystem`` (Redfish 2020.4+) when the chassis has them,
    else the deprecated ``Power``/``Thermal`` documents, whose parts are inline arrays
    (sushy-tools, many older BMCs). Never both: most BMCs that have the new ones keep the
    old ones too, and reading both would list every part twice.
    """
    parts: list[ComponentHealth] = []
    sensors: list[SensorReading] = []
    power = link(chassis, "PowerSubsystem")
    if power is not None:
        subsystem = fetch(power)
        if subsystem is not None:
            parts += linked_parts(subsystem, "PowerSupplies", fetch)
    elif (legacy := link(chassis, "Power")) is not None:
        doc = fetch(legacy) or {}
        parts += _inline_parts(doc, "PowerSupplies")
        sensors += _inline_readings(doc, "Voltages", "ReadingVolts", "V")
    thermal = link(chassis, "ThermalSubsystem")
    if thermal is not None:
        subsystem = fetch(thermal)
        if subsystem is not None:
            parts += linked_parts(subsystem, "Fans", fetch)
            sensors += _thermal_metrics(subsystem, fetch)
    elif (legacy := link(chassis, "Thermal")) is not None:
        doc = fetch(legacy) or {}
        parts += _inline_parts(doc, "Fans")
        sensors += _inline_readings(doc, "Temperatures", "ReadingCelsius", "Cel")
        sensors += _inline_readings(doc, "Fans", "Reading", "RPM")
    return parts, sensors


def _inline(doc: JsonDoc, key: str) -> list[tuple[str, JsonDoc]]:
    items = doc.get(key)
    found = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            member = item.get("MemberId", index)
            base = str(doc.get("@odata.id", ""))
            uri = item.get("@odata.id") or f"{base}#/{key}/{member}"
            found.append((str(uri), item))
    return found


def _inline_parts(doc: JsonDoc, key: str) -> list[ComponentHealth]:
    found = (_component(item, uri) for uri, item in _inline(doc, key))
    return [part for part in found if part is not None]


def _inline_readings(doc: JsonDoc, key: str, field: str, units: str) -> list[SensorReading]:
    found = (_reading(item, field, units) for _uri, item in _inline(doc, key) if not absent(item))
    return [reading for reading in found if reading is not None]


def _thermal_metrics(subsystem: JsonDoc, fetch: Fetch) -> list[SensorReading]:
    path = link(subsystem, "ThermalMetrics")
    metrics = fetch(path) if path else None
    readings = (metrics or {}).get("TemperatureReadingsCelsius")
    found = []
    for item in readings if isinstance(readings, list) else []:
        if isinstance(item, dict) and (reading := _reading(item, "Reading", "Cel")) is not None:
            name = item.get("DeviceName") or item.get("DataSourceUri") or reading.name
            found.append(SensorReading(str(name), reading.reading, "Cel", reading.health))
    return found


# SEL ----------------------------------------------------------------------------------
def sel_entries_path(system: JsonDoc, fetch: Fetch) -> str | None:
    """The Entries collection of the system's SEL: the LogService whose LogEntryType is
    SEL, else the one with Id "SEL"/"Sel" (BMCs leave LogEntryType out)."""
    services = link(system, "LogServices")
    collection = fetch(services) if services else None
    candidates = list(members(collection, fetch))
    for service in sorted(candidates, key=lambda s: s.get("LogEntryType") != "SEL"):
        if service.get("LogEntryType") == "SEL" or str(service.get("Id", "")).upper() == "SEL":
            return link(service, "Entries")
    return None


def redfish_datetime(value: Any) -> datetime | None:
    """A Redfish date-time (a SEL line's Created, an event's EventTimestamp); None when
    it is missing or not ISO 8601."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def sel_component(entry: JsonDoc) -> str:
    """The part a SEL line is about: its OriginOfCondition, else the resource its
    ResourceEvent message names (argument 1, or the quoted name in the text)."""
    origin = link(entry, "Links", "OriginOfCondition")
    ref = component_ref(origin) if origin else None
    if ref is not None:
        return ref[1]
    message_id = str(entry.get("MessageId", ""))
    if not _RESOURCE_MESSAGES.search(message_id):
        return ""
    args = entry.get("MessageArgs")
    if isinstance(args, list) and args and isinstance(args[0], str):
        return args[0]
    quoted = _QUOTED_RESOURCE.search(str(entry.get("Message", "")))
    return quoted.group(1) if quoted else ""


def sel_entry(doc: JsonDoc) -> SelEntry | None:
    entry_id = doc.get("Id")
    if isinstance(entry_id, bool) or not isinstance(entry_id, str | int):
        return None
    return SelEntry(
        id=str(entry_id),
        created=redfish_datetime(doc.get("Created")),
        severity=to_health(doc.get("Severity")),
        message=str(doc.get("Message", "")),
        message_id=str(doc.get("MessageId", "")),
        component=sel_component(doc),
    )


def sel_entries(entries: JsonDoc, fetch: Fetch) -> list[SelEntry]:
    found = (sel_entry(doc) for doc in members(entries, fetch))
    return [entry for entry in found if entry is not None]
