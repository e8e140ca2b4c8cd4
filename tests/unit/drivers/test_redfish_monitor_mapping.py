"""Redfish health documents, Event documents and SSE bytes to domain values."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kanri.domain.states import Health
from kanri.drivers.redfish.mapping import JsonDoc
from kanri.drivers.redfish.monitor_events import origin_path, parse_event_doc, system_in_path
from kanri.drivers.redfish.monitor_health import (
    chassis_parts,
    component_ref,
    sel_entries_path,
    sel_entry,
    system_parts,
)
from kanri.drivers.redfish.monitor_sse import Frame, SseParser, frames
from tests.waiting import wait_for


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/redfish/v1/Systems/1/Memory/DIMM3", ("dimm", "DIMM3")),
        ("/redfish/v1/Systems/1/Processors/CPU%201", ("cpu", "CPU 1")),
        ("/redfish/v1/Chassis/b/PowerSubsystem/PowerSupplies/PSU1", ("psu", "PSU1")),
        ("/redfish/v1/Chassis/b/ThermalSubsystem/Fans/Fan2", ("fan", "Fan2")),
        ("/redfish/v1/Chassis/b/Power#/PowerSupplies/0", ("psu", "PowerSupplies/0")),
        ("/redfish/v1/Systems/1/Storage/R/Drives/D0", ("drive", "D0")),
        ("/redfish/v1/Systems/1/Memory/DIMM3/MemoryMetrics", ("dimm", "DIMM3")),
        ("/redfish/v1/Systems/1", None),
        ("/redfish/v1/Systems/1/Memory", None),
        ("/redfish/v1/Chassis/b", None),
    ],
)
def test_component_ref(uri: str, expected: tuple[str, str] | None) -> None:
    assert component_ref(uri) == expected


class Docs:
    def __init__(self, docs: dict[str, JsonDoc]) -> None:
        self.docs = docs
        self.reads: list[str] = []

    def fetch(self, uri: str) -> JsonDoc | None:
        self.reads.append(uri)
        return self.docs.get(uri)


def _ref(path: str) -> dict[str, str]:
    return {"@odata.id": path}


def test_parts_skip_empty_slots_and_use_expanded_members_without_reading_them() -> None:
    system = {"Processors": _ref("/S/1/Processors"), "Memory": _ref("/S/1/Memory")}
    docs = Docs(
        {
            "/S/1/Processors": {"Members": [_ref("/S/1/Processors/CPU1")]},
            "/S/1/Processors/CPU1": {
                "@odata.id": "/S/1/Processors/CPU1",
                "Status": {"State": "Enabled", "Health": "Warning"},
            },
            "/S/1/Memory": {
                "Members": [
                    {"@odata.id": "/S/1/Memory/DIMM1", "Status": {"Health": "OK"}},
                    {"@odata.id": "/S/1/Memory/DIMM2", "Status": {"State": "Absent"}},
                ]
            },
        }
    )
    parts = system_parts(system, docs.fetch)
    assert [(p.id, p.kind, p.health) for p in parts] == [
        ("CPU1", "cpu", Health.WARNING),
        ("DIMM1", "dimm", Health.OK),
    ]
    assert "/S/1/Memory/DIMM1" not in docs.reads


def test_legacy_power_and_thermal_give_parts_and_readings() -> None:
    chassis = {"Power": _ref("/C/1/Power"), "Thermal": _ref("/C/1/Thermal")}
    docs = Docs(
        {
            "/C/1/Power": {
                "@odata.id": "/C/1/Power",
                "PowerSupplies": [{"MemberId": "0", "Name": "PSU A", "Status": {"Health": "OK"}}],
                "Voltages": [{"Name": "12V", "ReadingVolts": 12.1, "Status": {"Health": "OK"}}],
            },
            "/C/1/Thermal": {
                "@odata.id": "/C/1/Thermal",
                "Fans": [
                    {"MemberId": "0", "Name": "Fan A", "Reading": 3000, "Status": {"Health": "OK"}},
                    {"MemberId": "1", "Status": {"State": "Absent"}},
                ],
                "Temperatures": [{"Name": "Inlet", "ReadingCelsius": 24}],
            },
        }
    )
    parts, readings = chassis_parts(chassis, docs.fetch)
    assert [(p.id, p.kind, p.name) for p in parts] == [
        ("PowerSupplies/0", "psu", "PSU A"),
        ("Fans/0", "fan", "Fan A"),
    ]
    assert [(r.name, r.reading, r.units) for r in readings] == [
        ("12V", 12.1, "V"),
        ("Inlet", 24.0, "Cel"),
        ("Fan A", 3000.0, "RPM"),
    ]


def test_the_sel_is_found_by_its_entry_type_and_lines_name_their_part() -> None:
    system = {"LogServices": _ref("/S/1/LogServices")}
    docs = Docs(
        {
            "/S/1/LogServices": {"Members": [_ref("/S/1/LogServices/Log"), _ref("/S/1/LS/x")]},
            "/S/1/LogServices/Log": {"Id": "Log", "Entries": _ref("/S/1/LogServices/Log/E")},
            "/S/1/LS/x": {"Id": "x", "LogEntryType": "SEL", "Entries": _ref("/S/1/LS/x/E")},
        }
    )
    assert sel_entries_path(system, docs.fetch) == "/S/1/LS/x/E"
    entry = sel_entry(
        {
            "Id": 7,
            "Created": "2026-01-01T10:00:00Z",
            "Severity": "Critical",
            "Message": "The health of resource 'DIMM3' has changed to Critical.",
            "MessageId": "ResourceEvent.1.4.ResourceStatusChangedCritical",
        }
    )
    assert entry is not None
    assert (entry.id, entry.severity, entry.component) == ("7", Health.CRITICAL, "DIMM3")
    assert entry.created is not None
    assert entry.created.tzinfo is not None
    origin = sel_entry(
        {"Id": "8", "Links": {"OriginOfCondition": _ref("/redfish/v1/Chassis/1/Fans/F9")}}
    )
    assert origin is not None
    assert origin.component == "F9"


def test_an_event_document_maps_origin_severity_and_ids() -> None:
    body: dict[str, Any] = {
        "Id": "40",
        "Events": [
            {
                "EventId": "41",
                "MessageSeverity": "Warning",
                "Severity": "Informational",
                "MessageId": "ResourceEvent.1.4.ResourceStatusChangedWarning",
                "Message": "m",
                "MessageArgs": ["DIMM3", "Warning"],
                "OriginOfCondition": {"@odata.id": "/redfish/v1/Systems/b1/Memory/DIMM3"},
                "EventTimestamp": "2026-01-01T10:00:00+00:00",
            },
            {
                "MemberId": "1",
                "Severity": "Critical",
                "OriginOfCondition": "/redfish/v1/Chassis/c9",
            },
            "junk",
        ],
    }
    first, second = parse_event_doc(body, lambda o: system_in_path(o) or "from-chassis", "12")
    assert (first.event_id, first.severity, first.system_id, first.component) == (
        "41",
        Health.WARNING,
        "b1",
        "DIMM3",
    )
    assert first.args == ("DIMM3", "Warning")
    assert first.stream_id == "12"
    assert (second.event_id, second.severity, second.system_id, second.component) == (
        "40.1",
        Health.CRITICAL,
        "from-chassis",
        "",
    )
    assert parse_event_doc({"no": "events"}, lambda o: None) == []
    assert parse_event_doc([1, 2], lambda o: None) == []


def test_an_absolute_origin_is_cut_to_its_path() -> None:
    record = {"OriginOfCondition": "https://bmc:443/redfish/v1/Systems/1#/x"}
    assert origin_path(record) == "/redfish/v1/Systems/1#/x"


def test_sse_parser_handles_split_lines_comments_and_every_line_ending() -> None:
    parser = SseParser()
    out: list[Frame] = []
    for chunk in [
        b": hello\n\nid: 5\nda",
        b'ta: {"a":\r',
        b"\ndata: 1}\r\n\r\n",
        b"data: x\r\r: more\n",
    ]:
        out += parser.feed(chunk)
    assert out == [Frame("5", '{"a":\n1}'), Frame("5", "x")]


class _Raw:
    """A response body that blocks until shut down, as a quiet stream does."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.down = threading.Event()

    def read1(self, size: int) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        self.down.wait(30)
        return b""

    def shutdown(self) -> None:
        self.down.set()


class _Response:
    def __init__(self, raw: _Raw) -> None:
        self.raw = raw
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_quiet_stream_ends_when_stop_is_set() -> None:
    response = _Response(_Raw([b"id: 1\ndata: {}\n\n"]))
    stop = threading.Event()
    seen: list[Frame] = []
    reader = threading.Thread(target=lambda: seen.extend(frames(response, stop)))
    reader.start()
    wait_for(lambda: bool(seen))  # then the reader blocks in read1 on a quiet stream
    stop.set()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert seen == [Frame("1", "{}")]
    assert response.raw.down.is_set()
    assert response.closed
