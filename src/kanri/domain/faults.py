"""Fault events: what the monitor observes, how observations become events, and the
states an event goes through. Pure: the engine stores and acts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from kanri.domain.health import SelEntry, SensorReading


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Source(StrEnum):
    """How kanri learnt of it."""

    POLL = "poll"  # the monitor's poll of health, components and SEL
    PUSH = "push"  # a Redfish event POSTed to the manager's listener
    STREAM = "stream"  # the BMC's Server-Sent Events stream
    MANAGER = "manager"  # kanri itself (drift, a job, a schedule)


class EventState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # an operator has seen it; it still grows
    CLEARED = "cleared"  # the condition is over (component back to OK, BMC answering)


# Which state changes are allowed: data, not scattered ifs.
EVENT_TRANSITIONS: dict[EventState, frozenset[EventState]] = {
    EventState.OPEN: frozenset({EventState.ACKNOWLEDGED, EventState.CLEARED}),
    EventState.ACKNOWLEDGED: frozenset({EventState.CLEARED}),
    EventState.CLEARED: frozenset(),
}


def can_move(old: EventState, new: EventState) -> bool:
    return new in EVENT_TRANSITIONS[old]


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing noticed about one target, before correlation.

    ``kind`` is dotted and stable (``hw.component``, ``hw.health``, ``hw.sel``,
    ``bmc.unreachable``, ``power.lost`` ...): rules match on it. ``component`` names the
    part (``DIMM3``) when there is one. ``clears`` marks an observation that ends a
    condition (the part is OK again) rather than raising one.
    """

    target: str  # the machine's (or partition's) name in kanri
    kind: str
    severity: Severity
    message: str
    source: Source
    seen_at: datetime
    component: str = ""
    clears: bool = False
    sel: tuple[SelEntry, ...] = ()
    sensors: tuple[SensorReading, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Observations with one key are one condition: a burst of SEL lines about one
        DIMM grows one event instead of making many."""
        return f"{self.target}|{self.kind}|{self.component}"


# An open event grows with observations of its key until it has been quiet this long;
# after that, the same key makes a new event.
CORRELATION_WINDOW = timedelta(minutes=10)


def grows(last_seen: datetime, state: EventState, observed: datetime) -> bool:
    """Whether an observation belongs to an existing event of its key."""
    if state is EventState.CLEARED:
        return False
    return observed - last_seen <= CORRELATION_WINDOW


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """A stored event, as the rules, the API and the CLI see it."""

    id: int
    key: str
    kind: str
    severity: Severity
    state: EventState
    source: Source
    target: str | None
    component: str
    message: str
    first_at: datetime
    last_at: datetime
    count: int  # observations it has grown by, the first included
    affected: tuple[str, ...] = ()  # partitions and servers running on the target
    diagnostics: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    acked_by: str | None = None
    acked_at: datetime | None = None
    cleared_at: datetime | None = None


class Change(StrEnum):
    """What an observation did to a stored event: what rules and watchers react to."""

    NEW = "new"
    GREW = "grew"  # one more observation, same severity
    ESCALATED = "escalated"  # one more observation, and the severity went up
    CLEARED = "cleared"
