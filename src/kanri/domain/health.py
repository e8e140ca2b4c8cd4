"""What a BMC says about a system's health: the values monitor drivers return.

Drivers map Redfish (or any protocol) into these; the monitor compares two reports and
turns the differences into observations (:mod:`kanri.domain.faults`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kanri.domain.states import Health, PowerState


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One part of a system with a health of its own (CPU, DIMM, PSU, fan, drive...)."""

    id: str  # as the BMC names it, e.g. "CPU2", "DIMM3", "PSU1"
    kind: str  # "cpu", "dimm", "psu", "fan", "drive", "nic", "other"
    health: Health
    name: str = ""


@dataclass(frozen=True, slots=True)
class SelEntry:
    """One line of the system event log."""

    id: str  # the BMC's entry id; monotonically increasing per log while the log lives
    created: datetime | None
    severity: Health  # OK for informational lines
    message: str
    message_id: str = ""
    component: str = ""  # the component id the entry is about, when the BMC says


@dataclass(frozen=True, slots=True)
class SensorReading:
    name: str
    reading: float | None
    units: str = ""
    health: Health = Health.UNKNOWN


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One poll of one system: rollup, parts, power and the newest SEL lines."""

    system_id: str
    rollup: Health
    power: PowerState
    components: tuple[ComponentHealth, ...] = ()
    # Entries newer than the cursor the caller passed, oldest first.
    sel: tuple[SelEntry, ...] = ()
    sensors: tuple[SensorReading, ...] = ()
    # Where the SEL was read up to: pass it back as the next poll's ``sel_after``.
    # None: the system has no SEL the driver can read; "": the log was read and empty.
    sel_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class PushedEvent:
    """One event a BMC pushed (Redfish EventService POST or SSE frame), as the driver
    parsed it. ``system_id`` is the system the origin resource belongs to, when known."""

    event_id: str
    message_id: str
    severity: Health
    message: str
    system_id: str | None = None
    origin: str = ""  # the resource URI the event is about
    component: str = ""
    at: datetime | None = None
    args: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    # The SSE ``id:`` of the frame that carried it ("" when pushed by POST): pass the last
    # one back to ``stream`` as ``last_event_id`` to resume after it.
    stream_id: str = ""
