"""LogServices: each system's System Event Log (SEL), as its BMC keeps it.

One LogService, ``SEL``, per machine and partition, holding the entries the lab writes
(component faults, power loss, boot failures, NMI) with their registry MessageIds, and
the ClearLog action, which leaves one entry saying the log was cleared, as IPMI does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.model.lab import SEL_LIMIT, Lab
from kanri.lab.model.systems import SelEntry, System
from kanri.lab.redfish.common import (
    ROOT,
    collection,
    doc,
    error,
    lab_of,
    no_content,
    ref,
    reply,
)

SYSTEMS = f"{ROOT}/Systems"
MAX_RECORDS = SEL_LIMIT  # a full SEL drops its oldest entries (WrapsWhenFull)

# LogEntry.SensorType (IPMI sensor types) for the lab's own short sensor names and, when
# an entry names none, for its message.
_SENSOR_ALIASES = {
    "PSU": "Power Supply / Converter",
    "CPU": "Processor",
    "DIMM": "Memory",
    "FAN": "Fan",
}
_SENSOR_BY_MESSAGE = {
    "NoBootableDevice": "Boot Error",
    "OsHalted": "OS Stop/Shutdown",
    "Nmi": "Critical Interrupt",
    "PowerLost": "Power Supply / Converter",
    "PowerRestored": "Power Supply / Converter",
    "LogCleared": "Event Logging Disabled",
}
SENSOR_TYPES = {
    "Processor",
    "Memory",
    "Power Supply / Converter",
    "Fan",
    "Boot Error",
    "OS Stop/Shutdown",
    "Critical Interrupt",
    "Event Logging Disabled",
    "Platform Alert",
}
# IPMI event codes for a sensor's state change (LogEntry.EntryCode).
_TRANSITION = {
    "OK": "Transition to OK",
    "Warning": "Transition to Non-Critical from OK",
    "Critical": "Transition to Critical from less severe",
}
_HEALTH_SENSORS = {"Processor", "Memory", "Power Supply / Converter", "Fan"}


def sensor_type(entry: SelEntry) -> str:
    if entry.sensor in SENSOR_TYPES:
        return entry.sensor
    if entry.sensor.upper() in _SENSOR_ALIASES:
        return _SENSOR_ALIASES[entry.sensor.upper()]
    return _SENSOR_BY_MESSAGE.get(entry.message_id.rsplit(".", 1)[-1], "Platform Alert")


def _base(system_id: str) -> str:
    return f"{SYSTEMS}/{system_id}/LogServices"


def entry_doc(system_id: str, entry: SelEntry) -> dict[str, Any]:
    sensor = sensor_type(entry)
    severity = entry.severity if entry.severity in _TRANSITION else "Warning"
    code = (
        _TRANSITION[severity]
        if sensor in _HEALTH_SENSORS and "ResourceStatusChanged" in entry.message_id
        else "Assert"
    )
    return doc(
        f"{_base(system_id)}/SEL/Entries/{entry.id}",
        "#LogEntry.v1_21_0.LogEntry",
        Name=f"SEL entry {entry.id}",
        EntryType="SEL",
        Created=entry.created,
        Severity=severity,
        Message=entry.message,
        MessageId=entry.message_id,
        SensorType=sensor,
        EntryCode=code,
    )


def _system(request: Request) -> tuple[Lab, System]:
    lab = lab_of(request)
    return lab, lab.system(request.path_params["system_id"])


async def services(request: Request) -> Response:
    _lab, system = _system(request)
    base = _base(system.id)
    return reply(collection(base, "LogServiceCollection", "Log services", [f"{base}/SEL"]))


async def sel_service(request: Request) -> Response:
    lab, system = _system(request)
    path = f"{_base(system.id)}/SEL"
    return reply(
        doc(
            path,
            "#LogService.v1_9_0.LogService",
            Name="System Event Log",
            Description=f"The SEL of {system.id}",
            LogEntryType="SEL",
            ServiceEnabled=True,
            MaxNumberOfRecords=MAX_RECORDS,
            OverWritePolicy="WrapsWhenFull",
            DateTime=lab.wall(),
            Status={"State": "Enabled", "Health": "OK"},
            Entries=ref(f"{path}/Entries"),
            Actions={
                "#LogService.ClearLog": {"target": f"{path}/Actions/LogService.ClearLog"},
            },
        )
    )


async def entries(request: Request) -> Response:
    """The entries in full, not as links: LogEntryCollection members are AutoExpand."""
    lab, system = _system(request)
    path = f"{_base(system.id)}/SEL/Entries"
    with lab.lock:
        members = [entry_doc(system.id, e) for e in system.sel]
    body = collection(path, "LogEntryCollection", "SEL entries", [])
    body.update({"Members": members, "Members@odata.count": len(members)})
    return reply(body)


async def entry(request: Request) -> Response:
    lab, system = _system(request)
    wanted = request.path_params["entry_id"]
    with lab.lock:
        for item in system.sel:
            if str(item.id) == wanted:
                return reply(entry_doc(system.id, item))
    return error(404, "ResourceMissingAtURI", f"no SEL entry {wanted} on {system.id}")


async def clear_log(request: Request) -> Response:
    lab, system = _system(request)
    with lab.lock:
        count = len(system.sel)
        system.sel.clear()
        lab.record("sel.cleared", system=system.id, entries=count)
        lab.log_sel(system, "OK", "Log 'SEL' was cleared.", "LogService.1.1.LogCleared")
    return no_content()


def routes() -> list[Route]:
    base = f"{SYSTEMS}/{{system_id}}/LogServices"
    return [
        Route(base, services, methods=["GET"]),
        Route(f"{base}/SEL", sel_service, methods=["GET"]),
        Route(f"{base}/SEL/Entries", entries, methods=["GET"]),
        Route(f"{base}/SEL/Entries/{{entry_id}}", entry, methods=["GET"]),
        Route(f"{base}/SEL/Actions/LogService.ClearLog", clear_log, methods=["POST"]),
    ]
