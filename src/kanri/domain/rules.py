"""Rules: which fault events they match and the actions they run, in order.

The action kinds are open: a later piece (failover) adds its own. The built-in kinds'
parameters are checked where a rule comes in (domain/rule_actions.py); here an action is
its kind and its parameters. Parsing rules from YAML or JSON is domain/rule_parse.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from kanri.domain.faults import FaultEvent, Severity


@dataclass(frozen=True, slots=True)
class ActionSpec:
    kind: str  # email, webhook, syslog, reboot, power_off, command, (failover) ...
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule that fires for an event: the actions to run, and why it fired."""

    rule: str
    trigger: str  # "new", "escalated:critical", ...: one firing per (event, rule, trigger)
    actions: tuple[ActionSpec, ...]


class Trigger(StrEnum):
    """What happened to an event; the same values as ``kanri.domain.faults.Change``."""

    NEW = "new"
    GREW = "grew"  # one more observation of a condition already stored
    ESCALATED = "escalated"  # grew, to a higher severity
    CLEARED = "cleared"


# A rule that says nothing fires when an event is new and when it gets worse.
DEFAULT_TRIGGERS = frozenset({Trigger.NEW, Trigger.ESCALATED})

# The families of event kinds some part of kanri emits: a rule's kind must name one.
KIND_FAMILIES = (
    "hw",  # the monitor: hw.component, hw.health, hw.sel ...
    "bmc",  # bmc.unreachable, bmc.reachable
    "power",  # power.drift, power.lost, power.command_failed ...
    "storage",
    "schedule",
    "job",
    "group",
    "calendar",
    "machine",
    "rule",
    "maintenance",
)


@dataclass(frozen=True, slots=True)
class Match:
    """What a rule matches. An empty tuple matches anything; ``targets`` and ``groups``
    together match a target named in either."""

    severity: Severity = Severity.INFO  # at least this
    kinds: tuple[str, ...] = ()  # exact (hw.sel) or a family with a star (hw.*), or *
    components: tuple[str, ...] = ()  # globs: DIMM*, CPU?
    targets: tuple[str, ...] = ()  # machine names
    groups: tuple[str, ...] = ()  # group names


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: Match
    actions: tuple[ActionSpec, ...]
    enabled: bool = True
    on: frozenset[Trigger] = DEFAULT_TRIGGERS
    rate_count: int | None = None  # at most this many firings ...
    rate_seconds: int | None = None  # ... per this many seconds
    quiet_seconds: int = 0  # and none within this long of the previous one
    position: int = 0
    origin: str = "api"  # "api", or the YAML file it was loaded from

    @property
    def window(self) -> int:
        """How far back its firings matter, in seconds."""
        return max(self.rate_seconds or 0, self.quiet_seconds)


def kind_matches(pattern: str, kind: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return kind.startswith(pattern[:-1])
    return kind == pattern


def mismatch(match: Match, event: FaultEvent, groups_of_target: set[str]) -> str | None:
    """Why ``match`` does not match ``event``, or None when it does."""
    if event.severity.rank < match.severity.rank:
        return f"severity {event.severity} is below {match.severity}"
    if match.kinds and not any(kind_matches(k, event.kind) for k in match.kinds):
        return f"kind {event.kind} is not {' or '.join(match.kinds)}"
    if match.components and not any(fnmatchcase(event.component, c) for c in match.components):
        shown = event.component or "(none)"
        return f"component {shown} is not {' or '.join(match.components)}"
    if match.targets or match.groups:
        in_targets = event.target is not None and event.target in match.targets
        if not in_targets and not (groups_of_target & set(match.groups)):
            wanted = [*match.targets, *(f"group {g}" for g in match.groups)]
            return f"target {event.target or '(none)'} is not {' or '.join(wanted)}"
    return None


def matches(rule: Rule, event: FaultEvent, groups_of_target: set[str]) -> bool:
    return mismatch(rule.match, event, groups_of_target) is None


def trigger_for(change: str, event: FaultEvent) -> tuple[Trigger, str]:
    """The trigger a change is, and its name in deliveries: one firing per (event, rule,
    name), so an event that escalates fires again, once per severity it reaches."""
    trigger = Trigger(str(change))
    if trigger is Trigger.ESCALATED:
        return trigger, f"escalated:{event.severity}"
    if trigger is Trigger.GREW:
        return trigger, f"grew:{event.count}"
    return trigger, trigger.value


def rate_exceeded(
    times: Sequence[datetime], now: datetime, count: int | None, seconds: int | None
) -> bool:
    """Whether ``count`` firings already happened in the ``seconds`` before ``now``."""
    if count is None or seconds is None:
        return False
    since = now - timedelta(seconds=seconds)
    return sum(1 for t in times if since < t <= now) >= count


def quiet_left(times: Sequence[datetime], now: datetime, quiet_seconds: int) -> int:
    """Seconds of quiet left after the latest firing (0: the rule may fire)."""
    if quiet_seconds <= 0:
        return 0
    past = [t for t in times if t <= now]
    if not past:
        return 0
    left = timedelta(seconds=quiet_seconds) - (now - max(past))
    return max(0, int(left.total_seconds() + 0.999))


def throttled(rule: Rule, times: Sequence[datetime], now: datetime) -> str | None:
    """Why the rule may not fire now given its earlier firings' times, or None."""
    if rate_exceeded(times, now, rule.rate_count, rule.rate_seconds):
        return f"rate limit: {rule.rate_count} firings in the last {rule.rate_seconds} s already"
    left = quiet_left(times, now, rule.quiet_seconds)
    if left:
        return f"quiet period: {left} s left of {rule.quiet_seconds} s since it last fired"
    return None


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A machine or a group in maintenance: events on it are kept, actions are not run."""

    target: str
    reason: str = ""
    until: datetime | None = None  # None: until it is turned off
    created_by: str = ""
    created_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.until is None or self.until > now


def in_maintenance(
    target: str | None, groups_of_target: set[str], entries: Sequence[Maintenance], now: datetime
) -> Maintenance | None:
    """The maintenance entry that covers ``target`` (itself, or one of its groups)."""
    if target is None:
        return None
    for entry in entries:
        if entry.active(now) and (entry.target == target or entry.target in groups_of_target):
            return entry
    return None
